"""Every topic of the contract (CONTRACT §1 and the README's extensions), built and parsed here.

The builders take the configured prefix (for example `hospital/`, or `""`) first, so no other
module types a topic out:

| topic                                         | who publishes            |
|-----------------------------------------------|--------------------------|
| `wards/{ward}/beds/{bed}/{channel}`           | devices, nurses, the PAS |
| `wards/{ward}/beds/{bed}/event` (a `channel`) | the PAS, incident systems |
| `wards/{ward}/beds/{bed}/score` (retained)    | the scorer               |
| `wards/{ward}/beds/{bed}/score/fhir` (retained) | the scorer (`[outbound] topics`) |
| `wards/{ward}/beds/{bed}/score/hl7v2` (retained) | the scorer (`[outbound] topics`) |
| `wards/{ward}/alerts/acm`                     | the scorer (`[outbound] topics`) |
| `wards/{ward}/alerts`                         | the scorer               |
| `wards/{ward}/alerts/{alert_id}/{action}`     | people, pager gateways   |
| `surveillance/deadletter`                     | the scorer               |
| `surveillance/heartbeat` (retained)           | the scorer               |
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, cast

from ingest._model import ACTIONS, CHANNELS, Action, Channel

HEARTBEAT_TOPIC: Final = "surveillance/heartbeat"
DEAD_LETTER_TOPIC: Final = "surveillance/deadletter"


def bed_topic(prefix: str, ward: str, bed: str, channel: str) -> str:
    """`{prefix}wards/{ward}/beds/{bed}/{channel}`: a bed's input channel, or `score`."""
    return f"{prefix}wards/{ward}/beds/{bed}/{channel}"


def score_topic(prefix: str, ward: str, bed: str) -> str:
    """Where a bed's latest score is published (retained)."""
    return bed_topic(prefix, ward, bed, "score")


def score_fhir_topic(prefix: str, ward: str, bed: str) -> str:
    """Where a bed's latest score is published as a FHIR R4 Observation (retained, like the
    score: a late subscriber gets the bed's latest)."""
    return f"{score_topic(prefix, ward, bed)}/fhir"


def score_hl7v2_topic(prefix: str, ward: str, bed: str) -> str:
    """Where a bed's latest score is published as an HL7 v2 ORU^R01 (retained, as the score)."""
    return f"{score_topic(prefix, ward, bed)}/hl7v2"


def alerts_acm_topic(prefix: str, ward: str) -> str:
    """Where a ward's alert events are published as IHE PCD-04 Report Alerts (ORU^R40), for
    an alert manager or a paging gateway (not retained: events, as the alerts)."""
    return f"{alerts_topic(prefix, ward)}/acm"


def alerts_topic(prefix: str, ward: str) -> str:
    """Where a ward's alert events are published."""
    return f"{prefix}wards/{ward}/alerts"


def alert_action_topic(prefix: str, ward: str, alert_id: str, action: str) -> str:
    """Where someone acknowledges or resolves an alert."""
    return f"{alerts_topic(prefix, ward)}/{alert_id}/{action}"


def input_filters(prefix: str = "") -> list[str]:
    """The subscriptions of the scorer: every input channel and every alert action."""
    return [bed_topic(prefix, "+", "+", channel) for channel in CHANNELS] + [
        alert_action_topic(prefix, "+", "+", action) for action in ACTIONS
    ]


def board_filters(prefix: str = "", wards: Sequence[str] = ("+",)) -> list[str]:
    """The subscriptions of a wallboard: placements, scores, plans, alerts and the heartbeat,
    of `wards` (`+`, every ward, by default; a broker such as NATS refuses a subscription
    beyond its identity's wards rather than filtering what it delivers)."""
    return [
        topic
        for ward in wards
        for topic in (
            bed_topic(prefix, ward, "+", "adt"),
            score_topic(prefix, ward, "+"),
            bed_topic(prefix, ward, "+", "plan"),
            alerts_topic(prefix, ward),
        )
    ] + [prefix + HEARTBEAT_TOPIC]


_TOPIC: Final = re.compile(
    rf"wards/([^/+#\x00]+)/beds/([^/+#\x00]+)/({'|'.join(map(re.escape, CHANNELS))})"
)
"""Ward and bed: not empty, no level separator, no MQTT wildcard (`+`, `#`), no NUL."""


def parse_topic(topic: str, prefix: str = "") -> tuple[str, str, Channel] | None:
    """The ward, bed and channel of an input topic, or None if it is not one.

    Args:
        topic: the topic the message came on.
        prefix: the configured topic prefix (for example `hospital/`), taken literally.

    Returns:
        `(ward, bed, channel)`; None when the prefix, the layout or the channel does not fit,
        or ward or bed is empty or holds a wildcard (`+`, `#`).
    """
    if prefix:
        if not topic.startswith(prefix):
            return None
        topic = topic[len(prefix) :]
    match = _TOPIC.fullmatch(topic)
    if match is None:
        return None
    ward, bed, channel = match.groups()
    return ward, bed, cast(Channel, channel)


_ALERT_TOPIC: Final = re.compile(
    rf"wards/([^/+#\x00]+)/alerts/([^/+#\x00]+)/({'|'.join(map(re.escape, ACTIONS))})"
)


def parse_alert_topic(topic: str, prefix: str = "") -> tuple[str, str, Action] | None:
    """The ward, alert id and action of `{prefix}wards/{ward}/alerts/{alert_id}/{action}`."""
    if prefix:
        if not topic.startswith(prefix):
            return None
        topic = topic[len(prefix) :]
    match = _ALERT_TOPIC.fullmatch(topic)
    if match is None:
        return None
    ward, alert_id, action = match.groups()
    return ward, alert_id, cast(Action, action)
