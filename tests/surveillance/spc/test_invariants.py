"""Properties every chart has, whatever the series (Hypothesis)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple
from fractions import Fraction
from itertools import pairwise
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from surveillance.spc import Chart, GroupLimits, Point, xmr_chart
from surveillance.spc.limits import r_mean, r_mean_exact

IMPROVEMENTS = st.sampled_from(["increase", "decrease", "neutral"])

# values as measures come: counts, rates with a decimal or two, and any double
values = st.one_of(
    st.integers(-50, 50).map(float),
    st.integers(-500, 500).map(lambda k: k / 10),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
ys_lists = st.one_of(
    st.lists(values, min_size=2, max_size=40),
    # few distinct values: ties with neighbours and with the mean
    st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=2, max_size=40),
)


def series(ys: Sequence[float]) -> list[Point]:
    return [Point(str(i + 1), y) for i, y in enumerate(ys)]


def chart(ys: Sequence[float], **options: Any) -> Chart:
    return xmr_chart(series(ys), **options)


def same_limits(a: GroupLimits, b: GroupLimits) -> bool:
    """Equal field by field, NaN equal to NaN (a group with no moving range)."""
    return all(
        x == y or (math.isnan(x) and math.isnan(y))
        for x, y in zip(astuple(a), astuple(b), strict=True)
    )


@settings(max_examples=150)
@given(ys_lists, IMPROVEMENTS, st.booleans())
def test_limits_are_symmetric_about_the_mean(ys, improvement, screen):
    c = chart(ys, improvement=improvement, screen_outliers=screen)
    for g in c.groups:
        lim = g.limits
        if math.isnan(lim.mean_moving_range):
            continue
        assert lim.lpl <= lim.near_lpl <= lim.mean <= lim.near_upl <= lim.upl
        half = 2.66 * lim.mean_moving_range
        assert math.isclose(lim.upl - lim.mean, half, rel_tol=1e-9, abs_tol=1e-9 * abs(lim.mean))
        assert math.isclose(lim.mean - lim.lpl, half, rel_tol=1e-9, abs_tol=1e-9 * abs(lim.mean))


@settings(max_examples=150)
@given(ys_lists, IMPROVEMENTS, st.booleans())
def test_flags_agree_with_each_other(ys, improvement, screen):
    c = chart(ys, improvement=improvement, screen_outliers=screen)
    for p in c.points:
        assert p.special_cause == (p.rule is not None) == (p.point_type != "common_cause")
        assert (p.rule == "outside-limits") == p.outside_limits
        assert not (p.outside_limits and p.close_to_limits)
        if p.outside_limits or p.close_to_limits or p.rule in ("shift", "two-in-three"):
            assert p.relative_to_mean != 0
        if p.rule == "two-in-three":
            assert p.close_to_limits
        if p.lpl is not None and p.upl is not None:
            assert p.outside_limits == (p.y > p.upl or p.y < p.lpl)
            assert p.relative_to_mean == (p.y > p.mean) - (p.y < p.mean)
        if improvement == "neutral":
            assert p.point_type in (
                "common_cause",
                "special_cause_neutral_high",
                "special_cause_neutral_low",
            )
        else:
            assert "neutral" not in p.point_type
    assert c.variation == c.points[-1].point_type


@settings(max_examples=150)
@given(ys_lists)
def test_each_trend_point_is_in_seven_strictly_monotone_points(ys):
    c = chart(ys)
    for i, p in enumerate(c.points):
        if p.rule != "trend":
            continue
        windows = [ys[s : s + 7] for s in range(max(0, i - 6), min(i, len(ys) - 7) + 1)]
        assert any(
            all(a < b for a, b in pairwise(w)) or all(a > b for a, b in pairwise(w))
            for w in windows
        )


@settings(max_examples=150)
@given(ys_lists)
def test_each_shift_point_is_in_seven_on_one_side(ys):
    c = chart(ys)
    signs = [p.relative_to_mean for p in c.points]
    for i, p in enumerate(c.points):
        if p.rule != "shift":
            continue
        windows = [signs[s : s + 7] for s in range(max(0, i - 6), min(i, len(ys) - 7) + 1)]
        assert any(len(set(w)) == 1 and w[0] != 0 for w in windows)


@settings(max_examples=100)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(2, 40), IMPROVEMENTS, st.booleans())
def test_no_special_cause_in_a_constant_series(y, n, improvement, screen):
    c = chart([y] * n, improvement=improvement, screen_outliers=screen)
    assert not any(p.special_cause for p in c.points)
    assert c.variation == "common_cause"


@settings(max_examples=150)
@given(ys_lists, IMPROVEMENTS, st.booleans(), st.integers(-20, 20))
def test_scaling_by_a_power_of_two_scales_the_limits_and_keeps_the_flags(
    ys, improvement, screen, k
):
    """Every step (sums, means, products, comparisons) is exact under a power-of-two scale."""
    scale = 2.0**k
    a = chart(ys, improvement=improvement, screen_outliers=screen)
    b = chart([y * scale for y in ys], improvement=improvement, screen_outliers=screen)
    for p, q in zip(a.points, b.points, strict=True):
        assert q.mean == p.mean * scale
        assert (q.lpl, q.upl) == (
            None if p.lpl is None else p.lpl * scale,
            None if p.upl is None else p.upl * scale,
        )
        assert (q.outside_limits, q.close_to_limits, q.relative_to_mean, q.rule, q.point_type) == (
            p.outside_limits, p.close_to_limits, p.relative_to_mean, p.rule, p.point_type,
        )  # fmt: skip


@settings(max_examples=150)
@given(
    st.lists(st.integers(-1000, 1000).map(float), min_size=2, max_size=40),
    st.integers(-(10**6), 10**6),
)
def test_adding_a_constant_shifts_the_chart(ys, c):
    """Integer data: every mean moves by exactly c and the flags stay, unless a point lies within
    rounding of a limit (R's arithmetic is in doubles, so that could go either way)."""
    a = chart(ys, improvement="increase")
    b = chart([y + c for y in ys], improvement="increase")
    for ga, gb in zip(a.groups, b.groups, strict=True):
        la, lb = ga.limits, gb.limits
        assert lb.mean_moving_range == la.mean_moving_range or (
            math.isnan(la.mean_moving_range) and math.isnan(lb.mean_moving_range)
        )
        assert math.isclose(lb.mean, la.mean + c, rel_tol=0, abs_tol=1e-6)
        edges = (la.lpl, la.upl, la.near_lpl, la.near_upl)
        assume(all(not math.isclose(y, e, rel_tol=0, abs_tol=1e-6) for y in ys for e in edges))
    for p, q in zip(a.points, b.points, strict=True):
        assert (q.outside_limits, q.close_to_limits, q.relative_to_mean, q.rule, q.point_type) == (
            p.outside_limits, p.close_to_limits, p.relative_to_mean, p.rule, p.point_type,
        )  # fmt: skip


@settings(max_examples=150)
@given(ys_lists, st.booleans())
def test_negating_the_series_swaps_improvement_and_concern(ys, screen):
    """-y with improvement "decrease" is y with "increase", high and low swapped when neutral;
    except where two trends touch at a tie, which the package labels "Decreasing" either way."""
    assume(all(a != b for a, b in pairwise(ys)))
    neg = [-y for y in ys]
    for up, down in (("increase", "decrease"), ("neutral", "neutral")):
        a = chart(ys, improvement=up, screen_outliers=screen)
        b = chart(neg, improvement=down, screen_outliers=screen)
        swap = {"special_cause_neutral_high": "special_cause_neutral_low",
                "special_cause_neutral_low": "special_cause_neutral_high"}  # fmt: skip
        for p, q in zip(a.points, b.points, strict=True):
            assert q.relative_to_mean == -p.relative_to_mean
            assert (q.outside_limits, q.close_to_limits, q.rule) == (
                p.outside_limits, p.close_to_limits, p.rule,
            )  # fmt: skip
            assert q.point_type == swap.get(p.point_type, p.point_type)


@settings(max_examples=100)
@given(ys_lists.filter(lambda ys: len(ys) >= 4), st.data())
def test_a_rebased_chart_is_its_groups_charted_alone(ys, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, len(ys) - 1), min_size=1, max_size=3)))
    whole = chart(ys, rebase=[str(k + 1) for k in cuts], improvement="decrease")
    for lo, hi in zip([0, *cuts], [*cuts, len(ys)], strict=True):
        if hi - lo == 1:  # a one-point group: no limits, no special cause (a chart needs 2)
            point = whole.points[lo]
            assert (point.mean, point.lpl, point.upl, point.special_cause) == (
                ys[lo],
                None,
                None,
                False,
            )
            continue
        alone = xmr_chart([Point(str(i + 1), ys[i]) for i in range(lo, hi)], improvement="decrease")
        assert list(whole.points[lo:hi]) == list(alone.points)


@settings(max_examples=100)
@given(st.lists(values, min_size=13, max_size=40), st.data())
def test_fixed_limits_are_those_of_the_first_n_points(ys, data):
    n = data.draw(st.integers(12, len(ys)))
    fixed = chart(ys, fix_after=n)
    assert same_limits(fixed.groups[0].limits, chart(ys[:n]).groups[0].limits)


@settings(max_examples=150)
@given(st.lists(values, min_size=3, max_size=40))
def test_screening_never_widens_the_limits(ys):
    screened = chart(ys).groups[0].limits.mean_moving_range
    kept = chart(ys, screen_outliers=False).groups[0].limits.mean_moving_range
    assert math.isnan(screened) or screened <= kept


@settings(max_examples=150)
@given(
    st.lists(
        st.one_of(values, st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=60
    )
)
def test_r_mean_is_rs_mean_on_every_machine(ys):
    """The long-double fast path (x86-64) and the integer path agree bit for bit, and both are
    within two units in the last place of the exact mean."""
    assert r_mean(ys) == r_mean_exact(ys)
    exact = sum(map(Fraction, ys), Fraction(0)) / len(ys)
    if abs(exact) < 1e307:
        assert abs(r_mean(ys) - float(exact)) <= 2 * math.ulp(float(exact)) + 2 * math.ulp(
            max(abs(y) for y in ys)
        )
