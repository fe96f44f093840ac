"""What the device parsers share: UCUM by meaning, the device limits, the MDC table."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import (
    DEFAULT_FRESHNESS,
    DEVICE_LIMITS,
    FRESHNESS_KEY,
    LOINC,
    MDC,
    MDC_ALSO,
    UCUM,
    Observation,
    Rejected,
    parse,
    same_unit,
    ucum_meaning,
)
from scoring import ChartSet, Vitals
from surveillance.online import DEFAULT_FRESHNESS as SCORERS
from surveillance.online import GROUPS

# (spelling, the unit it means): UCUM §2.4 annotations, §2.1 the unity, §2.3 exponents, and
# the litre's two codes. Each spelling is one a real sender uses (UK Core: {Breaths}/min and
# {beats}/min; Mindray: {beats}/min in OBX-6; US Core: /min, L/min).
SAME = [
    ("{Breaths}/min", "/min"),
    ("{breaths}/min", "/min"),
    ("{beats}/min", "/min"),
    ("{Beats}/min", "/min"),
    ("{h.b.}/min", "/min"),
    ("/min", "/min"),
    ("1/min", "/min"),
    ("min-1", "/min"),
    (" /min ", "/min"),
    ("%", "%"),
    ("%{SpO2}", "%"),
    ("mm[Hg]", "mm[Hg]"),
    ("Cel", "Cel"),
    ("L/min", "L/min"),
    ("l/min", "L/min"),
    ("{O2}L/min", "L/min"),
]
# Spellings that are not the unit (or not UCUM at all): never matched.
DIFFERENT = [
    ("bpm", "/min"),
    ("/MIN", "/min"),
    ("/s", "/min"),
    ("/h", "/min"),
    ("{beats}", "/min"),
    ("[degF]", "Cel"),
    ("cel", "Cel"),
    ("K", "Cel"),
    ("kPa", "mm[Hg]"),
    ("mmHg", "mm[Hg]"),
    ("1", "%"),
    ("{fraction}", "%"),
    ("mL/min", "L/min"),
    ("L/s", "L/min"),
]


@pytest.mark.parametrize(("spelling", "unit"), SAME)
def test_spellings_of_one_unit_are_one_unit(spelling: str, unit: str) -> None:
    assert ucum_meaning(spelling) == unit
    assert same_unit(spelling, unit)


@pytest.mark.parametrize(("spelling", "unit"), DIFFERENT)
def test_other_units_are_never_taken_for_the_unit(spelling: str, unit: str) -> None:
    assert not same_unit(spelling, unit)


def test_no_unit_is_no_unit() -> None:
    assert not same_unit(None, "/min")
    assert ucum_meaning("{beats}") == "1"  # an annotation alone is the unity


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="{}")))
def test_an_annotation_never_changes_a_unit(code: str) -> None:
    assert ucum_meaning(f"{{note}}{code}") == ucum_meaning(code) or code == ""


def _widest(charts: ChartSet, key: str) -> tuple[float, bool, float, bool]:
    """The union of every chart's `reject` range for `key`: lowest low, highest high."""
    bands = [
        limit.band
        for chart in charts.charts.values()
        for limit in chart.plausibility.reject
        if limit.key == key
    ]
    assert bands, key
    low = min(b.low if b.low is not None else -math.inf for b in bands)
    high = max(b.high if b.high is not None else math.inf for b in bands)
    low_in = any(b.low == low and b.low_inclusive for b in bands)
    high_in = any(b.high == high and b.high_inclusive for b in bands)
    return low, low_in, high, high_in


@pytest.mark.parametrize("key", sorted(DEVICE_LIMITS))
def test_the_device_limits_are_the_widest_of_the_shipped_charts(charts: ChartSet, key: str) -> None:
    # Ingest refuses a device value on its own only when no chart could take it; if a chart's
    # limits change, this fails until DEVICE_LIMITS follows.
    assert tuple(DEVICE_LIMITS[key]) == _widest(charts, key)


@pytest.mark.parametrize(
    ("key", "inside", "outside"),
    [
        ("resp_rate", [1, 70, 120], [0, -1, 120.5, 999]),
        ("spo2", [10, 77, 100], [9.9, 0.97, 0, -100, 101, 8388607]),
        ("heart_rate", [1, 300], [0, -1, -999, 300.1]),
        ("systolic_bp", [1, 399.9], [0, -999, 400]),
        ("diastolic_bp", [1, 299], [0, -1, 300]),
        ("temperature", [10.1, 36.4, 49.9], [10, -99.9, 384.5, 50]),
        ("oxygen_flow_lpm", [0.5, 80], [0, -1, 80.5]),
    ],
)
def test_sentinels_fall_outside_the_limits(
    key: str, inside: list[float], outside: list[float]
) -> None:
    for x in inside:
        assert DEVICE_LIMITS[key].contains(x), x
    for x in outside:
        assert not DEVICE_LIMITS[key].contains(x), x


def test_every_mdc_code_is_one_vital_and_of_its_unit() -> None:
    codes = [MDC[key].code for key in MDC] + [m.code for ms in MDC_ALSO.values() for m in ms]
    assert len(codes) == len(set(codes))
    for key, also in MDC_ALSO.items():
        assert key in MDC
        assert {m.unit_code for m in also} == {MDC[key].unit_code}
        assert all(m.ref_id.startswith("MDC_") and m.code.isdigit() for m in also)


def test_the_simulators_vocabulary_did_not_grow() -> None:
    # The simulators emit MDC, LOINC and UCUM; the widened table is MDC_ALSO, read only.
    assert set(MDC) == set(LOINC) == set(UCUM) == {
        "resp_rate", "spo2", "systolic_bp", "diastolic_bp", "heart_rate", "temperature",
    }  # fmt: skip


# --- Stale readings: a reading older than the message's latest by more than its vital's
# freshness would ride on the latest's time and be scored as current, so it is not read.

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FHIR_TOPIC = "wards/7A/beds/12/fhir"
HL7_TOPIC = "wards/7A/beds/12/hl7v2"
# vital: (LOINC code, UCUM unit, value, its freshness key)
FHIR_VITALS = {
    "resp_rate": ("9279-1", "/min", 18, "resp_rate"),
    "spo2": ("59408-5", "%", 84, "spo2"),
    "heart_rate": ("8867-4", "/min", 80, "heart_rate"),
    "systolic_bp": ("8480-6", "mm[Hg]", 120, "bp"),
    "temperature": ("8310-5", "Cel", 37.5, "temperature"),
}


def fhir_reading(n: int, vital: str, when: datetime) -> dict[str, Any]:
    code, unit, value, _ = FHIR_VITALS[vital]
    return {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/P001"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit},
    }


def fhir_bundle_of(*readings: tuple[str, datetime]) -> bytes:
    entries = [{"resource": fhir_reading(n, v, t)} for n, (v, t) in enumerate(readings, 1)]
    return msgspec.json.encode(
        {"resourceType": "Bundle", "id": "b-1", "type": "collection", "entry": entries}
    )


def read_device(topic: str, payload: bytes, **kwargs: Any) -> Observation:
    result = parse(topic, payload, **kwargs)
    assert isinstance(result, Observation), result
    return result


# (vital, its age behind the latest reading, read?): at the bound it is read, a second over
# it is not; one row pair per freshness class (5 min, 1 h, 4 h).
AGES = [
    (vital, DEFAULT_FRESHNESS[key] + over, over == 0)
    for vital, (_, _, _, key) in FHIR_VITALS.items()
    for over in (0, 1)
]


@pytest.mark.parametrize(("vital", "age", "is_read"), AGES)
def test_a_reading_older_than_its_freshness_behind_the_latest_is_not_read(
    vital: str, age: float, is_read: bool
) -> None:
    latest = "temperature" if vital == "heart_rate" else "heart_rate"
    when = T - timedelta(seconds=age)
    result = read_device(FHIR_TOPIC, fhir_bundle_of((latest, T), (vital, when)))
    assert result.obs.time == T
    value = FHIR_VITALS[vital][2]
    got = msgspec.structs.asdict(result.obs.vitals)
    assert got[latest] == FHIR_VITALS[latest][2]
    if is_read:
        assert got[vital] == value
        assert not any(i.startswith("stale:") for i in result.ignored)
    else:
        assert got[vital] is None
        code = FHIR_VITALS[vital][0]
        shown = str(int(value)) if float(value).is_integer() else repr(value)
        assert result.ignored == (f"stale:loinc:{code}@{when.isoformat()}={shown}",)


def test_fhir_spo2_dated_1900_beside_a_heart_rate_of_now_is_not_scored() -> None:
    old = datetime(1900, 1, 1, tzinfo=UTC)
    result = read_device(FHIR_TOPIC, fhir_bundle_of(("heart_rate", T), ("spo2", old)))
    assert (result.obs.time, result.obs.vitals) == (T, Vitals(heart_rate=80))
    assert result.ignored == ("stale:loinc:59408-5@1900-01-01T00:00:00+00:00=84",)


HL7_HEAD = "MSH|^~\\&|MON||||20261122090005+0000||ORU^R01|T1|P|2.6\rPID|||P001\r"
HL7_HR = "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F|||{}\r"
HL7_SPO2 = "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||84|262688^MDC_DIM_PERCENT^MDC|||||F|||{}\r"


def test_hl7_spo2_with_an_obx14_in_1900_is_not_scored() -> None:
    payload = (
        HL7_HEAD + HL7_HR.format("20261122090000+0000") + HL7_SPO2.format("19000101000000+0000")
    )
    result = read_device(HL7_TOPIC, payload.encode("ascii"))
    assert (result.obs.time, result.obs.vitals) == (T, Vitals(heart_rate=80))
    assert result.ignored == ("stale:mdc:150456@1900-01-01T00:00:00+00:00=84",)


def test_a_message_whose_other_readings_are_all_stale_is_scored_with_its_latest() -> None:
    hour_ago = T - timedelta(hours=1)
    payload = fhir_bundle_of(("heart_rate", T), ("spo2", hour_ago), ("resp_rate", hour_ago))
    result = read_device(FHIR_TOPIC, payload)
    assert (result.obs.time, result.obs.vitals) == (T, Vitals(heart_rate=80))
    assert [i.split("@")[0] for i in result.ignored] == [
        "stale:loinc:59408-5",
        "stale:loinc:9279-1",
    ]


def test_a_reading_that_is_the_latest_of_a_series_but_stale_beside_another_vital() -> None:
    """`earlier` and `stale` together: a vital's series is reduced to its latest, and that is
    then judged against the message's latest reading."""
    payload = fhir_bundle_of(
        ("heart_rate", T),
        ("spo2", T - timedelta(hours=2)),
        ("spo2", T - timedelta(hours=1)),
    )
    result = read_device(FHIR_TOPIC, payload)
    assert result.obs.vitals == Vitals(heart_rate=80)
    assert [i.split("@")[0] for i in result.ignored] == [
        "earlier:loinc:59408-5",
        "stale:loinc:59408-5",
    ]


@pytest.mark.parametrize(("spo2_freshness", "is_read"), [(3600.0, True), (60.0, False)])
def test_the_freshness_given_to_parse_is_used(spo2_freshness: float, is_read: bool) -> None:
    payload = fhir_bundle_of(("heart_rate", T), ("spo2", T - timedelta(minutes=30)))
    freshness = {**DEFAULT_FRESHNESS, "spo2": spo2_freshness}
    result = read_device(FHIR_TOPIC, payload, freshness=freshness)
    assert (result.obs.vitals.spo2 == 84) is is_read
    assert read_device(FHIR_TOPIC, payload).obs.vitals.spo2 is None  # 30 min > the default 5


def test_the_unpaired_diastolic_and_a_stale_systolic_are_both_left_out() -> None:
    payload = (
        HL7_HEAD
        + HL7_HR.format("20261122090000+0000")
        + "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC||120|266016^MDC_DIM_MMHG^MDC|||||F|||"
        "20261122070000+0000\r"
        "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC||80|266016^MDC_DIM_MMHG^MDC|||||F|||"
        "20261122070000+0000\r"
    )
    result = read_device(HL7_TOPIC, payload.encode("ascii"))
    assert result.obs.vitals == Vitals(heart_rate=80)
    assert sorted(i.split("@")[0] for i in result.ignored) == [
        "stale:mdc:150021",
        "stale:mdc:150022",
    ]


def test_the_freshness_keys_are_the_scorers_groups() -> None:
    """ingest's `FRESHNESS_KEY` names the scorer's group of each grouped device vital, and the
    scorer's freshness table is ingest's (defined once)."""
    assert SCORERS is DEFAULT_FRESHNESS
    for key in DEVICE_LIMITS:
        group = next((g for g, keys in GROUPS.items() if key in keys), key)
        assert FRESHNESS_KEY.get(key, key) == group
        assert group in DEFAULT_FRESHNESS


# --- A reading dated in the future (after the caller's `not_after`: receipt plus max_skew).

FAR = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("when", [T + timedelta(seconds=1), FAR])
def test_a_future_reading_is_refused_alone_and_the_rest_read(when: datetime) -> None:
    payload = fhir_bundle_of(("heart_rate", T), ("spo2", when))
    result = read_device(FHIR_TOPIC, payload, not_after=T)
    assert (result.obs.time, result.obs.vitals) == (T, Vitals(heart_rate=80))
    [entry] = result.ignored
    assert entry.startswith("refused:time:59408-5: ")
    assert when.isoformat() in entry
    # Without a bound (ingest has no clock), the reading is the set's time, as before.
    assert read_device(FHIR_TOPIC, payload).obs.time == when


def test_a_reading_exactly_at_the_bound_is_read() -> None:
    payload = fhir_bundle_of(("heart_rate", T), ("spo2", T))
    assert read_device(FHIR_TOPIC, payload, not_after=T).obs.vitals == Vitals(
        heart_rate=80, spo2=84
    )


def test_an_earlier_reading_of_the_vital_is_read_when_its_latest_is_in_the_future() -> None:
    payload = HL7_HEAD + HL7_HR.format("20261122090000+0000") + HL7_HR.format("99991231235900+0000")
    result = read_device(HL7_TOPIC, payload.encode("ascii"), not_after=T)
    assert (result.obs.time, result.obs.vitals) == (T, Vitals(heart_rate=80))
    assert [i.split(":", 2)[:2] for i in result.ignored] == [["refused", "time"]]


def test_a_message_of_only_future_readings_is_refused_as_time() -> None:
    payload = fhir_bundle_of(("heart_rate", FAR), ("spo2", FAR))
    result = parse(FHIR_TOPIC, payload, not_after=T)
    assert isinstance(result, Rejected), result
    assert (result.error, result.msg_id) == ("time", "b-1")
    assert "9999-12-31T23:59:00+00:00" in result.reason
