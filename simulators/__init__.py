"""Deterministic, seeded ward streams: physiology, nurses' rounds, devices, ADT; record and replay.

`simulate(SimConfig(...), charts)` yields every message of a simulated hospital in time order;
`write_recording` / `read_recording` keep them in a file; `publish` sends them to a broker,
paced like the original or as fast as it takes them; `answer_alerts` plays the staff who answer
alerts (the demo's).
"""

from simulators._formats import IDENTIFIER_SYSTEM, fhir_bundle, hl7v2_oru
from simulators._messages import TRUTH_TOPIC, Message, parse_time, rfc3339
from simulators._physiology import (
    Baseline,
    child_centiles,
    consciousness,
    distress,
    normal_ranges,
    pews_age_band,
    vitals_at,
)
from simulators._population import (
    CATCHMENTS,
    ETHNIC_GROUP,
    INEQUITIES,
    NEEDS,
    Person,
    draw_frailty,
    draw_needs,
    draw_person,
    frailty_mean,
    need_share,
    population,
    spo2_overread,
)
from simulators._publish import PublishError, PublishStats, publish
from simulators._recording import (
    RecordingError,
    count_messages,
    read_meta,
    read_recording,
    write_recording,
)
from simulators._responders import Response, answer_alerts, respond
from simulators._scenarios import DETERIORATING, SCENARIOS, WARD_MIX, Scenario
from simulators._ward import DEFAULT_START, URGENT_RESPONSES, SimConfig, Ward, simulate, ward_plan

__all__ = [
    "CATCHMENTS",
    "DEFAULT_START",
    "DETERIORATING",
    "ETHNIC_GROUP",
    "IDENTIFIER_SYSTEM",
    "INEQUITIES",
    "NEEDS",
    "SCENARIOS",
    "TRUTH_TOPIC",
    "URGENT_RESPONSES",
    "WARD_MIX",
    "Baseline",
    "Message",
    "Person",
    "PublishError",
    "PublishStats",
    "RecordingError",
    "Response",
    "Scenario",
    "SimConfig",
    "Ward",
    "answer_alerts",
    "child_centiles",
    "consciousness",
    "count_messages",
    "distress",
    "draw_frailty",
    "draw_needs",
    "draw_person",
    "fhir_bundle",
    "frailty_mean",
    "hl7v2_oru",
    "need_share",
    "normal_ranges",
    "parse_time",
    "pews_age_band",
    "population",
    "publish",
    "read_meta",
    "read_recording",
    "respond",
    "rfc3339",
    "simulate",
    "spo2_overread",
    "vitals_at",
    "ward_plan",
    "write_recording",
]
