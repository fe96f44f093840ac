"""Deterministic, seeded ward streams: physiology, nurses' rounds, devices, ADT; record and replay.

`simulate(SimConfig(...), charts)` yields every message of a simulated hospital in time order;
`write_recording` / `read_recording` keep them in a file; `publish` sends them to a broker,
paced like the original or as fast as it takes them.
"""

from simulators._messages import TRUTH_TOPIC, Message, bed_topic, parse_time, rfc3339
from simulators._publish import BrokerURL, PublishError, PublishStats, parse_broker_url, publish
from simulators._recording import (
    RecordingError,
    count_messages,
    read_meta,
    read_recording,
    write_recording,
)
from simulators._scenarios import DETERIORATING, SCENARIOS, WARD_MIX, Scenario
from simulators._ward import URGENT_RESPONSES, SimConfig, Ward, simulate, ward_plan

__all__ = [
    "DETERIORATING",
    "SCENARIOS",
    "TRUTH_TOPIC",
    "URGENT_RESPONSES",
    "WARD_MIX",
    "BrokerURL",
    "Message",
    "PublishError",
    "PublishStats",
    "RecordingError",
    "Scenario",
    "SimConfig",
    "Ward",
    "bed_topic",
    "count_messages",
    "parse_broker_url",
    "parse_time",
    "publish",
    "read_meta",
    "read_recording",
    "rfc3339",
    "simulate",
    "ward_plan",
    "write_recording",
]
