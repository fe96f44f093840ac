"""The learned risk's features and reasons (surveillance.risk), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scoring import ChartSet, ScoreResult, score
from surveillance.risk import FEATURES, PatientState, features, observe, reasons
from tests.factories import NEWS2_NORMAL, make_ctx, make_obs

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def result(charts: ChartSet, hours: float, source: str = "manual", **vitals: Any) -> ScoreResult:
    when = (T0 + timedelta(hours=hours)).isoformat()
    obs = make_obs(NEWS2_NORMAL | vitals, time=when, msg_id=f"o{hours}", source=source)
    return score(obs, make_ctx(cohort="adult", birth_date="1941-11-22"), charts)


def run(charts: ChartSet, sets: list[tuple[float, dict[str, Any]]], source: str = "manual"):
    state = PatientState(first=T0.timestamp())
    x: dict[str, float] = {}
    for hours, vitals in sets:
        r = result(charts, hours, source, **vitals)
        observe(state, r, source)
        x = features(state, r, make_ctx(cohort="adult", birth_date="1941-11-22"), source)
    return state, x


def test_the_first_set_has_current_values_and_points_but_no_trend(charts: ChartSet) -> None:
    _, x = run(charts, [(0, {"resp_rate": 22})])
    assert x["rr"] == 22
    assert x["pts_resp_rate"] == 2
    assert x["news2"] == 2
    assert x["age"] == 85  # the birthday is the observation's date
    assert x["age_80"] == 1
    assert x["device"] == 0
    assert x["sets_24h"] == 1
    assert not any(k.startswith(("d6_", "d24_", "sd6_")) for k in x)
    assert set(x) <= set(FEATURES)


@pytest.mark.parametrize(
    ("sets", "key", "expected"),
    [
        # the short trend: now against the mean of the points 6 h..1 h before
        ([(0, {"resp_rate": 16}), (5, {"resp_rate": 24})], "d6_rr", 8.0),
        ([(0, {"resp_rate": 16}), (3, {"resp_rate": 20}), (6, {"resp_rate": 26})], "d6_rr", 8.0),
        ([(0, {"spo2": 97}), (4, {"spo2": 92})], "d6_spo2", -5.0),
        # a point less than 1 h before is not a trend
        ([(0, {"resp_rate": 16}), (0.5, {"resp_rate": 24})], "d6_rr", None),
        # a point more than 6 h before is not in the short trend
        ([(0, {"resp_rate": 16}), (7, {"resp_rate": 24})], "d6_rr", None),
        # the long trend: now against the mean of the points 24 h..12 h before
        ([(0, {"heart_rate": 70}), (14, {"heart_rate": 100})], "d24_hr", 30.0),
        ([(0, {"heart_rate": 70}), (11, {"heart_rate": 100})], "d24_hr", None),
        # the NEWS2 total is tracked like a vital: 0 then 3 + 2 (RR 25, HR 115 → 3 + 2)
        ([(0, {}), (4, {"resp_rate": 25, "heart_rate": 115})], "d6_news2", 5.0),
        ([(0, {}), (4, {"resp_rate": 25, "heart_rate": 115})], "news2_max24", 5.0),
        ([(0, {}), (4, {"resp_rate": 25, "heart_rate": 115})], "news2_mean24", 2.5),
        # spread over 6 h needs three points: 16, 20, 24 → population SD sqrt(32/3)
        (
            [(0, {"resp_rate": 16}), (2, {"resp_rate": 20}), (4, {"resp_rate": 24})],
            "sd6_rr",
            (32 / 3) ** 0.5,
        ),
        ([(0, {"resp_rate": 16}), (2, {"resp_rate": 20})], "sd6_rr", None),
        # SpO2 falling on oxygen is its own feature
        (
            [(0, {"spo2": 96}), (3, {"spo2": 92, "on_oxygen": True})],
            "spo2_d6_on_oxygen",
            -4.0,
        ),
        ([(0, {"spo2": 96}), (3, {"spo2": 92})], "spo2_d6_on_oxygen", None),
        ([(0, {}), (3, {}), (20, {})], "sets_24h", 3.0),
        ([(0, {}), (3, {}), (26, {})], "sets_24h", 2.0),
    ],
)
def test_trends_and_spread_worked_by_hand(
    charts: ChartSet, sets: list[tuple[float, dict[str, Any]]], key: str, expected: float | None
) -> None:
    _, x = run(charts, sets)
    if expected is None:
        assert key not in x
    else:
        assert x[key] == pytest.approx(expected)


def test_device_points_are_thinned_and_the_history_keeps_a_day(charts: ChartSet) -> None:
    minutes = [(m / 60, {"heart_rate": 70 + m}) for m in range(60)]
    state, _ = run(charts, minutes, source="wearable")
    assert [p[1] for p in state.series["hr"]] == [70, 80, 90, 100, 110, 120]
    state, _ = run(charts, [(0, {}), (10, {}), (30, {})])
    assert [p[0] for p in state.series["rr"]] == [
        (T0 + timedelta(hours=h)).timestamp() for h in (10, 30)
    ]
    assert state.sets == [(T0 + timedelta(hours=h)).timestamp() for h in (10, 30)]


def test_a_late_reading_does_not_rewrite_the_history(charts: ChartSet) -> None:
    state, _ = run(charts, [(2, {"resp_rate": 20}), (1, {"resp_rate": 30})])
    assert [p[1] for p in state.series["rr"]] == [20]


@pytest.mark.parametrize(
    ("contributions", "x", "scaled", "expected"),
    [
        (
            {"d6_rr": 0.9, "age": 0.5, "hr": -2.0, "spo2": 0.1, "temp": 0.05},
            {"d6_rr": 6.0, "age": 85.0, "hr": 130.0, "spo2": 91.0, "temp": 37.0},
            {"d6_rr": 2.0, "age": 1.5, "hr": 3.0, "spo2": -2.0, "temp": 0.0},
            ["respiratory rate rising over 6 h", "aged 80–89", "SpO2 low (91 %)"],
        ),
        (
            {"spo2_d6_on_oxygen": 0.7, "d6_spo2": 0.6},
            {"spo2_d6_on_oxygen": -3.0, "d6_spo2": -3.0, "on_oxygen": 1.0},
            {"spo2_d6_on_oxygen": -1.0, "d6_spo2": -1.0},
            ["SpO2 falling on oxygen", "SpO2 falling over 6 h on oxygen"],
        ),
        ({"hr": -0.2, "age": 0.0}, {"hr": 50.0, "age": 40.0}, {"hr": -1.0, "age": -1.0}, []),
        (
            {"pts_resp_rate": 0.4, "sbp": 0.3, "hours_since_set": 0.2, "not_alert": 0.1},
            {"pts_resp_rate": 3.0, "sbp": 88.0, "hours_since_set": 7.5, "not_alert": 1.0},
            {"pts_resp_rate": 2.0, "sbp": -2.0, "hours_since_set": 1.0, "not_alert": 4.0},
            [
                "NEWS2 respiratory rate 3 points",
                "systolic BP low (88 mmHg)",
                "7.5 h since the last full set",
            ],
        ),
    ],
)
def test_reasons_are_the_largest_upward_contributions_in_words(
    contributions: dict[str, float],
    x: dict[str, float],
    scaled: dict[str, float],
    expected: list[str],
) -> None:
    assert reasons(contributions, x, scaled) == expected


def test_every_feature_has_words() -> None:
    for name in FEATURES:
        for value in (-1.0, 1.0):
            (phrase,) = reasons({name: 1.0}, {name: value, "on_oxygen": 1.0}, {name: value})
            assert phrase
            assert phrase != name


@pytest.mark.parametrize(
    ("name", "value", "scaled", "expected"),
    [
        ("sets_24h", 1.0, -1.0, "only 1 full set in 24 h"),
        ("sets_24h", 9.0, 2.0, "9 full sets in 24 h"),
        ("news2_max24", 0.0, -1.0, "NEWS2 no higher than 0 in 24 h"),
        ("news2_max24", 7.0, 2.0, "NEWS2 up to 7 in the last 24 h"),
        ("age", 85.0, 1.0, "aged 80–89"),
        ("age", 93.0, 1.0, "aged 90 or over"),
        ("age", 40.0, 1.0, "aged 40–49"),
        ("d24_temp", 1.2, 1.0, "temperature rising over 24 h"),
    ],
)
def test_a_reason_says_which_way_the_value_lies(
    name: str, value: float, scaled: float, expected: str
) -> None:
    assert reasons({name: 0.5}, {name: value}, {name: scaled}) == [expected]
