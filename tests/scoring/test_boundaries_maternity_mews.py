"""Band edges and severity of the maternity MEOWS chart (SPEC §3c) and Subbe's MEWS (SPEC §3b).

Every expected value below was transcribed from SPEC.md, not from the chart files, so that a
slip in `scoring/charts/` is caught here. Numeric cases score a single-parameter observation,
so the parameter's points are also the total.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from scoring import InvalidObservation, score
from tests.factories import DEFAULT_TIME, make_ctx, make_obs

OBS_TIME = datetime.fromisoformat(DEFAULT_TIME)
MEOWS = "meows-send"
SUBBE = "mews-subbe-2001"

MEOWS_NORMAL: dict[str, Any] = {
    "resp_rate": 16,
    "spo2": 98,
    "systolic_bp": 120,
    "diastolic_bp": 70,
    "heart_rate": 80,
    "consciousness": "A",
    "temperature": 37.0,
}
"""A complete set in every MEOWS 0 band (SPEC §3c)."""

SUBBE_NORMAL: dict[str, Any] = {
    "systolic_bp": 120,
    "heart_rate": 70,
    "resp_rate": 12,
    "temperature": 37.0,
    "consciousness": "A",
}
"""A complete set in every Subbe 0 band (SPEC §3b)."""


def on(charts, chart: str, vitals: dict[str, Any]):
    return score(make_obs(vitals), make_ctx(chart=chart), charts)


def case(short: str, key: str, value: Any, points: int):
    return pytest.param(key, value, points, id=f"{short}-{value}")


# ----------------------------------------------------------------------------------------------
# MEOWS as deployed in SEND (SPEC §3c): amber 2, red 8.

MEOWS_EDGES = [
    # RR: ≤10 red; 11–20 0; 21–30 amber; ≥31 red.
    *(
        case("rr", "resp_rate", v, p)
        for v, p in [(5, 8), (10, 8), (11, 0), (20, 0), (21, 2), (30, 2), (31, 8), (60, 8)]
    ),
    # HR: ≤40 red; 41–60 amber; 61–100 0; 101–120 amber; ≥121 red.
    *(
        case("hr", "heart_rate", v, p)
        for v, p in [
            (30, 8),
            (40, 8),
            (41, 2),
            (60, 2),
            (61, 0),
            (100, 0),
            (101, 2),
            (120, 2),
            (121, 8),
            (200, 8),
        ]
    ),
    # SBP: ≤89 red; 90–100 amber; 101–150 0; 151–160 amber; ≥161 red.
    *(
        case("sbp", "systolic_bp", v, p)
        for v, p in [
            (60, 8),
            (89, 8),
            (90, 2),
            (100, 2),
            (101, 0),
            (150, 0),
            (151, 2),
            (160, 2),
            (161, 8),
            (250, 8),
        ]
    ),
    # DBP: ≤39 amber; 40–100 0; 101–110 amber; ≥111 red.
    *(
        case("dbp", "diastolic_bp", v, p)
        for v, p in [(20, 2), (39, 2), (40, 0), (100, 0), (101, 2), (110, 2), (111, 8), (150, 8)]
    ),
    # SpO2: ≤91 red; 92–95 amber; ≥96 0.
    *(
        case("spo2", "spo2", v, p)
        for v, p in [(80, 8), (91, 8), (92, 2), (95, 2), (96, 0), (100, 0)]
    ),
    # Temperature: ≤35.4 amber; 35.5–37.5 0; 37.6–38.0 amber; ≥38.1 red.
    *(
        case("temp", "temperature", v, p)
        for v, p in [
            (33.0, 2),
            (35.4, 2),
            (35.5, 0),
            (37.5, 0),
            (37.6, 2),
            (38.0, 2),
            (38.1, 8),
            (40.0, 8),
        ]
    ),
]


@pytest.mark.parametrize(("key", "value", "points"), MEOWS_EDGES)
def test_meows_band_edges(charts, key, value, points):
    r = on(charts, MEOWS, {key: value})
    assert r.chart == MEOWS
    assert r.parameters[key] == points
    assert r.total == points


# SPEC §0.1: maternity charts round half-up, in decimal arithmetic, to the printed precision
# (temperature 0.1 °C, the rest integers), then look up.
MEOWS_DECIMALS = [
    case("temp", "temperature", 35.44, 2),  # → 35.4
    case("temp", "temperature", 35.45, 0),  # → 35.5
    case("temp", "temperature", 37.54, 0),  # → 37.5
    case("temp", "temperature", 37.55, 2),  # → 37.6 (binary rounding gives 37.5)
    case("temp", "temperature", 38.04, 2),  # → 38.0
    case("temp", "temperature", 38.05, 8),  # → 38.1
    case("rr", "resp_rate", 10.49, 8),  # → 10
    case("rr", "resp_rate", 10.5, 0),  # → 11
    case("rr", "resp_rate", 20.5, 2),  # → 21
    case("rr", "resp_rate", 30.5, 8),  # → 31
    case("hr", "heart_rate", 60.5, 0),  # → 61
    case("hr", "heart_rate", 100.5, 2),  # → 101
    case("hr", "heart_rate", 120.49, 2),  # → 120
    case("sbp", "systolic_bp", 89.5, 2),  # → 90
    case("sbp", "systolic_bp", 89.49, 8),  # → 89
    case("sbp", "systolic_bp", 150.5, 2),  # → 151
    case("sbp", "systolic_bp", 160.5, 8),  # → 161
    case("dbp", "diastolic_bp", 39.5, 0),  # → 40
    case("dbp", "diastolic_bp", 100.5, 2),  # → 101
    case("dbp", "diastolic_bp", 110.5, 8),  # → 111
    case("spo2", "spo2", 91.5, 2),  # → 92
    case("spo2", "spo2", 95.49, 2),  # → 95
    case("spo2", "spo2", 95.5, 0),  # → 96
]


@pytest.mark.parametrize(("key", "value", "points"), MEOWS_DECIMALS)
def test_meows_decimals_round_half_up_then_score(charts, key, value, points):
    assert on(charts, MEOWS, {key: value}).parameters[key] == points


@pytest.mark.parametrize(
    ("level", "points"),
    [("A", 0), ("C", 2), ("V", 8), ("P", 8), ("U", 8)],
    ids=lambda x: f"acvpu-{x}" if isinstance(x, str) else str(x),
)
def test_meows_acvpu(charts, level, points):
    """SPEC §3c: alert 0; new confusion amber; V, P or U red."""
    r = on(charts, MEOWS, {"consciousness": level})
    assert r.parameters["consciousness"] == points
    assert r.total == points


def test_meows_normal_set_is_complete_and_scores_zero(charts):
    r = on(charts, MEOWS, MEOWS_NORMAL)
    assert r.complete
    assert r.missing == []
    assert r.total == 0
    assert set(r.parameters) == {
        "resp_rate",
        "spo2",
        "systolic_bp",
        "diastolic_bp",
        "heart_rate",
        "consciousness",
        "temperature",
    }


# SPEC §3c: severity 0–1 low; 2–3 low-medium; 4–6 medium; ≥7 high; any concern → high.
# Monitoring: low 12 h (total 0) or 6 h (total 1); low-medium 1 h; medium and high 30 min.
# With points of 2 and 8 every total is even, so 1, 3, 5 and 7 cannot occur.
MEOWS_SEVERITY = [
    pytest.param({}, 0, "low", timedelta(hours=12), id="total-0"),
    pytest.param({"resp_rate": 21}, 2, "low-medium", timedelta(hours=1), id="total-2"),
    pytest.param(
        {"consciousness": "C"}, 2, "low-medium", timedelta(hours=1), id="total-2-confusion"
    ),
    pytest.param(
        {"resp_rate": 21, "heart_rate": 101}, 4, "medium", timedelta(minutes=30), id="total-4"
    ),
    pytest.param(
        {"resp_rate": 21, "heart_rate": 101, "temperature": 37.6},
        6,
        "medium",
        timedelta(minutes=30),
        id="total-6",
    ),
    pytest.param({"resp_rate": 31}, 8, "high", timedelta(minutes=30), id="total-8-single-red"),
    pytest.param(
        {"resp_rate": 31, "heart_rate": 101}, 10, "high", timedelta(minutes=30), id="total-10"
    ),
    pytest.param({"concern": True}, 0, "high", timedelta(minutes=30), id="total-0-concern"),
    pytest.param(
        {"resp_rate": 21, "concern": True}, 2, "high", timedelta(minutes=30), id="total-2-concern"
    ),
]


@pytest.mark.parametrize(("changes", "total", "risk", "interval"), MEOWS_SEVERITY)
def test_meows_severity(charts, changes, total, risk, interval):
    r = on(charts, MEOWS, {**MEOWS_NORMAL, **changes})
    assert r.complete
    assert r.total == total
    assert r.risk == risk


@pytest.mark.parametrize(("changes", "total", "risk", "interval"), MEOWS_SEVERITY)
def test_meows_next_obs_due(charts, changes, total, risk, interval):
    r = on(charts, MEOWS, {**MEOWS_NORMAL, **changes})
    assert r.next_obs_due == OBS_TIME + interval


def test_maternity_cohort_uses_meows(charts):
    """SPEC §0.3: maternity → the §3c chart until the national chart is loaded."""
    r = score(make_obs(MEOWS_NORMAL), make_ctx(cohort="maternity"), charts)
    assert r.chart == MEOWS


# ----------------------------------------------------------------------------------------------
# Subbe et al. 2001 (SPEC §3b), with caveat 1: SBP ≤70 → 3 and HR ≤40 → 2.

SUBBE_EDGES = [
    # SBP: ≤70 3; 71–80 2; 81–100 1; 101–199 0; ≥200 2.
    *(
        case("sbp", "systolic_bp", v, p)
        for v, p in [
            (50, 3),
            (69, 3),
            (70, 3),
            (71, 2),
            (80, 2),
            (81, 1),
            (100, 1),
            (101, 0),
            (199, 0),
            (200, 2),
            (280, 2),
        ]
    ),
    # HR: ≤40 2; 41–50 1; 51–100 0; 101–110 1; 111–129 2; ≥130 3.
    *(
        case("hr", "heart_rate", v, p)
        for v, p in [
            (30, 2),
            (39, 2),
            (40, 2),
            (41, 1),
            (50, 1),
            (51, 0),
            (100, 0),
            (101, 1),
            (110, 1),
            (111, 2),
            (129, 2),
            (130, 3),
            (220, 3),
        ]
    ),
    # RR: <9 2; 9–14 0; 15–20 1; 21–29 2; ≥30 3.
    *(
        case("rr", "resp_rate", v, p)
        for v, p in [
            (4, 2),
            (8, 2),
            (9, 0),
            (14, 0),
            (15, 1),
            (20, 1),
            (21, 2),
            (29, 2),
            (30, 3),
            (60, 3),
        ]
    ),
    # Temperature: <35 2; 35.0–38.4 0; ≥38.5 2.
    *(
        case("temp", "temperature", v, p)
        for v, p in [(30.0, 2), (34.9, 2), (35.0, 0), (38.4, 0), (38.5, 2), (41.0, 2)]
    ),
]


@pytest.mark.parametrize(("key", "value", "points"), SUBBE_EDGES)
def test_subbe_band_edges(charts, key, value, points):
    r = on(charts, SUBBE, {key: value})
    assert r.chart == SUBBE
    assert r.parameters[key] == points
    assert r.total == points


@pytest.mark.parametrize(
    ("level", "points"),
    [("A", 0), ("V", 1), ("P", 2), ("U", 3)],
    ids=lambda x: f"avpu-{x}" if isinstance(x, str) else str(x),
)
def test_subbe_avpu(charts, level, points):
    """SPEC §3b: Alert 0, Voice 1, Pain 2, Unresponsive 3."""
    r = on(charts, SUBBE, {"consciousness": level})
    assert r.parameters["consciousness"] == points
    assert r.total == points


def test_subbe_has_no_new_confusion(charts):
    """SPEC §3b: AVPU only; "V = new confusion" variants are not Subbe 2001."""
    with pytest.raises(InvalidObservation):
        on(charts, SUBBE, {"consciousness": "C"})


def test_subbe_normal_set_is_complete_and_scores_zero(charts):
    r = on(charts, SUBBE, SUBBE_NORMAL)
    assert r.complete
    assert r.total == 0
    assert set(r.parameters) == {
        "systolic_bp",
        "heart_rate",
        "resp_rate",
        "temperature",
        "consciousness",
    }


# SPEC §3b: total range 0–14; trigger at ≥5 (Subbe's association with death and ICU).
SUBBE_RISK = [
    pytest.param({}, 0, "low", id="total-0"),
    pytest.param({"resp_rate": 15}, 1, "low", id="total-1"),
    pytest.param({"resp_rate": 30}, 3, "low", id="total-3-single-3"),
    pytest.param({"resp_rate": 21, "heart_rate": 111}, 4, "low", id="total-4"),
    pytest.param({"resp_rate": 30, "heart_rate": 111}, 5, "high", id="total-5"),
    pytest.param({"resp_rate": 30, "heart_rate": 130}, 6, "high", id="total-6"),
    pytest.param(
        {
            "systolic_bp": 70,
            "heart_rate": 130,
            "resp_rate": 30,
            "temperature": 38.5,
            "consciousness": "U",
        },
        14,
        "high",
        id="total-14-maximum",
    ),
]


@pytest.mark.parametrize(("changes", "total", "risk"), SUBBE_RISK)
def test_subbe_total_to_risk(charts, changes, total, risk):
    r = on(charts, SUBBE, {**SUBBE_NORMAL, **changes})
    assert r.complete
    assert r.total == total
    assert r.risk == risk
