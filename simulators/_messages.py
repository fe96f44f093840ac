"""A message bound for the broker: what the simulator makes, a recording holds and replay sends.

Topics are kept without the deployment's prefix (CONTRACT §1); the publisher adds it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class Message(msgspec.Struct, frozen=True, array_like=True):
    """One MQTT message at its simulated time.

    Attributes:
        time: when it is sent, in seconds since the Unix epoch (whole seconds).
        topic: the CONTRACT §1 topic, without prefix.
        payload: the exact bytes to publish (JSON, or HL7 v2 ER7 text).
        retain: publish as a retained message (ADT context).
    """

    time: int
    topic: str
    payload: bytes
    retain: bool = False


def rfc3339(ts: int) -> str:
    """Seconds since the epoch as an RFC 3339 UTC time, `2026-11-22T09:30:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    """An RFC 3339 time with an offset (or `Z`) as whole seconds since the epoch."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        msg = f"time {text!r} has no offset; write it as RFC 3339, e.g. 2026-11-22T00:00:00Z"
        raise ValueError(msg)
    return int(moment.timestamp())


TRUTH_TOPIC = "simulation/truth"
"""Ground truth of the simulation (scenario per patient, outcome events); not a CONTRACT input."""
