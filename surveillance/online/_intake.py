"""What the scorer checks of every input before it takes effect: its identity (digests), and
whether its own time can be used. Pure: the service's clock is an argument."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from ingest import Admission, EventReport, Inbound, Lab, Observation, PlanUpdate, Rejected
from surveillance.online._settings import Arrival, OnlineSettings
from surveillance.online.rules.overdue import duration

_canonical = msgspec.json.Encoder(order="deterministic").encode


def content_digest(item: Inbound) -> str:
    """What a message says, whatever its framing or serialisation (an HL7 message with or
    without MLLP framing, a FHIR Bundle re-serialised): the same content, the same digest.

    An observation that is no correction is digested as before `Observation.corrected` was
    added (its empty value, encoded last, is cut off): the digests kept in the store for the
    ids accepted before must still match their repeats, or each would be a `conflict`."""
    encoded = _canonical(item)
    if isinstance(item, Observation) and encoded.endswith(_NOT_CORRECTED):
        encoded = encoded[: -len(_NOT_CORRECTED)] + b"}"
    return hashlib.sha256(encoded).hexdigest()


_NOT_CORRECTED = b',"corrected":[]}'


def digest(topic: str, payload: bytes) -> str:
    """A dead letter's key: the same message refused twice is stored once."""
    return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


def rejected(arrival: Arrival, error: str, reason: str) -> Rejected:
    """The arrival refused, with a machine code and a reason for a person."""
    msg_id = None if isinstance(arrival.item, Rejected) else arrival.item.msg_id
    return Rejected(arrival.topic, arrival.payload, error, reason, msg_id)


def time_of(item: Inbound) -> datetime:
    """The time a message says it is about."""
    if isinstance(item, Admission):
        assert item.context.time is not None  # noqa: S101 - the ADT parser requires it
        return item.context.time
    if isinstance(item, Observation):
        return item.obs.time
    if isinstance(item, Lab):
        return item.lab.time
    if isinstance(item, PlanUpdate):
        return item.plan.time
    if isinstance(item, EventReport):
        return item.event.time
    return item.command.time


def time_problem(settings: OnlineSettings, item: Inbound, received: datetime) -> str | None:
    """Why a message's own time cannot be used, if it cannot: more than `max_skew` ahead
    of the service's clock, or more than `max_age` behind it."""
    when = time_of(item)
    ahead = (when - received).total_seconds()
    if ahead > settings.max_skew:
        return (
            f"time {when.isoformat()} is {span(ahead)} ahead of the service's clock "
            f"({received.isoformat()}); more than {span(settings.max_skew)} ahead "
            "is refused (a wrong device clock would stay fresh and poison later scores)"
        )
    if -ahead > settings.max_age:
        return (
            f"time {when.isoformat()} is {span(-ahead)} before the service's clock "
            f"({received.isoformat()}); more than {span(settings.max_age)} old is "
            "refused (max_age)"
        )
    return None


def span(seconds: float) -> str:
    """`4 min`, `2 h 05 min`, `3 days`: a span of time as a person says it."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return duration(timedelta(seconds=seconds))
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def nearest_fold(item: Observation, received: datetime) -> Observation:
    """A local time without an offset that the clocks going back made ambiguous (01:30 on
    the last Sunday of October happens twice in London) is read as the one nearer to when
    the message arrived, not always the first (which would make an hour of a monitor's
    readings look an hour old)."""
    when = item.obs.time
    if not isinstance(when.tzinfo, ZoneInfo):
        return item
    other = when.replace(fold=1 - when.fold)
    if other.utcoffset() == when.utcoffset():
        return item
    first, second = when.astimezone(UTC), other.astimezone(UTC)
    nearer = min(first, second, key=lambda t: abs((t - received).total_seconds()))
    # In UTC from here on: a time in the fold compares unequal to every other zone's (PEP 495).
    return dataclasses.replace(item, obs=msgspec.structs.replace(item.obs, time=nearer))
