"""Every band edge of every chart, both sides, against SPEC.md's printed tables.

The tables below are typed from shared/clinical/SPEC.md (§1.1, §2.2–2.5, §3b, §3c), not from
scoring/charts/*.toml, so a slip in a chart file fails here. Each band is (low, high, points)
in the SPEC's integer (or 0.1 °C) form; None is open-ended. Both ends of every band are
tested, which tests both sides of every boundary.
"""

from __future__ import annotations

import pytest

from scoring import InvalidObservation, score
from tests.factories import NEWS2_NORMAL, PEWS_NORMAL_5_12Y, make_ctx, make_obs

Band = tuple[float | None, float | None, int]
# Plausible extremes stand in for open ends.
EXTREMES = {
    "resp_rate": (1, 70),
    "spo2": (10, 100),  # plausibility.toml: below 10 % is refused (a fraction, not a %)
    "systolic_bp": (2, 399),
    "diastolic_bp": (1, 299),
    "heart_rate": (1, 300),
    "temperature": (11.0, 49.9),
    "crt_seconds": (0, 20),
}

NEWS2: dict[str, list[Band]] = {
    "resp_rate": [(None, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, None, 3)],
    "systolic_bp": [(None, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, None, 3)],
    "heart_rate": [
        (None, 40, 3),
        (41, 50, 1),
        (51, 90, 0),
        (91, 110, 1),
        (111, 130, 2),
        (131, None, 3),
    ],
    "temperature": [
        (None, 35.0, 3),
        (35.1, 36.0, 1),
        (36.1, 38.0, 0),
        (38.1, 39.0, 1),
        (39.1, None, 2),
    ],
}
NEWS2_SPO2: dict[tuple[int, bool], list[Band]] = {
    (1, False): [(None, 91, 3), (92, 93, 2), (94, 95, 1), (96, None, 0)],
    (1, True): [(None, 91, 3), (92, 93, 2), (94, 95, 1), (96, None, 0)],
    (2, False): [(None, 83, 3), (84, 85, 2), (86, 87, 1), (88, None, 0)],
    (2, True): [
        (None, 83, 3),
        (84, 85, 2),
        (86, 87, 1),
        (88, 92, 0),
        (93, 94, 1),
        (95, 96, 2),
        (97, None, 3),
    ],
}
PEWS: dict[str, dict[str, list[Band]]] = {
    "0-11m": {
        "resp_rate": [
            (None, 9, 4),
            (10, 19, 2),
            (20, 29, 1),
            (30, 49, 0),
            (50, 59, 1),
            (60, 69, 2),
            (70, 120, 4),
        ],
        "heart_rate": [
            (None, 79, 4),
            (80, 89, 2),
            (90, 109, 1),
            (110, 149, 0),
            (150, 169, 1),
            (170, 179, 2),
            (180, None, 4),
        ],
        "systolic_bp": [
            (None, 49, 4),
            (50, 59, 2),
            (60, 69, 1),
            (70, 89, 0),
            (90, 99, 1),
            (100, 109, 2),
            (110, None, 4),
        ],
    },
    "1-4y": {
        "resp_rate": [
            (None, 9, 4),
            (10, 19, 2),
            (20, 39, 0),
            (40, 49, 1),
            (50, 59, 2),
            (60, 120, 4),
        ],
        "heart_rate": [
            (None, 59, 4),
            (60, 69, 2),
            (70, 89, 1),
            (90, 139, 0),
            (140, 149, 1),
            (150, 169, 2),
            (170, None, 4),
        ],
        "systolic_bp": [
            (None, 49, 4),
            (50, 59, 2),
            (60, 79, 1),
            (80, 99, 0),
            (100, 119, 1),
            (120, 129, 2),
            (130, None, 4),
        ],
    },
    "5-12y": {
        "resp_rate": [
            (None, 9, 4),
            (10, 14, 2),
            (15, 19, 1),
            (20, 24, 0),
            (25, 39, 1),
            (40, 49, 2),
            (50, 120, 4),
        ],
        "heart_rate": [
            (None, 59, 4),
            (60, 69, 2),
            (70, 79, 1),
            (80, 119, 0),
            (120, 139, 1),
            (140, 159, 2),
            (160, None, 4),
        ],
        "systolic_bp": [
            (None, 69, 4),
            (70, 79, 2),
            (80, 89, 1),
            (90, 109, 0),
            (110, 119, 1),
            (120, 129, 2),
            (130, None, 4),
        ],
    },
    "13+y": {
        "resp_rate": [
            (None, 9, 4),
            (10, 14, 1),
            (15, 24, 0),
            (25, 29, 1),
            (30, 39, 2),
            (40, 120, 4),
        ],
        "heart_rate": [
            (None, 49, 4),
            (50, 59, 2),
            (60, 69, 1),
            (70, 99, 0),
            (100, 119, 1),
            (120, 129, 2),
            (130, None, 4),
        ],
        "systolic_bp": [
            (None, 79, 4),
            (80, 89, 2),
            (90, 99, 1),
            (100, 119, 0),
            (120, 129, 1),
            (130, 139, 2),
            (140, None, 4),
        ],
    },
}
PEWS_ALL_AGES: dict[str, list[Band]] = {
    "spo2": [(None, 91, 4), (92, 94, 1), (95, None, 0)],
    "crt_seconds": [(None, 2, 0), (3, None, 2)],
}
MEOWS: dict[str, list[Band]] = {
    "resp_rate": [(None, 10, 8), (11, 20, 0), (21, 30, 2), (31, None, 8)],
    "heart_rate": [(None, 40, 8), (41, 60, 2), (61, 100, 0), (101, 120, 2), (121, None, 8)],
    "systolic_bp": [(None, 89, 8), (90, 100, 2), (101, 150, 0), (151, 160, 2), (161, None, 8)],
    "diastolic_bp": [(None, 39, 2), (40, 100, 0), (101, 110, 2), (111, None, 8)],
    "spo2": [(None, 91, 8), (92, 95, 2), (96, None, 0)],
    "temperature": [(None, 35.4, 2), (35.5, 37.5, 0), (37.6, 38.0, 2), (38.1, None, 8)],
}
SUBBE: dict[str, list[Band]] = {
    "systolic_bp": [(None, 70, 3), (71, 80, 2), (81, 100, 1), (101, 199, 0), (200, None, 2)],
    "heart_rate": [
        (None, 40, 2),
        (41, 50, 1),
        (51, 100, 0),
        (101, 110, 1),
        (111, 129, 2),
        (130, None, 3),
    ],
    "resp_rate": [(None, 8, 2), (9, 14, 0), (15, 20, 1), (21, 29, 2), (30, None, 3)],
    "temperature": [(None, 34.9, 2), (35.0, 38.4, 0), (38.5, None, 2)],
}


def edges(key: str, bands: list[Band]) -> list[tuple[float, int]]:
    """Both ends of every band, with open ends at the plausible extremes."""
    low_extreme, high_extreme = EXTREMES[key]
    out = []
    for low, high, points in bands:
        out.append((low_extreme if low is None else low, points))
        out.append((high_extreme if high is None else high, points))
    return out


def cases(chart: str, table: dict[str, list[Band]]) -> list[object]:
    return [
        pytest.param(chart, key, value, points, id=f"{chart}-{key}-{value:g}")
        for key, bands in table.items()
        for value, points in edges(key, bands)
    ]


ALL_CASES = [
    *cases("news2", NEWS2),
    *cases("meows-send", MEOWS),
    *cases("mews-subbe-2001", SUBBE),
    *(c for age, table in PEWS.items() for c in cases(f"pews-nhse-2023-{age}", table)),
    *(c for age in PEWS for c in cases(f"pews-nhse-2023-{age}", PEWS_ALL_AGES)),
]


@pytest.mark.parametrize(("chart", "key", "value", "points"), ALL_CASES)
def test_band_edge(charts, chart, key, value, points):
    result = score(make_obs({key: value}), make_ctx(chart=chart), charts)
    assert result.parameters[key] == points


@pytest.mark.parametrize(
    ("scale", "on_oxygen", "value", "points"),
    [
        pytest.param(
            scale, oxygen, value, points, id=f"scale{scale}-{'o2' if oxygen else 'air'}-{value:g}"
        )
        for (scale, oxygen), bands in NEWS2_SPO2.items()
        for value, points in edges("spo2", bands)
    ],
)
def test_news2_spo2_scales(charts, scale, on_oxygen, value, points):
    vitals = {"spo2": value, "on_oxygen": on_oxygen}
    result = score(make_obs(vitals), make_ctx(cohort="adult", spo2_scale=scale), charts)
    assert result.parameters["spo2"] == points
    assert result.parameters["air_or_oxygen"] == (2 if on_oxygen else 0)  # on both scales


@pytest.mark.parametrize(
    ("chart", "letter", "points"),
    [
        *[("news2", c, p) for c, p in {"A": 0, "C": 3, "V": 3, "P": 3, "U": 3}.items()],
        *[("meows-send", c, p) for c, p in {"A": 0, "C": 2, "V": 8, "P": 8, "U": 8}.items()],
        *[
            ("mews-subbe-2001", c, p)
            for c, p in {"A": 0, "V": 1, "P": 2, "U": 3, "C": None}.items()
        ],
    ],
)
def test_consciousness(charts, chart, letter, points):
    obs, ctx = make_obs({"consciousness": letter}), make_ctx(chart=chart)
    if points is None:
        with pytest.raises(InvalidObservation):
            score(obs, ctx, charts)
    else:
        assert score(obs, ctx, charts).parameters["consciousness"] == points


PEWS_5_12 = make_ctx(chart="pews-nhse-2023-5-12y")


@pytest.mark.parametrize(
    ("vitals", "key", "points"),
    [
        ({"resp_distress": "none"}, "resp_distress", 0),
        ({"resp_distress": "mild"}, "resp_distress", 1),
        ({"resp_distress": "moderate"}, "resp_distress", 2),
        ({"resp_distress": "severe"}, "resp_distress", 4),
        ({"bp_code": "NCO"}, "systolic_bp", 0),
        ({"bp_code": "U0"}, "systolic_bp", 0),
        ({"bp_code": "U4"}, "systolic_bp", 4),
        *[({"oxygen_device": d}, "oxygen", 4) for d in ("HF", "CP", "BiP")],
        *[
            ({"oxygen_device": "FM", "oxygen_percent": v}, "oxygen", p)
            for v, p in [
                (15, 1),
                (16, 1),
                (29, 1),
                (29.99, 1),
                (30, 2),
                (49, 2),
                (49.99, 2),
                (50, 4),
                (100, 4),
            ]
        ],
        *[
            ({"oxygen_device": "NP", "oxygen_flow_lpm": v}, "oxygen", p)
            for v, p in [(0.01, 1), (1.99, 1), (2, 2), (5.99, 2), (6, 4), (15, 4)]
        ],
        # Between printed bands PEWS takes the worse band (SPOT C1.4).
        ({"resp_rate": 14.995}, "resp_rate", 2),
        ({"resp_rate": 19.5}, "resp_rate", 1),
        ({"spo2": 91.005}, "spo2", 4),
        ({"spo2": 94.995}, "spo2", 1),
        ({"crt_seconds": 2.5}, "crt_seconds", 2),
        ({"heart_rate": 119.995}, "heart_rate", 1),
    ],
)
def test_pews_categories_oxygen_and_worse_band(charts, vitals, key, points):
    assert score(make_obs(vitals), PEWS_5_12, charts).parameters[key] == points


@pytest.mark.parametrize(
    ("key", "value", "points"),
    [
        ("temperature", 38.05, 1),  # → 38.1
        ("temperature", 38.04, 0),  # → 38.0
        ("temperature", 36.04, 1),  # → 36.0
        ("temperature", 35.05, 1),  # → 35.1 in decimal (binary rounding gives 35.0 → 3)
        ("temperature", 35.04, 3),
        ("systolic_bp", 110.5, 0),  # → 111
        ("systolic_bp", 110.49, 1),
        ("resp_rate", 24.5, 3),  # → 25
        ("heart_rate", 90.5, 1),  # → 91
    ],
)
def test_news2_decimals_round_half_up(charts, key, value, points):
    assert score(make_obs({key: value}), make_ctx(cohort="adult"), charts).parameters[key] == points


def _news2(**changes: object) -> dict[str, object]:
    return {**NEWS2_NORMAL, **changes}


@pytest.mark.parametrize(
    ("vitals", "total", "risk", "monitoring", "response", "hours"),
    [
        (_news2(), 0, "low", "12-hourly", "routine", 12),
        (_news2(temperature=38.5), 1, "low", "4-6-hourly", "ward", 4),
        (_news2(resp_rate=22, spo2=94, temperature=38.5), 4, "low", "4-6-hourly", "ward", 4),
        (_news2(resp_rate=26), 3, "low-medium", "hourly", "urgent-ward", 1),
        (_news2(resp_rate=26, heart_rate=95), 4, "low-medium", "hourly", "urgent-ward", 1),
        (
            _news2(resp_rate=22, systolic_bp=105, heart_rate=95, temperature=38.5),
            5,
            "medium",
            "hourly",
            "urgent",
            1,
        ),
        (
            _news2(resp_rate=26, heart_rate=95, temperature=38.5),
            5,
            "medium",
            "hourly",
            "urgent",
            1,
        ),  # red inside 5
        (
            _news2(resp_rate=22, spo2=94, systolic_bp=105, heart_rate=95, temperature=38.5),
            6,
            "medium",
            "hourly",
            "urgent",
            1,
        ),
        (
            _news2(resp_rate=26, systolic_bp=100, heart_rate=115),
            7,
            "high",
            "continuous",
            "emergency",
            0.5,
        ),
        (_news2(consciousness="C"), 3, "low-medium", "hourly", "urgent-ward", 1),
    ],
)
def test_news2_risk_precedence_monitoring_and_next_due(
    charts, vitals, total, risk, monitoring, response, hours
):
    obs = make_obs(vitals)
    result = score(obs, make_ctx(cohort="adult"), charts)
    assert (result.total, result.risk, result.monitoring, result.response) == (
        total,
        risk,
        monitoring,
        response,
    )
    assert result.next_obs_due is not None
    assert (result.next_obs_due - obs.time).total_seconds() == hours * 3600


def _pews(**changes: object) -> dict[str, object]:
    return {**PEWS_NORMAL_5_12Y, **changes}


@pytest.mark.parametrize(
    ("vitals", "total", "risk"),
    [
        (_pews(), 0, "none"),
        (_pews(resp_distress="mild"), 1, "low"),
        (_pews(resp_distress="severe"), 4, "low"),
        (_pews(resp_distress="severe", spo2=93), 5, "medium"),
        (_pews(resp_distress="severe", spo2=90), 8, "medium"),
        (_pews(resp_distress="severe", spo2=90, resp_rate=28), 9, "high"),
        (_pews(resp_distress="severe", spo2=90, heart_rate=170), 12, "high"),
        (_pews(resp_distress="severe", spo2=90, heart_rate=170, resp_rate=28), 13, "emergency"),
        (_pews(consciousness="V"), 0, "high"),
        (_pews(consciousness="P"), 0, "emergency"),
        (_pews(consciousness="U"), 0, "emergency"),
        (_pews(concern="high"), 0, "high"),
        (
            _pews(resp_distress="severe", spo2=90, heart_rate=170, resp_rate=28, consciousness="V"),
            13,
            "emergency",
        ),
    ],
)
def test_pews_escalation_is_the_highest_of_score_and_triggers(charts, vitals, total, risk):
    result = score(make_obs(vitals), PEWS_5_12, charts)
    assert (result.total, result.risk) == (total, risk)


@pytest.mark.parametrize(
    ("temperature", "prompted"), [(38.0, True), (37.9, False), (36.0, False), (35.9, True)]
)
def test_pews_think_sepsis_by_temperature(charts, temperature, prompted):
    result = score(make_obs(_pews(temperature=temperature)), PEWS_5_12, charts)
    assert ("think-sepsis" in result.prompts) == prompted
    assert result.total == 0  # temperature is not in the PEWS total


@pytest.mark.parametrize(
    ("vitals", "risk", "minutes"),
    [
        ({"resp_rate": 16}, "low", 720),
        ({"heart_rate": 55}, "low-medium", 60),  # 2
        ({"heart_rate": 55, "resp_rate": 25}, "medium", 30),  # 4
        ({"heart_rate": 55, "resp_rate": 25, "spo2": 94}, "medium", 30),  # 6
        ({"heart_rate": 55, "resp_rate": 25, "spo2": 94, "temperature": 35.0}, "high", 30),  # 8
        ({"resp_rate": 16, "concern": True}, "high", 30),
    ],
)
def test_meows_severity_and_intervals(charts, vitals, risk, minutes):
    obs = make_obs(vitals)
    result = score(obs, make_ctx(cohort="maternity"), charts)
    assert result.risk == risk
    assert result.next_obs_due is not None
    assert (result.next_obs_due - obs.time).total_seconds() == minutes * 60


@pytest.mark.parametrize(("heart_rate", "resp_rate", "risk"), [(111, 21, "low"), (130, 21, "high")])
def test_subbe_trigger_at_five(charts, heart_rate, resp_rate, risk):
    result = score(
        make_obs({"heart_rate": heart_rate, "resp_rate": resp_rate}),
        make_ctx(chart="mews-subbe-2001"),
        charts,
    )
    assert result.risk == risk
    assert result.next_obs_due is None  # Subbe sets no interval
