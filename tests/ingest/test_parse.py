"""`ingest.parse`: topics, the size limit, and that no input whatever makes it raise."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest
from ingest import (
    CHANNELS,
    DEAD_LETTER_KEEP,
    DEAD_LETTER_TEXT,
    ERROR_CODES,
    INTERNAL,
    MAX_PAYLOAD,
    Admission,
    DeadLetter,
    Lab,
    Observation,
    Rejected,
    parse,
    parse_topic,
)
from simulators import fhir_bundle, hl7v2_oru
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
    assert set(CHANNELS) == {"adt", "obs", "fhir", "hl7v2", "labs", "plan", "event"}


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


# -- dead letters stay small (issue 12: 100 × 250 KiB of garbage grew the store by 25.8 MB) --


def _shown(letter: DeadLetter) -> bytes:
    """The bytes a dead letter's payload shows."""
    if letter.encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode("utf-8")


WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TOPIC = "wards/7A/beds/12/obs"


@pytest.mark.parametrize(
    ("payload", "encoding", "kept"),
    [
        (b"resp_rate=22", "utf-8", 12),
        (b"x" * DEAD_LETTER_KEEP, "utf-8", DEAD_LETTER_KEEP),
        (b"x" * (DEAD_LETTER_KEEP + 1), "utf-8", DEAD_LETTER_KEEP),
        (b"x" * MAX_PAYLOAD * 4, "utf-8", DEAD_LETTER_KEEP),
        ("é".encode() * 4000, "utf-8", DEAD_LETTER_KEEP),  # the cut falls between characters
        (b"a" + "é".encode() * 4000, "utf-8", DEAD_LETTER_KEEP - 1),  # never inside one
        (b"ab" + "€".encode() * 4000, "utf-8", DEAD_LETTER_KEEP - 2),
        (b"\x00\xff", "base64", 2),
        (b"\xff" * 100_000, "base64", DEAD_LETTER_KEEP),
        (b"x" * 5000 + b"\xff", "utf-8", DEAD_LETTER_KEEP),  # the bad byte is past the prefix
        (b"", "utf-8", 0),
    ],
    ids=[
        "short text",
        "exactly the limit",
        "one byte over",
        "1 MiB of text",
        "two-byte characters, even cut",
        "two-byte characters, odd cut",
        "three-byte characters",
        "short binary",
        "binary",
        "binary after the prefix",
        "empty",
    ],
)
def test_a_dead_letter_keeps_a_bounded_prefix_its_size_and_digest(
    payload: bytes, encoding: str, kept: int
) -> None:
    letter = Rejected(TOPIC, payload, "not-json", "why").dead_letter(WHEN)
    assert letter.encoding == encoding
    shown = _shown(letter)
    assert (len(shown), shown) == (kept, payload[:kept])
    assert letter.size == len(payload)
    assert letter.sha256 == hashlib.sha256(payload).hexdigest()
    assert letter.truncated is (kept < len(payload))


def test_a_dead_letter_bounds_the_reason_and_topic_too() -> None:
    letter = Rejected("t" * 5000, b"{}", "topic", "r" * 50_000, "m-1").dead_letter(WHEN)
    assert letter.topic.startswith("t" * DEAD_LETTER_TEXT)
    assert letter.topic.endswith("(3976 more characters)")
    assert letter.reason.endswith("(48976 more characters)")
    assert (letter.msg_id, letter.payload, letter.truncated) == ("m-1", "{}", False)


def test_a_hundred_large_garbage_messages_make_small_dead_letters() -> None:
    total = 0
    for n in range(100):
        payload = random.Random(n).randbytes(250 * 1024)  # noqa: S311 - test data
        result = parse(TOPIC, payload)
        assert isinstance(result, Rejected)
        total += len(msgspec.json.encode(result.dead_letter(WHEN)))
    assert total < 100 * 6 * 1024  # was 25.8 MB


def test_even_text_that_json_must_escape_makes_a_bounded_dead_letter() -> None:
    for payload in (b"\x00" * MAX_PAYLOAD, b'"' * MAX_PAYLOAD, "\u2028".encode() * 80_000):
        letter = Rejected(TOPIC, payload, "not-json", "why").dead_letter(WHEN)
        assert len(msgspec.json.encode(letter)) < 7 * DEAD_LETTER_KEEP


@given(payload=st.binary(max_size=3000), keep=st.integers(0, 2000))
def test_a_dead_letter_is_a_faithful_prefix_of_any_payload(payload: bytes, keep: int) -> None:
    rejected = Rejected(TOPIC, payload, "not-utf8", "why")
    letter = rejected.dead_letter(WHEN, keep=keep)
    assert letter == rejected.dead_letter(WHEN, keep=keep)  # pure
    shown = _shown(letter)
    assert payload.startswith(shown)
    assert keep - 3 <= len(shown) <= keep or shown == payload
    assert (letter.size, letter.sha256) == (len(payload), hashlib.sha256(payload).hexdigest())
    assert letter.truncated is (len(shown) < len(payload))


def test_the_error_codes_include_the_scorers_new_ones() -> None:
    for code in ("time", "conflict", "internal", "flood"):
        assert ERROR_CODES[code]
    assert all(meaning and meaning[0].islower() for meaning in ERROR_CODES.values())


def test_a_bug_in_ingest_is_an_internal_dead_letter_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("ingest._parse.parse_obs", broken)
    result = parse(TOPIC, OBS)
    assert isinstance(result, Rejected)
    assert result.error == "internal"
    assert result.reason.startswith(INTERNAL)
    assert "KeyError" in result.reason
