"""Clinical events and harms (CONTRACT §9) on `wards/{ward}/beds/{bed}/event`: what ingest takes,
and every way it refuses one, with the field named (pure: no broker, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from ingest import (
    CHANNELS,
    EVENT_KINDS,
    ClinicalEvent,
    EventReport,
    Rejected,
    input_filters,
    parse,
    parse_topic,
)

TOPIC = "wards/7A/beds/12/event"
GOOD: dict[str, Any] = {
    "msg_id": "ev-1",
    "time": "2026-11-22T11:02:00Z",
    "patient_id": "P001",
    "event": "cardiac-arrest",
    "by": "resus team",
}


def send(body: Any, topic: str = TOPIC) -> EventReport | Rejected:
    payload = body if isinstance(body, bytes) else msgspec.json.encode(body)
    result = parse(topic, payload)
    assert isinstance(result, EventReport | Rejected), result
    return result


def test_the_contract_example_is_taken_with_the_topics_ward_and_bed() -> None:
    report = send(GOOD)
    assert isinstance(report, EventReport)
    assert (report.ward, report.bed, report.msg_id) == ("7A", "12", "ev-1")
    assert report.event == ClinicalEvent(
        msg_id="ev-1",
        time=datetime(2026, 11, 22, 11, 2, tzinfo=UTC),
        patient_id="P001",
        event="cardiac-arrest",
        by="resus team",
    )


def test_the_event_topic_is_an_input_the_scorer_subscribes_to() -> None:
    assert "event" in CHANNELS
    assert "wards/+/beds/+/event" in input_filters()
    assert "hospital/wards/+/beds/+/event" in input_filters("hospital/")
    assert parse_topic("wards/7A/beds/12/event") == ("7A", "12", "event")
    assert parse_topic("hospital/wards/7A/beds/12/event", "hospital/") == ("7A", "12", "event")


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_every_kind_of_the_contract_is_taken(kind: str) -> None:
    report = send({**GOOD, "event": kind})
    assert isinstance(report, EventReport), report
    assert report.event.event == kind


def test_the_kinds_are_the_contracts_in_its_order() -> None:
    assert EVENT_KINDS == (
        "rrt-call",
        "cardiac-arrest",
        "icu-admission",
        "death",
        "fall",
        "pressure-ulcer",
        "sepsis-treatment",
        "medication-incident",
        "senior-review",  # an extension (issue 16): after the contract's own
    )


@pytest.mark.parametrize("category", [1, 2, 3, 4, None])
def test_a_pressure_ulcer_may_say_its_category(category: int | None) -> None:
    body = {**GOOD, "event": "pressure-ulcer"}
    if category is not None:
        body["category"] = category
    report = send(body)
    assert isinstance(report, EventReport), report
    assert report.event.category == category


def test_optional_fields_may_be_left_out_and_a_note_kept() -> None:
    minimal = {k: GOOD[k] for k in ("msg_id", "time", "patient_id", "event")}
    report = send(minimal)
    assert isinstance(report, EventReport)
    assert (report.event.by, report.event.category, report.event.note) == (None, None, None)
    noted = send({**GOOD, "event": "medication-incident", "note": "insulin dose omitted"})
    assert isinstance(noted, EventReport)
    assert noted.event.note == "insulin dose omitted"


REFUSED: list[tuple[str, Any, str, str]] = [
    # (case, payload, error, what the reason must say)
    ("unknown kind", {**GOOD, "event": "stroke"}, "invalid", "the events known: rrt-call"),
    ("kind in capitals", {**GOOD, "event": "DEATH"}, "invalid", "`$.event`"),
    ("kind missing", {k: v for k, v in GOOD.items() if k != "event"}, "invalid", "event"),
    ("kind not text", {**GOOD, "event": 3}, "invalid", "`$.event`"),
    (
        "category 0",
        {**GOOD, "event": "pressure-ulcer", "category": 0},
        "invalid",
        "`$.category`",
    ),
    (
        "category 5",
        {**GOOD, "event": "pressure-ulcer", "category": 5},
        "invalid",
        "`$.category`",
    ),
    (
        "category as text",
        {**GOOD, "event": "pressure-ulcer", "category": "2"},
        "invalid",
        "`$.category`",
    ),
    (
        "category 2.5",
        {**GOOD, "event": "pressure-ulcer", "category": 2.5},
        "invalid",
        "`$.category`",
    ),
    ("category on a fall", {**GOOD, "event": "fall", "category": 2}, "invalid", "pressure-ulcer"),
    (
        "patient missing",
        {k: v for k, v in GOOD.items() if k != "patient_id"},
        "invalid",
        "patient_id",
    ),
    ("patient blank", {**GOOD, "patient_id": "  "}, "invalid", "patient_id is blank"),
    ("patient empty", {**GOOD, "patient_id": ""}, "invalid", "`$.patient_id`"),
    ("by blank", {**GOOD, "by": " "}, "invalid", "`by` is blank"),
    ("time missing", {k: v for k, v in GOOD.items() if k != "time"}, "invalid", "time"),
    ("time without offset", {**GOOD, "time": "2026-11-22T11:02:00"}, "invalid", "`$.time`"),
    ("time not a time", {**GOOD, "time": "yesterday"}, "invalid", "`$.time`"),
    ("msg_id missing", {k: v for k, v in GOOD.items() if k != "msg_id"}, "invalid", "msg_id"),
    ("msg_id with a newline", {**GOOD, "msg_id": "ev\n1"}, "invalid", "msg_id holds"),
    ("unknown field", {**GOOD, "severity": "high"}, "invalid", "severity"),
    ("not an object", [GOOD], "invalid", "clinical event"),
    ("not JSON", b"{event: death}", "not-json", "not JSON"),
    ("not UTF-8", b'{"event": "\xff"}', "not-utf8", "UTF-8"),
]


@pytest.mark.parametrize(
    ("payload", "error", "says"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_bad_event_is_refused_with_its_reason(payload: Any, error: str, says: str) -> None:
    refused = send(payload)
    assert isinstance(refused, Rejected), refused
    assert (refused.error, refused.topic) == (error, TOPIC)
    assert says in refused.reason
    letter = refused.dead_letter(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    assert letter.error == error  # a dead letter (CONTRACT §6): never dropped in silence
    assert letter.payload  # with what was sent


def test_a_refused_event_keeps_its_msg_id_when_it_could_be_read() -> None:
    refused = send({**GOOD, "event": "stroke"})
    assert isinstance(refused, Rejected)
    assert refused.msg_id == "ev-1"


def test_every_kind_has_words_for_the_pages() -> None:
    from ingest import vocabulary  # noqa: PLC0415

    terms = vocabulary()["events"]
    assert [t["id"] for t in terms] == list(EVENT_KINDS)
    assert all(t["label"] for t in terms)
    composite = {t["id"] for t in terms if t["critical"]}
    assert composite == {"cardiac-arrest", "icu-admission", "death"}
