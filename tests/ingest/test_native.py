"""Native JSON ingest: observation sets (CONTRACT §3), ADT (§2) and lab results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given

from ingest import VITAL_SIGNS, Admission, Lab, Observation, Rejected, parse
from scoring import Vitals
from tests import strategies
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
    # Issue 12: bad input refused with its reason, never scored or stored as if it were good.
    (
        "obs empty vitals",
        OBS_TOPIC,
        encode(OBS, vitals={}),
        "no-vitals",
        ["no vital sign", "`vitals` is empty", "score of 0"],
        "obs-7f3a",
    ),
    (
        "obs only not_recorded",
        OBS_TOPIC,
        encode(OBS, vitals={}, not_recorded={"temperature": "asleep", "heart_rate": "refused"}),
        "no-vitals",
        ["no vital sign", "not_recorded for heart_rate, temperature"],
        "obs-7f3a",
    ),
    (
        "obs only suspected_infection",
        OBS_TOPIC,
        encode(OBS, vitals={"suspected_infection": True}),
        "no-vitals",
        ["only suspected_infection, which is not a vital sign"],
        "obs-7f3a",
    ),
    (
        "obs device, empty vitals",
        OBS_TOPIC,
        encode(OBS, source="monitor", vitals={}),
        "no-vitals",
        ["`vitals` is empty"],
        "obs-7f3a",
    ),
    (
        "adt child without birth date or band",
        ADT_TOPIC,
        encode(ADT, cohort="child", birth_date=...),
        "invalid",
        ["a child (cohort child) needs `birth_date` or `age_band`", "PEWS age chart"],
        "adt-0001",
    ),
    (
        "adt child transfer without birth date or band",
        ADT_TOPIC,
        encode(ADT, event="transfer", cohort="child", birth_date=...),
        "invalid",
        ["`birth_date` or `age_band`"],
        "adt-0001",
    ),
    (
        "adt born after the message",
        ADT_TOPIC,
        encode(ADT, birth_date="2026-11-23"),
        "invalid",
        ["birth_date 2026-11-23 is after the message's own time", "2026-11-22 in Europe/London"],
        "adt-0001",
    ),
    (
        "adt born a century after the message",
        ADT_TOPIC,
        encode(ADT, cohort="child", birth_date="2126-01-01"),
        "invalid",
        ["birth_date 2126-01-01 is after"],
        "adt-0001",
    ),
    (
        "adt negative gestation",
        ADT_TOPIC,
        encode(ADT, cohort="maternity", gestation_weeks=-1),
        "invalid",
        ["gestation_weeks -1 is impossible", "from 0 to 45 weeks"],
        "adt-0001",
    ),
    (
        "adt gestation over 45 weeks",
        ADT_TOPIC,
        encode(ADT, cohort="maternity", gestation_weeks=45.5),
        "invalid",
        ["gestation_weeks 45.5 is impossible"],
        "adt-0001",
    ),
    (
        "adt gestation in days, not weeks",
        ADT_TOPIC,
        encode(ADT, cohort="maternity", gestation_weeks=224),
        "invalid",
        ["gestation_weeks 224 is impossible"],
        "adt-0001",
    ),
    (
        "adt negative postnatal days",
        ADT_TOPIC,
        encode(ADT, cohort="maternity", postnatal_days=-2),
        "invalid",
        ["postnatal_days -2 is impossible", "from 0 to 365 days"],
        "adt-0001",
    ),
    (
        "adt postnatal over a year",
        ADT_TOPIC,
        encode(ADT, cohort="maternity", postnatal_days=366),
        "invalid",
        ["postnatal_days 366 is impossible"],
        "adt-0001",
    ),
    (
        "adt every problem at once",
        ADT_TOPIC,
        encode(
            ADT,
            cohort="child",
            birth_date=...,
            gestation_weeks=-1,
            postnatal_days=400,
        ),
        "invalid",
        ["`birth_date` or `age_band`", "; gestation_weeks -1", "; postnatal_days 400"],
        "adt-0001",
    ),
    (
        "lab creatinine above the limit",
        LAB_TOPIC,
        encode(LAB, value=10_001),
        "implausible",
        ["creatinine 10001 umol/L is implausible", "at most 10000", "check the unit"],
        "lab-1",
    ),
    (
        "lab creatinine in nmol/L",
        LAB_TOPIC,
        encode(LAB, value=142_000),
        "implausible",
        ["creatinine 142000 umol/L"],
        "lab-1",
    ),
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


def test_recorded_needs_are_kept_and_an_unknown_need_is_refused() -> None:
    # CONTRACT §2 `needs`: an ADT carrying them was once refused whole ("unknown field"),
    # which left the patient unplaced and every observation of theirs a dead letter.
    result = parse(ADT_TOPIC, encode(ADT, needs=["autism", "dementia"]))
    assert isinstance(result, Admission)
    assert result.context.needs == ("autism", "dementia")
    refused = parse(ADT_TOPIC, encode(ADT, needs=["left-handed"]))
    assert isinstance(refused, Rejected)
    assert "needs" in refused.reason


@pytest.mark.parametrize(
    "changes",
    [
        {"cohort": "child", "birth_date": ..., "age_band": "1-4y"},
        {"cohort": "child"},
        {"event": "discharge", "cohort": "child", "birth_date": ...},  # a discharge needs none
        {"birth_date": "2026-11-22"},  # born the day of the message
        {"cohort": "maternity", "gestation_weeks": 0, "postnatal_days": 0},
        {"cohort": "maternity", "gestation_weeks": 45, "postnatal_days": 365},
        {"cohort": "maternity", "gestation_weeks": 39.5},
    ],
    ids=lambda c: ", ".join(f"{k}={v}" for k, v in c.items()),
)
def test_admissions_at_the_limits_are_read(changes: dict[str, Any]) -> None:
    assert isinstance(parse(ADT_TOPIC, encode(ADT, **changes)), Admission)


def test_a_birth_date_is_compared_with_the_messages_date_in_the_hospitals_time_zone() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July in London: a baby born on 1 July is there.
    payload = encode(ADT, cohort="child", time="2026-06-30T23:30:00Z", birth_date="2026-07-01")
    assert isinstance(parse(ADT_TOPIC, payload), Admission)
    refused = parse(ADT_TOPIC, payload, tz=ZoneInfo("UTC"))
    assert isinstance(refused, Rejected)
    assert "2026-06-30 in UTC" in refused.reason


@pytest.mark.parametrize(
    "value", [0.1, 6524, 10_000], ids=["lowest", "highest on record", "at the limit"]
)
def test_creatinine_up_to_the_limit_is_read(value: float) -> None:
    result = parse(LAB_TOPIC, encode(LAB, value=value))
    assert isinstance(result, Lab)
    assert result.lab.value == value


def test_a_lab_result_is_read() -> None:
    result = parse(LAB_TOPIC, encode(LAB))
    assert isinstance(result, Lab)
    assert (result.ward, result.bed, result.msg_id) == ("7A", "12", "lab-1")
    assert (result.lab.value, result.lab.unit, result.lab.test) == (142.0, "umol/L", "creatinine")


@given(vitals=strategies.vitals())
def test_a_set_is_refused_as_no_vitals_exactly_when_it_has_no_vital_sign(
    vitals: dict[str, Any],
) -> None:
    result = parse(OBS_TOPIC, encode(OBS, vitals=vitals))
    signs = [key for key in vitals if key in VITAL_SIGNS]
    assert (isinstance(result, Rejected) and result.error == "no-vitals") is (not signs)
    assert set(VITAL_SIGNS) == set(Vitals.__struct_fields__) - {"suspected_infection"}
