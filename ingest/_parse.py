"""One entry point for every input message: topic and payload in, a typed value or a refusal out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from ingest._fhir import parse_fhir
from ingest._hl7 import parse_hl7
from ingest._model import (
    ACTIONS,
    CHANNELS,
    MAX_PAYLOAD,
    Action,
    Inbound,
    Rejected,
    msg_id_problem,
)
from ingest._native import (
    Refusal,
    parse_adt,
    parse_alert_action,
    parse_event,
    parse_lab,
    parse_obs,
    parse_plan,
)
from ingest._topics import parse_alert_topic, parse_topic
from scoring import LONDON

INTERNAL: Final = "ingest could not read this message"
"""How the reason starts when ingest itself failed (a bug, never the sender's fault)."""


def parse(
    topic: str,
    payload: bytes,
    *,
    prefix: str = "",
    tz: ZoneInfo = LONDON,
    max_payload: int = MAX_PAYLOAD,
    freshness: Mapping[str, float] | None = None,
    not_after: datetime | None = None,
) -> Inbound | Rejected:
    """The message on an input topic as `Admission`, `Observation`, `Lab`, `AlertAction`,
    `PlanUpdate` or `EventReport`, or why not.

    Checks in order: the topic (`topic`), the size (`oversize`, before any decoding), then the
    channel's format. Never raises: whatever the bytes, the answer is a value or a `Rejected`
    carrying the topic and payload unchanged, a reason naming the field and what was expected,
    and the msg_id when a valid one could be read. On every channel a msg_id longer than
    `MSG_ID_MAX` or holding control, format or line-separator characters is `invalid`.

    Args:
        topic: the MQTT topic, `{prefix}wards/{ward}/beds/{bed}/{channel}` or
            `{prefix}wards/{ward}/alerts/{alert_id}/{ack|resolve}`.
        payload: the message as received.
        prefix: the configured topic prefix.
        tz: the hospital's time zone, for HL7 v2 times without an offset and the date of an
            ADT message (a birth date may not be after it).
        max_payload: the largest payload accepted, in bytes.
        freshness: seconds a vital (or group: `bp`, `oxygen`) counts as current, the scorer's
            `[scorer.freshness]`; a device message's reading older than its latest by more is
            not read. `DEFAULT_FRESHNESS` unless given.
        not_after: the latest time a device reading may bear (the receipt time plus the
            scorer's `max_skew`): a FHIR or HL7 reading dated later is refused alone (`time`),
            the message's other readings still read. No bound unless given (ingest has no
            clock).
    """
    place = parse_topic(topic, prefix)
    command = parse_alert_topic(topic, prefix) if place is None else None
    if place is None and command is None:
        reason = (
            f"topic {topic!r} is not an input topic: expected "
            f"{prefix}wards/{{ward}}/beds/{{bed}}/{{{'|'.join(CHANNELS)}}} or "
            f"{prefix}wards/{{ward}}/alerts/{{alert_id}}/{{{'|'.join(ACTIONS)}}}"
        )
        return Rejected(topic, payload, "topic", reason)
    if len(payload) > max_payload:
        reason = f"the payload is {len(payload)} bytes; the limit is {max_payload} bytes"
        return Rejected(topic, payload, "oversize", reason)
    result = _parse(topic, payload, place, command, tz, freshness=freshness, not_after=not_after)
    if not isinstance(result, Rejected) and (b"\x00" in payload or b"\\u0000" in payload):
        reason = (
            "the message holds a NUL character (U+0000, raw or as \\u0000), which no field may "
            "hold: no text field means it, and the database cannot store it"
        )
        return Rejected(topic, payload, "invalid", reason, result.msg_id)
    return result


def _parse(
    topic: str,
    payload: bytes,
    place: tuple[str, str, str] | None,
    command: tuple[str, str, Action] | None,
    tz: ZoneInfo,
    *,
    freshness: Mapping[str, float] | None,
    not_after: datetime | None,
) -> Inbound | Rejected:
    try:
        if command is not None:
            return parse_alert_action(payload, *command)
        assert place is not None  # noqa: S101 - one of the two matched
        ward, bed, channel = place
        if channel == "obs":
            return parse_obs(payload, ward, bed)
        if channel == "fhir":
            return parse_fhir(payload, ward, bed, freshness=freshness, not_after=not_after)
        if channel == "hl7v2":
            return parse_hl7(payload, ward, bed, tz, freshness=freshness, not_after=not_after)
        if channel == "plan":
            return parse_plan(payload, ward, bed)
        if channel == "adt":
            return parse_adt(payload, ward, bed, tz)
        if channel == "event":
            return parse_event(payload, ward, bed)
        return parse_lab(payload, ward, bed)
    except Refusal as refusal:
        msg_id = refusal.msg_id
        if msg_id is not None and msg_id_problem(msg_id) is not None:
            msg_id = None  # an id that cannot identify a message is not passed on
        return Rejected(topic, payload, refusal.error, refusal.reason, msg_id)
    except Exception as exc:  # one odd message must not stop a ward's feed
        reason = f"{INTERNAL} ({type(exc).__name__}: {exc}); please report it"
        return Rejected(topic, payload, "internal", reason)
