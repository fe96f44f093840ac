"""National PEWS band edges, categories, oxygen, worse-band decimals and escalation (SPEC §2).

Every expected value below was transcribed from SPEC.md §2, not from the chart files, so that a
slip in `scoring/charts/` is caught here. Numeric cases score a single-parameter observation,
so the parameter's points are also the total.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from scoring import InvalidObservation, score
from tests.factories import PEWS_NORMAL_5_12Y, make_ctx, make_obs

AGES = ("0-11m", "1-4y", "5-12y", "13+y")
"""SPEC §2.1: the four age charts."""

Bands = list[tuple[int | None, int | None, int]]
"""(lowest integer, highest integer, points); None = open-ended. The integer form of the
document's x–x.99 bands, so each band also holds up to its upper limit + 0.99."""

# SPEC §2.2, respiratory rate.
RR: dict[str, Bands] = {
    "0-11m": [
        (None, 9, 4),
        (10, 19, 2),
        (20, 29, 1),
        (30, 49, 0),
        (50, 59, 1),
        (60, 69, 2),
        (70, None, 4),
    ],
    "1-4y": [(None, 9, 4), (10, 19, 2), (20, 39, 0), (40, 49, 1), (50, 59, 2), (60, None, 4)],
    "5-12y": [
        (None, 9, 4),
        (10, 14, 2),
        (15, 19, 1),
        (20, 24, 0),
        (25, 39, 1),
        (40, 49, 2),
        (50, None, 4),
    ],
    "13+y": [(None, 9, 4), (10, 14, 1), (15, 24, 0), (25, 29, 1), (30, 39, 2), (40, None, 4)],
}

# SPEC §2.3, heart rate.
HR: dict[str, Bands] = {
    "0-11m": [
        (None, 79, 4),
        (80, 89, 2),
        (90, 109, 1),
        (110, 149, 0),
        (150, 169, 1),
        (170, 179, 2),
        (180, None, 4),
    ],
    "1-4y": [
        (None, 59, 4),
        (60, 69, 2),
        (70, 89, 1),
        (90, 139, 0),
        (140, 149, 1),
        (150, 169, 2),
        (170, None, 4),
    ],
    "5-12y": [
        (None, 59, 4),
        (60, 69, 2),
        (70, 79, 1),
        (80, 119, 0),
        (120, 139, 1),
        (140, 159, 2),
        (160, None, 4),
    ],
    "13+y": [
        (None, 49, 4),
        (50, 59, 2),
        (60, 69, 1),
        (70, 99, 0),
        (100, 119, 1),
        (120, 129, 2),
        (130, None, 4),
    ],
}

# SPEC §2.4, systolic blood pressure.
SBP: dict[str, Bands] = {
    "0-11m": [
        (None, 49, 4),
        (50, 59, 2),
        (60, 69, 1),
        (70, 89, 0),
        (90, 99, 1),
        (100, 109, 2),
        (110, None, 4),
    ],
    "1-4y": [
        (None, 49, 4),
        (50, 59, 2),
        (60, 79, 1),
        (80, 99, 0),
        (100, 119, 1),
        (120, 129, 2),
        (130, None, 4),
    ],
    "5-12y": [
        (None, 69, 4),
        (70, 79, 2),
        (80, 89, 1),
        (90, 109, 0),
        (110, 119, 1),
        (120, 129, 2),
        (130, None, 4),
    ],
    "13+y": [
        (None, 79, 4),
        (80, 89, 2),
        (90, 99, 1),
        (100, 119, 0),
        (120, 129, 1),
        (130, 139, 2),
        (140, None, 4),
    ],
}

SHORT = {"resp_rate": "rr", "heart_rate": "hr", "systolic_bp": "sbp"}


def chart_id(age: str) -> str:
    return f"pews-nhse-2023-{age}"


def pews(charts, vitals: dict[str, Any], age: str = "5-12y"):
    return score(make_obs(vitals), make_ctx(chart=chart_id(age)), charts)


def integer_edges(key: str, tables: dict[str, Bands]):
    """Both integer sides of every edge: each band's first and last integer."""
    for age, bands in tables.items():
        for low, high, points in bands:
            for value in (low, high):
                if value is not None:
                    yield pytest.param(age, key, value, points, id=f"{age}-{SHORT[key]}-{value}")


def decimal_edges(key: str, tables: dict[str, Bands]):
    """Between two bands: h.99 is still the lower band; h.995 falls in the gap and takes the
    worse of the two (SPEC §2.1, SPOT C1.4)."""
    for age, bands in tables.items():
        for (_, high, a), (_, _, b) in pairwise(bands):
            assert high is not None
            for value, points in ((round(high + 0.99, 2), a), (round(high + 0.995, 3), max(a, b))):
                yield pytest.param(age, key, value, points, id=f"{age}-{SHORT[key]}-{value:g}")


NUMERIC = [
    *integer_edges("resp_rate", RR),
    *integer_edges("heart_rate", HR),
    *integer_edges("systolic_bp", SBP),
]
NUMERIC_DECIMAL = [
    *decimal_edges("resp_rate", RR),
    *decimal_edges("heart_rate", HR),
    *decimal_edges("systolic_bp", SBP),
]


@pytest.mark.parametrize(("age", "key", "value", "points"), NUMERIC)
def test_band_edges(charts, age, key, value, points):
    r = pews(charts, {key: value}, age)
    assert r.chart == chart_id(age)
    assert r.parameters[key] == points
    assert r.total == points


@pytest.mark.parametrize(("age", "key", "value", "points"), NUMERIC_DECIMAL)
def test_between_bands_takes_the_worse_band(charts, age, key, value, points):
    assert pews(charts, {key: value}, age).parameters[key] == points


@pytest.mark.parametrize(
    ("age", "key", "value", "points"),
    [
        pytest.param("5-12y", "resp_rate", 14.995, 2, id="5-12y-rr-14.995-worse-of-2-and-1"),
        pytest.param("5-12y", "resp_rate", 14.99, 2, id="5-12y-rr-14.99"),
        pytest.param("5-12y", "resp_rate", 15, 1, id="5-12y-rr-15"),
        pytest.param("0-11m", "heart_rate", 149.995, 1, id="0-11m-hr-149.995-worse-of-0-and-1"),
        pytest.param("0-11m", "heart_rate", 109.995, 1, id="0-11m-hr-109.995-worse-of-1-and-0"),
        pytest.param("13+y", "systolic_bp", 99.5, 1, id="13+y-sbp-99.5-inside-90-99.99"),
    ],
)
def test_worse_band_examples(charts, age, key, value, points):
    """The brief's named examples of SPEC §2.1 C1.4."""
    assert pews(charts, {key: value}, age).parameters[key] == points


# SPEC §2.5: SpO2 ≤91 → 4; 91.01–94.99 → 1; ≥95 → 0; the gaps take the worse band.
SPO2 = [
    (80, 4),
    (91, 4),
    (91.005, 4),
    (91.01, 1),
    (92, 1),
    (94, 1),
    (94.99, 1),
    (94.995, 1),
    (95, 0),
    (100, 0),
]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(("value", "points"), SPO2, ids=[f"spo2-{v}" for v, _ in SPO2])
def test_spo2(charts, age, value, points):
    r = pews(charts, {"spo2": value}, age)
    assert r.parameters["spo2"] == points
    assert r.total == points


# SPEC §2.5: CRT ≤2 s → 0; ≥3 s → 2; 2.01–2.99 undefined, C1.4 takes the higher band, 2.
CRT = [(1, 0), (2, 0), (2.001, 2), (2.01, 2), (2.5, 2), (2.99, 2), (3, 2), (8, 2)]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(("value", "points"), CRT, ids=[f"crt-{v}" for v, _ in CRT])
def test_capillary_refill(charts, age, value, points):
    r = pews(charts, {"crt_seconds": value}, age)
    assert r.parameters["crt_seconds"] == points
    assert r.total == points


DISTRESS = [("none", 0), ("mild", 1), ("moderate", 2), ("severe", 4)]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(("value", "points"), DISTRESS, ids=[f"distress-{v}" for v, _ in DISTRESS])
def test_respiratory_distress(charts, age, value, points):
    """SPEC §2.5: none 0, mild 1, moderate 2, severe 4."""
    r = pews(charts, {"resp_distress": value}, age)
    assert r.parameters["resp_distress"] == points
    assert r.total == points


# SPEC §2.5, oxygen: HF, CPAP and BiPAP score 4 and override the level; NP, FM, HB and NRB score
# 0 as a device and the level is scored: % 16–29.99 (and below 16) 1, 30–49.99 2, ≥50 4;
# L/min 0.01–1.99 (and below 0.01) 1, 2–5.99 2, ≥6 4. Never more than 4. Air scores 0.
OXYGEN = [
    pytest.param({"on_oxygen": False}, 0, id="air-on_oxygen-false"),
    pytest.param({"oxygen_device": "air"}, 0, id="air-device"),
    *(
        pytest.param({"oxygen_device": "FM", "oxygen_percent": pct}, points, id=f"FM-{pct}pct")
        for pct, points in [
            (10, 1),
            (15.99, 1),
            (16, 1),
            (21, 1),
            (29.99, 1),
            (29.995, 2),
            (30, 2),
            (40, 2),
            (49.99, 2),
            (49.995, 4),
            (50, 4),
            (100, 4),
        ]
    ),
    *(
        pytest.param({"oxygen_device": "NP", "oxygen_flow_lpm": lpm}, points, id=f"NP-{lpm}lpm")
        for lpm, points in [
            (0.005, 1),
            (0.01, 1),
            (1, 1),
            (1.99, 1),
            (1.995, 2),
            (2, 2),
            (4, 2),
            (5.99, 2),
            (5.995, 4),
            (6, 4),
            (15, 4),
        ]
    ),
    pytest.param({"oxygen_device": "HB", "oxygen_percent": 40}, 2, id="HB-40pct"),
    pytest.param({"oxygen_device": "HB", "oxygen_percent": 25}, 1, id="HB-25pct"),
    pytest.param({"oxygen_device": "NRB", "oxygen_flow_lpm": 15}, 4, id="NRB-15lpm"),
    pytest.param({"oxygen_device": "NRB", "oxygen_flow_lpm": 5}, 2, id="NRB-5lpm"),
    pytest.param({"oxygen_device": "FM", "oxygen_flow_lpm": 1.5}, 1, id="FM-1.5lpm"),
    pytest.param({"oxygen_device": "NP", "oxygen_percent": 35}, 2, id="NP-35pct"),
    pytest.param({"on_oxygen": True, "oxygen_flow_lpm": 6}, 4, id="no-device-6lpm"),
    *(
        pytest.param(
            {"oxygen_device": device, **level},
            4,
            id=f"{device}-override-{'-'.join(f'{v}' for v in level.values()) or 'no-level'}",
        )
        for device in ("HF", "CP", "BiP")
        for level in (
            {},
            {"oxygen_percent": 21},
            {"oxygen_percent": 35},
            {"oxygen_percent": 60},
            {"oxygen_flow_lpm": 1},
            {"oxygen_flow_lpm": 10},
        )
    ),
]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(("vitals", "points"), OXYGEN)
def test_oxygen_device_and_level(charts, age, vitals, points):
    r = pews(charts, vitals, age)
    assert r.parameters["oxygen"] == points
    assert r.total == points


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(("code", "points"), [("NCO", 0), ("U0", 0), ("U4", 4)])
def test_bp_skip_codes(charts, age, code, points):
    """SPEC §2.4: BP not recorded: NCO 0, U0 0, U4 4."""
    r = pews(charts, {"bp_code": code}, age)
    assert r.parameters["systolic_bp"] == points
    assert r.total == points


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(
    ("avpu", "risk"), [("A", "none"), ("V", "high"), ("P", "emergency"), ("U", "emergency")]
)
def test_avpu_is_not_scored_but_escalates(charts, age, avpu, risk):
    """SPEC §2.1, §2.6: AVPU is not in the total; V → High, P or U → Emergency."""
    r = pews(charts, {"consciousness": avpu}, age)
    assert "consciousness" not in r.parameters
    assert r.total == 0
    assert r.risk == risk


@pytest.mark.parametrize("age", AGES)
def test_new_confusion_is_not_on_pews(charts, age):
    """SPEC §2.1: PEWS uses AVPU; there is no C."""
    with pytest.raises(InvalidObservation):
        pews(charts, {"consciousness": "C"}, age)


def test_normal_set_scores_zero(charts):
    r = pews(charts, PEWS_NORMAL_5_12Y)
    assert r.complete
    assert r.total == 0
    assert r.risk == "none"


def normal_with(**changes: Any) -> dict[str, Any]:
    return {**PEWS_NORMAL_5_12Y, **changes}


# SPEC §2.6: 0 none; 1–4 low; 5–8 medium; 9–12 high; ≥13 emergency (5–12 y chart).
TOTALS = [
    pytest.param(normal_with(), 0, "none", id="total-0"),
    pytest.param(normal_with(resp_distress="mild"), 1, "low", id="total-1"),
    pytest.param(normal_with(resp_distress="severe"), 4, "low", id="total-4"),
    pytest.param(normal_with(resp_distress="severe", resp_rate=15), 5, "medium", id="total-5"),
    pytest.param(normal_with(resp_distress="severe", spo2=91), 8, "medium", id="total-8"),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, resp_rate=15), 9, "high", id="total-9"
    ),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, heart_rate=160), 12, "high", id="total-12"
    ),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, heart_rate=160, resp_rate=15),
        13,
        "emergency",
        id="total-13",
    ),
    pytest.param(
        normal_with(
            resp_rate=50,
            resp_distress="severe",
            spo2=91,
            on_oxygen=None,
            oxygen_device="HF",
            heart_rate=160,
            systolic_bp=130,
            crt_seconds=3,
        ),
        26,
        "emergency",
        id="total-26-maximum",
    ),
]


@pytest.mark.parametrize(("vitals", "total", "risk"), TOTALS)
def test_total_to_level(charts, vitals, total, risk):
    r = pews(charts, {k: v for k, v in vitals.items() if v is not None})
    assert r.complete
    assert r.total == total
    assert r.risk == risk


# SPEC §2.6: the final level is the highest of the score level and every trigger criterion.
TRIGGERS = [
    pytest.param(normal_with(consciousness="V"), 0, "high", id="total-0-avpu-V"),
    pytest.param(normal_with(consciousness="P"), 0, "emergency", id="total-0-avpu-P"),
    pytest.param(normal_with(consciousness="U"), 0, "emergency", id="total-0-avpu-U"),
    pytest.param(normal_with(concern="low"), 0, "low", id="total-0-concern-low"),
    pytest.param(normal_with(concern="medium"), 0, "medium", id="total-0-concern-medium"),
    pytest.param(normal_with(concern="high"), 0, "high", id="total-0-concern-high"),
    pytest.param(normal_with(concern="emergency"), 0, "emergency", id="total-0-concern-emergency"),
    *(
        pytest.param(normal_with(carer_question=a), 0, "none", id=f"total-0-carer-{a}")
        for a in ("S", "B", "A", "U")
    ),
    pytest.param(
        normal_with(resp_distress="mild", consciousness="P"), 1, "emergency", id="total-1-avpu-P"
    ),
    pytest.param(
        normal_with(resp_distress="severe", concern="medium"),
        4,
        "medium",
        id="total-4-concern-medium",
    ),
    pytest.param(
        normal_with(resp_distress="severe", resp_rate=15, consciousness="V"),
        5,
        "high",
        id="total-5-avpu-V",
    ),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, resp_rate=15, concern="low"),
        9,
        "high",
        id="total-9-concern-low-score-wins",
    ),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, resp_rate=15, consciousness="P"),
        9,
        "emergency",
        id="total-9-avpu-P",
    ),
    pytest.param(
        normal_with(resp_distress="severe", spo2=91, heart_rate=160, concern="emergency"),
        12,
        "emergency",
        id="total-12-concern-emergency",
    ),
    pytest.param(
        normal_with(
            resp_distress="severe", spo2=91, heart_rate=160, resp_rate=15, consciousness="V"
        ),
        13,
        "emergency",
        id="total-13-avpu-V-score-wins",
    ),
]


@pytest.mark.parametrize(("vitals", "total", "risk"), TRIGGERS)
def test_level_is_the_highest_of_score_and_triggers(charts, vitals, total, risk):
    r = pews(charts, vitals)
    assert r.total == total
    assert r.risk == risk


# SPEC §2.1, §2.6: temperature ≥38.0 or <36.0 °C prompts "think sepsis"; not in the total.
TEMPERATURE = [
    (34.0, True),
    (35.9, True),
    (35.95, True),
    (36.0, False),
    (37.0, False),
    (37.9, False),
    (38.0, True),
    (39.5, True),
]


@pytest.mark.parametrize("age", AGES)
@pytest.mark.parametrize(
    ("temperature", "prompted"), TEMPERATURE, ids=[f"temp-{t}" for t, _ in TEMPERATURE]
)
def test_temperature_prompts_think_sepsis_and_is_not_scored(charts, age, temperature, prompted):
    r = pews(charts, normal_with(temperature=temperature), age)
    assert ("think-sepsis" in r.prompts) is prompted
    assert "temperature" not in r.parameters
