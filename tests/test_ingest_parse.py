"""`ingest.parse`: topics, the size limit, and that no input whatever makes it raise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest
from ingest import (
    CHANNELS,
    ERROR_CODES,
    MAX_PAYLOAD,
    Admission,
    Lab,
    Observation,
    Rejected,
    parse,
    parse_topic,
)
from ingest._parse import INTERNAL
from simulators._formats import fhir_bundle, hl7v2_oru
from tests.factories import make_obs
from tests.strategies import observations

OBS = msgspec.json.encode(make_obs({"heart_rate": 80}, msg_id="obs-1", patient_id="P001"))
INBOUND = (Admission, Observation, Lab)

TOPICS = {
    "wards/7A/beds/12/obs": ("7A", "12", "obs"),
    "wards/7A/beds/12/adt": ("7A", "12", "adt"),
    "wards/7A/beds/12/fhir": ("7A", "12", "fhir"),
    "wards/7A/beds/12/hl7v2": ("7A", "12", "hl7v2"),
    "wards/7A/beds/12/labs": ("7A", "12", "labs"),
    "wards/Maternity Unit/beds/side room 2/obs": ("Maternity Unit", "side room 2", "obs"),
    "wards/7A/beds/12/score": None,
    "wards/7A/alerts": None,
    "surveillance/deadletter": None,
    "wards/+/beds/12/obs": None,
    "wards/7A/beds/#": None,
    "wards/7A/beds/1+/obs": None,
    "wards//beds/12/obs": None,
    "wards/7A/beds//obs": None,
    "wards/7A/beds/12/obs/": None,
    "/wards/7A/beds/12/obs": None,
    "wards/7A/beds/12/OBS": None,
    "wards/7A/bed/12/obs": None,
    "wards/7A/beds/12/extra/obs": None,
    "": None,
}


@pytest.mark.parametrize(("topic", "expected"), TOPICS.items(), ids=list(TOPICS))
def test_topics(topic: str, expected: tuple[str, str, str] | None) -> None:
    assert parse_topic(topic) == expected


def test_topics_with_a_prefix() -> None:
    assert parse_topic("hospital/wards/7A/beds/12/obs", "hospital/") == ("7A", "12", "obs")
    assert parse_topic("wards/7A/beds/12/obs", "hospital/") is None
    assert parse_topic("hospital/wards/7A/beds/12/obs") is None
    assert parse_topic("other/wards/7A/beds/12/obs", "hospital/") is None


def test_the_package_exports_the_model() -> None:
    for name in ("Inbound", "DeadLetter", "LabResult", "Channel", "ERROR_CODES", "parse_topic"):
        assert name in ingest.__all__
    assert set(CHANNELS) == {"adt", "obs", "fhir", "hl7v2", "labs", "plan"}


@pytest.mark.parametrize(
    ("topic", "payload", "kwargs", "error", "words"),
    [
        ("wards/7A/beds/12/score", OBS, {}, "topic", ["wards/7A/beds/12/score", "{ward}"]),
        ("wards/7A/beds/12/obs", OBS, {"prefix": "h/"}, "topic", ["h/wards/{ward}"]),
        ("wards/7A/beds/12/obs", b"\xff" * 11, {"max_payload": 10}, "oversize", ["11 bytes", "10"]),
        ("wards/7A/beds/12/hl7v2", b"x" * (MAX_PAYLOAD + 1), {}, "oversize", [str(MAX_PAYLOAD)]),
        ("wards/+/beds/12/obs", b"\xff" * (MAX_PAYLOAD + 1), {}, "topic", ["wards/+/beds/12/obs"]),
    ],
    ids=["output topic", "missing prefix", "oversize before UTF-8", "oversize HL7", "topic first"],
)
def test_topic_then_size_are_checked_first(
    topic: str, payload: bytes, kwargs: dict[str, Any], error: str, words: list[str]
) -> None:
    result = parse(topic, payload, **kwargs)
    assert isinstance(result, Rejected)
    assert (result.topic, result.payload, result.error, result.msg_id) == (
        topic,
        payload,
        error,
        None,
    )
    for word in words:
        assert word in result.reason


def test_a_payload_at_the_limit_is_read() -> None:
    payload = OBS + b" " * (200 - len(OBS))
    assert isinstance(parse("wards/7A/beds/12/obs", payload, max_payload=200), Observation)


def test_a_rejected_message_becomes_a_dead_letter() -> None:
    result = parse("wards/7A/beds/12/obs", b"\x00\xff")
    assert isinstance(result, Rejected)
    when = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    letter = result.dead_letter(when)
    assert (letter.payload, letter.encoding, letter.error, letter.topic) == (
        "AP8=",
        "base64",
        "not-utf8",
        "wards/7A/beds/12/obs",
    )


def check(result: object, topic: str, payload: bytes) -> None:
    """One of the four types; a refusal keeps topic and payload, has a known code, no bug."""
    assert isinstance(result, (*INBOUND, Rejected))
    if isinstance(result, Rejected):
        assert (result.topic, result.payload) == (topic, payload)
        assert result.error in ERROR_CODES
        assert result.reason
        assert not result.reason.startswith(INTERNAL), result.reason


CHANNEL_TOPICS = st.sampled_from([f"wards/7A/beds/12/{channel}" for channel in CHANNELS])


@given(topic=st.one_of(st.text(), CHANNEL_TOPICS), payload=st.binary())
def test_arbitrary_bytes_on_arbitrary_topics_never_raise(topic: str, payload: bytes) -> None:
    check(parse(topic, payload), topic, payload)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "msg_id", "patient_id", "time", "vitals", "event", "cohort", "chart", "ward", "bed",
        "resourceType", "entry", "resource", "code", "coding", "system", "valueQuantity",
        "component", "status", "subject", "reference", "effectiveDateTime", "identifier",
        "value", "unit", "test", "id",
    ]
)  # fmt: skip
NEAR_JSON = st.recursive(
    JSON
    | st.sampled_from(
        [
            "Observation",
            "Bundle",
            "http://loinc.org",
            "8867-4",
            "85354-9",
            "final",
            "Patient/P1",
            "2026-11-22T09:30:00Z",
            "/min",
        ]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(topic=CHANNEL_TOPICS, message=NEAR_JSON)
def test_json_of_any_shape_never_raises(topic: str, message: Any) -> None:
    payload = msgspec.json.encode(message)
    check(parse(topic, payload), topic, payload)


SEGMENT = st.lists(
    st.text(st.sampled_from("|^~\\&ABC019.-+ X"), max_size=12), min_size=1, max_size=16
).map("|".join)
SEGMENT_IDS = st.sampled_from(["MSH", "PID", "PV1", "OBR", "OBX", "NTE", "ZZZ", ""])


@st.composite
def hl7ish(draw: st.DrawFn) -> bytes:
    """Messages that start like ER7 and then go wrong in any way."""
    head = draw(st.sampled_from(["MSH|^~\\&|", "MSH|", "MSH", "\x0bMSH|^~\\&", "MSH^|~\\&|"]))
    body = draw(SEGMENT)
    segments = draw(st.lists(st.tuples(SEGMENT_IDS, SEGMENT), max_size=6))
    ending = draw(st.sampled_from(["\r", "\n", "\r\n"]))
    text = head + body + "".join(f"{ending}{name}|{rest}" for name, rest in segments)
    return text.encode()


@given(payload=hl7ish())
def test_er7_of_any_shape_never_raises(payload: bytes) -> None:
    check(parse("wards/7A/beds/12/hl7v2", payload), "wards/7A/beds/12/hl7v2", payload)


@given(obs=observations(), cut=st.integers(0, 2000), byte=st.integers(0, 255))
def test_damaged_device_messages_never_raise(obs: Any, cut: int, byte: int) -> None:
    for channel, payload in (
        ("fhir", fhir_bundle(obs, device_id="d")),
        ("hl7v2", hl7v2_oru(obs, ward="7A", bed="12", device_id="d")),
        ("obs", msgspec.json.encode(obs)),
    ):
        topic = f"wards/7A/beds/12/{channel}"
        at = cut % (len(payload) + 1)
        for damaged in (payload[:at], payload[:at] + bytes([byte]) + payload[at + 1 :]):
            check(parse(topic, damaged), topic, damaged)
