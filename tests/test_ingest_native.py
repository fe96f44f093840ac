"""Native JSON ingest: observation sets (CONTRACT §3), ADT (§2) and lab results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from ingest import Admission, Lab, Observation, Rejected, parse
from tests.factories import CONTRACT_OBSERVATION

OBS_TOPIC = "wards/7A/beds/12/obs"
ADT_TOPIC = "wards/7A/beds/12/adt"
LAB_TOPIC = "wards/7A/beds/12/labs"
WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

OBS: dict[str, Any] = CONTRACT_OBSERVATION
ADT: dict[str, Any] = {
    "msg_id": "adt-0001",
    "time": "2026-11-22T08:00:00Z",
    "event": "admit",
    "patient_id": "P001",
    "cohort": "adult",
    "birth_date": "1948-03-02",
    "spo2_scale": 1,
}
LAB: dict[str, Any] = {
    "msg_id": "lab-1",
    "patient_id": "P001",
    "time": "2026-11-22T07:00:00Z",
    "test": "creatinine",
    "value": 142,
    "unit": "umol/L",
}


def encode(base: dict[str, Any], **changes: Any) -> bytes:
    """The message with some keys changed (a value of `...` removes the key)."""
    message = {**base, **changes}
    return msgspec.json.encode({k: v for k, v in message.items() if v is not ...})


def rejected(topic: str, payload: bytes) -> Rejected:
    result = parse(topic, payload)
    assert isinstance(result, Rejected), result
    assert (result.topic, result.payload) == (topic, payload)
    return result


def test_the_contracts_observation_set_is_read() -> None:
    result = parse(OBS_TOPIC, encode(OBS))
    assert isinstance(result, Observation)
    assert (result.ward, result.bed, result.channel, result.msg_id) == (
        "7A",
        "12",
        "obs",
        "obs-7f3a",
    )
    assert result.obs.time == WHEN
    assert result.obs.patient_id == "P001"
    assert result.obs.vitals.temperature == 38.4
    assert result.obs.vitals.consciousness == "A"
    assert result.ignored == ()


def test_an_observation_set_keeps_not_recorded_and_source() -> None:
    payload = encode(OBS, source="wearable", not_recorded={"temperature": "asleep"})
    result = parse(OBS_TOPIC, payload)
    assert isinstance(result, Observation)
    assert (result.obs.source, result.obs.not_recorded) == ("wearable", {"temperature": "asleep"})


# (case id, topic, payload, error, words the reason must contain, msg_id)
CASES = [
    ("obs not UTF-8", OBS_TOPIC, b'{"msg_id": "\xff"}', "not-utf8", ["UTF-8", "offset 12"], None),
    ("obs Latin-1", OBS_TOPIC, encode(OBS)[:-2] + b'"\xe9"}', "not-utf8", ["UTF-8"], None),
    ("obs not JSON", OBS_TOPIC, b"resp_rate=22", "not-json", ["not JSON"], None),
    ("obs truncated", OBS_TOPIC, encode(OBS)[:40], "not-json", ["not JSON"], None),
    ("obs trailing junk", OBS_TOPIC, b"{} x", "not-json", ["not JSON"], None),
    ("obs array", OBS_TOPIC, b"[]", "invalid", ["Expected `object`"], None),
    ("obs no time", OBS_TOPIC, encode(OBS, time=...), "invalid", ["`time`"], "obs-7f3a"),
    ("obs no msg_id", OBS_TOPIC, encode(OBS, msg_id=...), "invalid", ["`msg_id`"], None),
    ("obs empty msg_id", OBS_TOPIC, encode(OBS, msg_id=""), "invalid", ["$.msg_id"], None),
    (
        "obs empty patient",
        OBS_TOPIC,
        encode(OBS, patient_id=""),
        "invalid",
        ["$.patient_id"],
        "obs-7f3a",
    ),
    (
        "obs blank patient",
        OBS_TOPIC,
        encode(OBS, patient_id="  "),
        "invalid",
        ["patient_id"],
        "obs-7f3a",
    ),
    (
        "obs naive time",
        OBS_TOPIC,
        encode(OBS, time="2026-11-22T09:30:00"),
        "invalid",
        ["timezone", "$.time"],
        "obs-7f3a",
    ),
    (
        "obs typo in vitals",
        OBS_TOPIC,
        encode(OBS, vitals={"resp_rte": 22}),
        "invalid",
        ["resp_rte", "$.vitals"],
        "obs-7f3a",
    ),
    (
        "obs string value",
        OBS_TOPIC,
        encode(OBS, vitals={"spo2": "95"}),
        "invalid",
        ["$.vitals.spo2"],
        "obs-7f3a",
    ),
    (
        "obs unknown source",
        OBS_TOPIC,
        encode(OBS, source="pager"),
        "invalid",
        ["$.source"],
        "obs-7f3a",
    ),
    ("obs unknown key", OBS_TOPIC, encode(OBS, ward="7A"), "invalid", ["ward"], "obs-7f3a"),
    (
        "obs number too big",
        OBS_TOPIC,
        encode(OBS, vitals={"spo2": 0}).replace(b":0}", b":1e999}"),
        "invalid",
        ["range", "$.vitals.spo2"],
        "obs-7f3a",
    ),
    ("adt not JSON", ADT_TOPIC, b"<adt/>", "not-json", ["not JSON"], None),
    ("adt no event", ADT_TOPIC, encode(ADT, event=...), "invalid", ["`event`"], "adt-0001"),
    ("adt no time", ADT_TOPIC, encode(ADT, time=...), "invalid", ["`time`"], "adt-0001"),
    ("adt no msg_id", ADT_TOPIC, encode(ADT, msg_id=...), "invalid", ["`msg_id`"], None),
    (
        "adt blank patient",
        ADT_TOPIC,
        encode(ADT, patient_id="  "),
        "invalid",
        ["`patient_id`"],
        "adt-0001",
    ),
    (
        "adt missing two",
        ADT_TOPIC,
        encode(ADT, time=..., event=...),
        "invalid",
        ["`time`, `event`"],
        "adt-0001",
    ),
    (
        "adt empty patient",
        ADT_TOPIC,
        encode(ADT, patient_id=""),
        "invalid",
        ["`patient_id`"],
        "adt-0001",
    ),
    (
        "adt no cohort",
        ADT_TOPIC,
        encode(ADT, cohort=...),
        "invalid",
        ["`cohort`", "admit"],
        "adt-0001",
    ),
    (
        "adt transfer no cohort",
        ADT_TOPIC,
        encode(ADT, event="transfer", cohort=...),
        "invalid",
        ["`cohort`"],
        "adt-0001",
    ),
    (
        "adt bad cohort",
        ADT_TOPIC,
        encode(ADT, cohort="elderly"),
        "invalid",
        ["$.cohort"],
        "adt-0001",
    ),
    ("adt bad event", ADT_TOPIC, encode(ADT, event="arrive"), "invalid", ["$.event"], "adt-0001"),
    ("adt chart", ADT_TOPIC, encode(ADT, chart="news2"), "invalid", ["`chart`"], "adt-0001"),
    ("adt null chart", ADT_TOPIC, encode(ADT, chart=None), "invalid", ["`chart`"], "adt-0001"),
    (
        "adt other ward",
        ADT_TOPIC,
        encode(ADT, ward="7B"),
        "placement",
        ["ward", "'7B'", "'7A'"],
        "adt-0001",
    ),
    (
        "adt other bed",
        ADT_TOPIC,
        encode(ADT, bed="1"),
        "placement",
        ["bed", "'1'", "'12'"],
        "adt-0001",
    ),
    ("lab not UTF-8", LAB_TOPIC, b"\x80", "not-utf8", ["UTF-8"], None),
    ("lab mg/dL", LAB_TOPIC, encode(LAB, unit="mg/dL"), "unit", ["'mg/dL'", "umol/L"], "lab-1"),
    ("lab no unit", LAB_TOPIC, encode(LAB, unit=...), "invalid", ["`unit`"], "lab-1"),
    ("lab zero", LAB_TOPIC, encode(LAB, value=0), "invalid", ["$.value"], "lab-1"),
    ("lab other test", LAB_TOPIC, encode(LAB, test="urea"), "invalid", ["$.test"], "lab-1"),
    (
        "lab blank patient",
        LAB_TOPIC,
        encode(LAB, patient_id=" "),
        "invalid",
        ["patient_id"],
        "lab-1",
    ),
    ("lab array", LAB_TOPIC, b"[1]", "invalid", ["Expected `object`"], None),
]


@pytest.mark.parametrize(
    ("topic", "payload", "error", "words", "msg_id"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_refused_with_a_reason_naming_the_field(
    topic: str, payload: bytes, error: str, words: list[str], msg_id: str | None
) -> None:
    result = rejected(topic, payload)
    assert result.error == error
    for word in words:
        assert word in result.reason
    assert result.msg_id == msg_id


def test_an_admission_is_placed_in_the_topics_bed() -> None:
    result = parse("hospital/wards/7A/beds/12/adt", encode(ADT), prefix="hospital/")
    assert isinstance(result, Admission)
    assert (result.ward, result.bed, result.msg_id) == ("7A", "12", "adt-0001")
    context = result.context
    assert (context.ward, context.bed, context.patient_id) == ("7A", "12", "P001")
    assert (context.event, context.cohort, context.chart) == ("admit", "adult", None)
    assert context.birth_date is not None
    assert context.birth_date.isoformat() == "1948-03-02"


def test_an_admission_may_repeat_the_topics_ward_and_bed() -> None:
    result = parse(ADT_TOPIC, encode(ADT, ward="7A", bed="12"))
    assert isinstance(result, Admission)


def test_a_discharge_needs_no_cohort() -> None:
    result = parse(ADT_TOPIC, encode(ADT, event="discharge", cohort=..., birth_date=...))
    assert isinstance(result, Admission)
    assert (result.context.event, result.context.cohort) == ("discharge", None)


def test_the_equity_fields_are_kept() -> None:
    payload = encode(
        ADT, cohort="maternity", sex="F", ethnicity="A", imd_decile=3, gestation_weeks=32
    )
    result = parse(ADT_TOPIC, payload)
    assert isinstance(result, Admission)
    assert (result.context.imd_decile, result.context.gestation_weeks) == (3, 32)


def test_a_lab_result_is_read() -> None:
    result = parse(LAB_TOPIC, encode(LAB))
    assert isinstance(result, Lab)
    assert (result.ward, result.bed, result.msg_id) == ("7A", "12", "lab-1")
    assert (result.lab.value, result.lab.unit, result.lab.test) == (142.0, "umol/L", "creatinine")
