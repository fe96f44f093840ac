"""The input topics: `{prefix}wards/{ward}/beds/{bed}/{channel}` (CONTRACT §1)."""

from __future__ import annotations

import re
from typing import Final, cast

from ingest._model import ACTIONS, CHANNELS, Action, Channel

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
