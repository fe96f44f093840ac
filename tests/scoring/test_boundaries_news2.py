"""NEWS2 band edges, SpO2 scales, decimals and risk, transcribed from SPEC §0.1 and §1.

Every expected value below was read from SPEC.md, not from the chart files, so that a slip in
`scoring/charts/` is caught here. Each numeric case replaces one key of `NEWS2_NORMAL` (a
complete set scoring 0), so the parameter's points are also the set's total.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from scoring import score
from tests.factories import DEFAULT_TIME, NEWS2_NORMAL, make_ctx, make_obs

OBS_TIME = datetime.fromisoformat(DEFAULT_TIME)


def news2(charts, changes: dict[str, Any], **ctx: Any):
    """Score NEWS2_NORMAL with `changes` applied (None removes a key), on the NEWS2 chart."""
    vitals = {k: v for k, v in {**NEWS2_NORMAL, **changes}.items() if v is not None}
    return score(make_obs(vitals), make_ctx(chart="news2", **ctx), charts)


def case(short: str, key: str, value: Any, points: int):
    return pytest.param(key, value, points, id=f"{short}-{value}")


# SPEC §1.1, "Boundary checks, answered directly from the table", plus the table's extremes.
BAND_EDGES = [
    *(
        case("rr", "resp_rate", v, p)
        for v, p in [
            (1, 3),
            (8, 3),
            (9, 1),
            (11, 1),
            (12, 0),
            (20, 0),
            (21, 2),
            (24, 2),
            (25, 3),
            (70, 3),
        ]
    ),
    *(
        case("spo2", "spo2", v, p)
        for v, p in [(50, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
    ),
    *(
        case("sbp", "systolic_bp", v, p)
        for v, p in [
            (50, 3),
            (90, 3),
            (91, 2),
            (100, 2),
            (101, 1),
            (110, 1),
            (111, 0),
            (219, 0),
            (220, 3),
            (300, 3),
        ]
    ),
    *(
        case("hr", "heart_rate", v, p)
        for v, p in [
            (20, 3),
            (40, 3),
            (41, 1),
            (50, 1),
            (51, 0),
            (90, 0),
            (91, 1),
            (110, 1),
            (111, 2),
            (130, 2),
            (131, 3),
            (250, 3),
        ]
    ),
    *(
        case("temp", "temperature", v, p)
        for v, p in [
            (30.0, 3),
            (35.0, 3),
            (35.1, 1),
            (36.0, 1),
            (36.1, 0),
            (38.0, 0),
            (38.1, 1),
            (39.0, 1),
            (39.1, 2),
            (42.0, 2),  # fever never scores 3
        ]
    ),
]


@pytest.mark.parametrize(("key", "value", "points"), BAND_EDGES)
def test_band_edges(charts, key, value, points):
    r = news2(charts, {key: value})
    assert r.parameters[key] == points
    assert r.total == points
    assert r.complete


@pytest.mark.parametrize(
    ("level", "points"),
    [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)],
    ids=lambda x: f"acvpu-{x}" if isinstance(x, str) else str(x),
)
def test_acvpu(charts, level, points):
    """SPEC §1.3: alert 0; new confusion, voice, pain, unresponsive 3."""
    r = news2(charts, {"consciousness": level})
    assert r.parameters["consciousness"] == points
    assert r.total == points


# SPEC §1.1 Scale 2 row and §1.2: 88–92 scores 0 on air or oxygen; ≥93 scores 0 on air but
# 1 (93–94), 2 (95–96), 3 (≥97) on oxygen; ≤87 scores the same on air or oxygen.
SCALE_2 = [
    (83, 3, 3),
    (84, 2, 2),
    (85, 2, 2),
    (86, 1, 1),
    (87, 1, 1),
    (88, 0, 0),
    (92, 0, 0),
    (93, 0, 1),
    (94, 0, 1),
    (95, 0, 2),
    (96, 0, 2),
    (97, 0, 3),
    (100, 0, 3),
]


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "points"),
    [
        pytest.param(
            spo2, on, on_o2 if on else on_air, id=f"scale2-spo2-{spo2}-{'o2' if on else 'air'}"
        )
        for spo2, on_air, on_o2 in SCALE_2
        for on in (False, True)
    ],
)
def test_spo2_scale_2(charts, spo2, on_oxygen, points):
    r = news2(charts, {"spo2": spo2, "on_oxygen": on_oxygen}, spo2_scale=2)
    assert r.parameters["spo2"] == points
    assert r.parameters["air_or_oxygen"] == (2 if on_oxygen else 0)
    assert r.total == points + (2 if on_oxygen else 0)
    assert r.spo2_scale == 2


@pytest.mark.parametrize(
    ("spo2", "points"),
    [
        pytest.param(v, p, id=f"scale1-spo2-{v}")
        for v, p in [
            (83, 3),
            (88, 3),
            (91, 3),
            (92, 2),
            (93, 2),
            (94, 1),
            (95, 1),
            (96, 0),
            (97, 0),
        ]
    ],
)
@pytest.mark.parametrize("on_oxygen", [False, True], ids=["air", "o2"])
def test_spo2_scale_1_ignores_oxygen(charts, spo2, points, on_oxygen):
    """SPEC §1.1: Scale 1 has no oxygen condition; the oxygen item adds its own 2."""
    r = news2(charts, {"spo2": spo2, "on_oxygen": on_oxygen}, spo2_scale=1)
    assert r.parameters["spo2"] == points
    assert r.parameters["air_or_oxygen"] == (2 if on_oxygen else 0)
    assert r.spo2_scale == 1


@pytest.mark.parametrize("scale", [1, 2], ids=["scale1", "scale2"])
@pytest.mark.parametrize(
    ("oxygen", "points"),
    [
        pytest.param({"on_oxygen": False}, 0, id="on_oxygen-false"),
        pytest.param({"on_oxygen": True}, 2, id="on_oxygen-true"),
        pytest.param({"on_oxygen": None, "oxygen_device": "air"}, 0, id="device-air"),
        pytest.param({"on_oxygen": None, "oxygen_device": "NP"}, 2, id="device-NP"),
        pytest.param({"on_oxygen": None, "oxygen_device": "FM"}, 2, id="device-FM"),
        pytest.param({"on_oxygen": None, "oxygen_flow_lpm": 2}, 2, id="flow-2"),
    ],
)
def test_oxygen_adds_2_on_both_scales(charts, oxygen, points, scale):
    """SPEC §1.1: any supplemental oxygen adds 2, on both SpO2 scales (SpO2 90: 0 on Scale 2)."""
    changes = {"spo2": 90 if scale == 2 else 97, **oxygen}
    r = news2(charts, changes, spo2_scale=scale)
    assert r.parameters["air_or_oxygen"] == points
    assert r.parameters["spo2"] == 0


def test_scale_2_spo2_97_on_oxygen_scores_5_from_oxygenation(charts):
    """SPEC §1.2 worked examples."""
    on_air = news2(charts, {"spo2": 97, "on_oxygen": False}, spo2_scale=2)
    assert (on_air.parameters["spo2"], on_air.parameters["air_or_oxygen"]) == (0, 0)
    on_o2 = news2(charts, {"spo2": 97, "on_oxygen": True}, spo2_scale=2)
    assert (on_o2.parameters["spo2"], on_o2.parameters["air_or_oxygen"]) == (3, 2)
    assert on_o2.total == 5


# SPEC §0.1 / §1.6 convention A: round half-up, in decimal arithmetic, to the printed precision
# (temperature 0.1 °C, everything else an integer), then look up.
DECIMALS = [
    case("temp", "temperature", 38.05, 1),  # → 38.1
    case("temp", "temperature", 38.04, 0),  # → 38.0
    case("temp", "temperature", 36.04, 1),  # → 36.0
    case("temp", "temperature", 36.05, 0),  # → 36.1 (binary rounding gives 36.0)
    case("temp", "temperature", 35.05, 1),  # → 35.1 (binary rounding gives 35.0)
    case("temp", "temperature", 35.04, 3),  # → 35.0
    case("temp", "temperature", 38.95, 1),  # → 39.0
    case("temp", "temperature", 39.05, 2),  # → 39.1
    case("temp", "temperature", 39.04, 1),  # → 39.0
    case("sbp", "systolic_bp", 110.5, 0),  # → 111
    case("sbp", "systolic_bp", 110.49, 1),  # → 110
    case("sbp", "systolic_bp", 90.5, 2),  # → 91
    case("sbp", "systolic_bp", 90.4, 3),  # → 90
    case("sbp", "systolic_bp", 219.5, 3),  # → 220
    case("sbp", "systolic_bp", 219.49, 0),  # → 219
    case("rr", "resp_rate", 24.5, 3),  # → 25
    case("rr", "resp_rate", 24.49, 2),  # → 24
    case("rr", "resp_rate", 8.5, 1),  # → 9
    case("rr", "resp_rate", 8.49, 3),  # → 8
    case("rr", "resp_rate", 20.5, 2),  # → 21
    case("rr", "resp_rate", 11.5, 0),  # → 12
    case("hr", "heart_rate", 90.5, 1),  # → 91
    case("hr", "heart_rate", 90.49, 0),  # → 90
    case("hr", "heart_rate", 40.5, 1),  # → 41
    case("hr", "heart_rate", 130.5, 3),  # → 131
    case("spo2", "spo2", 91.5, 2),  # → 92
    case("spo2", "spo2", 91.49, 3),  # → 91
    case("spo2", "spo2", 95.5, 0),  # → 96
    case("spo2", "spo2", 95.49, 1),  # → 95
]


@pytest.mark.parametrize(("key", "value", "points"), DECIMALS)
def test_decimals_round_half_up_then_score(charts, key, value, points):
    assert news2(charts, {key: value}).parameters[key] == points


@pytest.mark.parametrize(
    ("spo2", "points"),
    [
        pytest.param(v, p, id=f"scale2-o2-spo2-{v}")
        for v, p in [(92.4, 0), (92.5, 1), (94.5, 2), (96.5, 3), (87.5, 0), (87.49, 1)]
    ],
)
def test_scale_2_on_oxygen_decimals_round_half_up(charts, spo2, points):
    r = news2(charts, {"spo2": spo2, "on_oxygen": True}, spo2_scale=2)
    assert r.parameters["spo2"] == points


# SPEC §1.4 (precedence: total ≥7 high; 5–6 medium; any 3 low-medium; else low) and §1.5
# (monitoring: 0 12-hourly; 1–4 4–6-hourly; single 3 hourly; ≥5 hourly, urgent; ≥7
# continuous, emergency). Next set due: 12 h, 4 h, 1 h (none asserted for continuous).
RISK = [
    pytest.param({}, 0, "low", "12-hourly", 12, None, id="total-0"),
    pytest.param({"heart_rate": 91}, 1, "low", "4-6-hourly", 4, None, id="total-1"),
    pytest.param({"on_oxygen": True}, 2, "low", "4-6-hourly", 4, None, id="total-2-oxygen-not-red"),
    pytest.param(
        {"resp_rate": 21, "spo2": 95, "heart_rate": 91},
        4,
        "low",
        "4-6-hourly",
        4,
        None,
        id="total-4-no-red",
    ),
    pytest.param({"resp_rate": 8}, 3, "low-medium", "hourly", 1, None, id="red-rr-total-3"),
    pytest.param(
        {"consciousness": "C"}, 3, "low-medium", "hourly", 1, None, id="red-confusion-total-3"
    ),
    pytest.param(
        {"temperature": 35.0, "heart_rate": 91},
        4,
        "low-medium",
        "hourly",
        1,
        None,
        id="red-temp-total-4",
    ),
    pytest.param(
        {"systolic_bp": 220, "spo2": 95}, 4, "low-medium", "hourly", 1, None, id="red-sbp-total-4"
    ),
    pytest.param(
        {"resp_rate": 21, "spo2": 93, "heart_rate": 91},
        5,
        "medium",
        "hourly",
        1,
        "urgent",
        id="total-5-no-red",
    ),
    pytest.param(
        {"resp_rate": 25, "spo2": 93}, 5, "medium", "hourly", 1, "urgent", id="red-inside-total-5"
    ),
    pytest.param(
        {"resp_rate": 21, "spo2": 93, "heart_rate": 111},
        6,
        "medium",
        "hourly",
        1,
        "urgent",
        id="total-6",
    ),
    pytest.param(
        {"resp_rate": 25, "heart_rate": 131},
        6,
        "medium",
        "hourly",
        1,
        "urgent",
        id="two-reds-total-6",
    ),
    pytest.param(
        {"resp_rate": 25, "spo2": 93, "on_oxygen": True},
        7,
        "high",
        "continuous",
        None,
        "emergency",
        id="total-7",
    ),
    pytest.param(
        {
            "resp_rate": 25,
            "spo2": 91,
            "on_oxygen": True,
            "systolic_bp": 90,
            "heart_rate": 131,
            "consciousness": "C",
            "temperature": 35.0,
        },
        20,
        "high",
        "continuous",
        None,
        "emergency",
        id="total-20-maximum",
    ),
]


@pytest.mark.parametrize(("changes", "total", "risk", "monitoring", "hours", "response"), RISK)
def test_total_to_risk_monitoring_and_response(
    charts, changes, total, risk, monitoring, hours, response
):
    r = news2(charts, changes)
    assert r.complete
    assert r.total == total
    assert r.risk == risk
    assert r.monitoring == monitoring
    if hours is not None:
        assert r.next_obs_due == OBS_TIME + timedelta(hours=hours)
    if response is not None:
        assert r.response == response


def test_oxygen_uplift_never_makes_a_red_score(charts):
    """SPEC §1.4: the oxygen uplift is 2, never 3, and cannot create a red score by itself."""
    r = news2(charts, {"on_oxygen": True})
    assert r.parameters["air_or_oxygen"] == 2
    assert r.single_parameter_triggers == []
    assert r.risk == "low"
