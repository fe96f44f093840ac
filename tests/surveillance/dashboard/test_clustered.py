"""The equity intervals clustered by patient: the ratio estimator's linearised variance, worked
by hand, and the dashboard showing the union of it and the item-level interval."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveillance.dashboard import (
    HOSPITAL,
    Z95,
    Dashboard,
    EquityRow,
    Moments,
    clustered,
    dashboard_from_sums,
    rate_interval,
    widest,
    wilson,
    window_sums,
)
from surveillance.store import DashboardItem, DashboardStay
from tests.surveillance.dashboard.builder import T0

DAY_MICROS = 86_400_000_000


def test_moments_of_patients():
    assert Moments.of([(1, 2), (3, 4), (0, 4)]) == Moments(3, 4, 10, 10, 14, 36)
    assert Moments.of([]) == Moments(0, 0, 0, 0, 0, 0)


# (patients' (y, x), per, cap, expected interval or None), worked by hand:
# - (10, 10), (0, 10): R = 0.5, residuals +5, -5, Var = 2/1 * 50 / 20^2 = 0.25, se 0.5.
# - (1, 2), (3, 4), (0, 4): R = 0.4, residuals 0.2, 1.4, -1.6, Var = 3/2 * 4.56 / 100.
# - (5, 10), (5, 10): every patient at R: se 0, the interval is the point.
HAND = [
    ([(10, 10), (0, 10)], 1.0, None, (0.0, 0.5 + Z95 * 0.5)),
    ([(10, 10), (0, 10)], 100.0, 100.0, (0.0, 100.0)),  # clipped to [0, per]
    ([(1, 2), (3, 4), (0, 4)], 1.0, None, (0.0, 0.4 + Z95 * math.sqrt(1.5 * 4.56 / 100))),
    ([(5, 10), (5, 10)], 100.0, 100.0, (50.0, 50.0)),
    ([(40, 10)], 100.0, None, None),  # one patient: no clustered interval
    ([], 100.0, None, None),
    ([(0, 0), (0, 0)], 100.0, None, None),  # no denominator
]


@pytest.mark.parametrize(("pairs", "per", "cap", "expected"), HAND)
def test_clustered_interval_worked_by_hand(pairs, per, cap, expected):
    got = clustered(Moments.of(pairs), per, cap=cap)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-9)


def test_three_patients_near_the_cap():
    # (8, 10), (9, 10), (7, 10): R = 0.8, residuals 0, 1, -1: Var = 3/2 * 2 / 900 = 1/300.
    low, high = clustered(Moments.of([(8, 10), (9, 10), (7, 10)]), 1.0, cap=1.0)  # type: ignore[misc]
    assert low == pytest.approx(0.8 - Z95 * math.sqrt(1 / 300))
    assert high == pytest.approx(0.8 + Z95 * math.sqrt(1 / 300))


def test_the_unit_converts_microseconds_to_days():
    days = clustered(Moments.of([(3, 2), (0, 5), (1, 1)]), 100.0)
    micros = clustered(
        Moments.of([(3, 2 * DAY_MICROS), (0, 5 * DAY_MICROS), (1, DAY_MICROS)]), 100.0, DAY_MICROS
    )
    assert micros == pytest.approx(days)


def test_one_patient_with_many_items_is_wide_and_one_item_each_is_about_wilson():
    # 30 of 100 items: from 100 patients with one each, and from 4 patients with 25 each.
    many = Moments.of([(1, 1)] * 30 + [(0, 1)] * 70)
    few = Moments.of([(25, 25), (5, 25), (0, 25), (0, 25)])
    w = wilson(30, 100)
    spread = clustered(many, 1.0, cap=1.0)
    assert spread == pytest.approx(w, abs=0.01)  # Wald's, the same to within 0.01
    assert widest(w, spread) == pytest.approx(w, abs=0.01)
    wide = clustered(few, 1.0, cap=1.0)
    assert wide is not None
    assert wide[1] - wide[0] > 3 * (w[1] - w[0])
    assert widest(w, wide) == wide


def test_widest_is_the_union():
    assert widest((1.0, 2.0), None) == (1.0, 2.0)
    assert widest((1.0, 2.0), (0.5, 1.5)) == (0.5, 2.0)
    assert widest((1.0, 2.0), (1.2, 3.0)) == (1.0, 3.0)


def test_negative_moments_are_refused():
    with pytest.raises(ValueError, match="negative"):
        clustered(Moments(2, -1, 3, 1, 1, 5), 100.0)


pairs_st = st.lists(st.tuples(st.integers(0, 50), st.integers(1, 50)), min_size=2, max_size=30)


@given(pairs_st, st.randoms(use_true_random=False))
def test_the_interval_holds_the_ratio_whatever_the_order(pairs, rnd):
    m = Moments.of(pairs)
    got = clustered(m, 100.0)
    assert got is not None
    ratio = 100.0 * m.y / m.x
    assert got[0] <= ratio + 1e-9 <= got[1] + 2e-9
    assert got[0] >= 0
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    assert clustered(Moments.of(shuffled), 100.0) == got


# The dashboard: a group whose items come from two patients.

TZ = ZoneInfo("Europe/London")
RATE = "alerts_score_per_100_patient_days"
PROPORTION = "escalation_ack_in_target"


def _item(
    patient: str, ethnicity: str, measure: str, hours: float, numerator: float, denominator: float
) -> DashboardItem:
    return DashboardItem(
        patient_id=patient, measure=measure, time=T0 + timedelta(hours=hours), decided=None,
        ward="A", hospital=True, numerator=numerator, denominator=denominator, value=None,
        sex="female", ethnicity=ethnicity, age="45-64", imd="Q3", needs=0,
    )  # fmt: skip


def _stay(patient: str, ethnicity: str) -> DashboardStay:
    return DashboardStay(
        patient_id=patient, ward="A", start=T0, end=T0 + timedelta(days=10), sex="female",
        ethnicity=ethnicity, age="45-64", imd="Q3", needs=0,
    )  # fmt: skip


def _board(items: list[DashboardItem], stays: list[DashboardStay]) -> Dashboard:
    since, until = T0, T0 + timedelta(days=10)
    sums = window_sums(items, stays, ["A"], since, until)
    return dashboard_from_sums(sums, since=since, until=until, period="week", tz=TZ, suppress=False)


def _row(board: Dashboard, measure: str, group: str) -> EquityRow:
    m = next(m for m in board.measures if m.id == measure)
    scope = next(s for s in m.scopes if s.scope == HOSPITAL)
    return next(r for r in scope.equity if r.dimension == "ethnicity" and r.group == group)


def _ci(row: EquityRow) -> tuple[float, float]:
    low, high = row.ci_low, row.ci_high
    assert isinstance(low, int | float)
    assert isinstance(high, int | float)
    return float(low), float(high)


def test_a_group_of_two_patients_gets_a_wider_interval_than_its_items_alone():
    rng = random.Random(16)  # noqa: S311 (test data)
    items, stays = [], []
    # Asian: two patients, 10 days each; one alerts 40 times, the other never. 12 of their 24
    # escalations are acknowledged in time, all of them the first patient's.
    stays += [_stay("a1", "Asian"), _stay("a2", "Asian")]
    items += [_item("a1", "Asian", RATE, rng.uniform(0, 239), 1, 0) for _ in range(40)]
    items += [_item("a1", "Asian", PROPORTION, h, 1, 1) for h in range(12)]
    items += [_item("a2", "Asian", PROPORTION, h, 0, 1) for h in range(12)]
    # White: 40 patients, one alert and one escalation (half in time) each.
    for i in range(40):
        stays.append(_stay(f"w{i}", "White"))
        items.append(_item(f"w{i}", "White", RATE, rng.uniform(0, 239), 1, 0))
        items.append(_item(f"w{i}", "White", PROPORTION, i, i % 2, 1))
    board = _board(items, stays)

    rate = _row(board, RATE, "Asian")
    assert (rate.numerator, rate.denominator) == (40, 20)
    before = rate_interval(40, 20.0, 100.0)
    # R = 2 a day, residuals +20 and -20: Var = 2 * 800 / 20^2 = 4, se 2 a day (200 per 100).
    assert rate.value == 200
    assert (rate.ci_low, rate.ci_high) == (0, round(200 + Z95 * 200, 4))
    assert _ci(rate)[1] > round(before[1], 4)

    prop = _row(board, PROPORTION, "Asian")
    low, high = wilson(12, 24)
    assert (prop.ci_low, prop.ci_high) == (0, 100)  # 50 +- 1.96 * 50 * sqrt(2): clipped
    assert _ci(prop)[0] < round(100 * low, 4)
    assert _ci(prop)[1] > round(100 * high, 4)

    # 40 patients of one item each: about Wilson's (the clustered one is Wald's, times
    # sqrt(40/39), a little wider at 50 %).
    white = _row(board, PROPORTION, "White")
    w_low, w_high = wilson(20, 40)
    half = Z95 * math.sqrt(40 / 39 * 0.25 / 40)
    assert (white.ci_low, white.ci_high) == (
        round(100 * (0.5 - half), 4),
        round(100 * (0.5 + half), 4),
    )
    assert white.ci_low == pytest.approx(100 * w_low, abs=1)
    assert white.ci_high == pytest.approx(100 * w_high, abs=1)
    # The hospital's total beside the table is clustered too: the two Asian patients widen it.
    m = next(m for m in board.measures if m.id == RATE)
    total = next(s for s in m.scopes if s.scope == HOSPITAL)
    plain = rate_interval(80, 420.0, 100.0)
    assert total.ci_high is not None
    assert total.ci_high > round(plain[1], 4)
