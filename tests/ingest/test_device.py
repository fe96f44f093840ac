"""What the device parsers share: UCUM by meaning, the device limits, the MDC table."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import DEVICE_LIMITS, LOINC, MDC, MDC_ALSO, UCUM, same_unit, ucum_meaning
from scoring import ChartSet

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
