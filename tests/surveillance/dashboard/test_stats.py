"""Confidence intervals against published values and, where scipy is installed, the exact
distributions."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveillance.dashboard import (
    EXACT_UP_TO,
    MEASURES,
    Z95,
    byar,
    dashboard_from_sums,
    poisson_count,
    rate_interval,
    wilson,
)
from surveillance.store import DashboardSums

# Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson score).
NEWCOMBE = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
    ((29, 29), (0.8830, 1.0)),
]

# The exact Poisson 95 % limits of a count (Garwood 1936), as tabulated e.g. in Breslow and Day
# (1987), appendix II, and PHE's confidence interval tools.
GARWOOD = [
    (0, (0.0, 3.689)),
    (1, (0.0253, 5.572)),
    (2, (0.2422, 7.225)),
    (5, (1.623, 11.668)),
    (10, (4.795, 18.390)),
    (20, (12.217, 30.888)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE)
def test_wilson_matches_newcombes_table(counts, expected):
    low, high = wilson(*counts)
    assert (round(low, 4), round(high, 4)) == expected


@pytest.mark.parametrize(("count", "expected"), GARWOOD)
def test_exact_poisson_matches_the_tables(count, expected):
    low, high = poisson_count(count)
    assert low == pytest.approx(expected[0], abs=6e-4)
    assert high == pytest.approx(expected[1], abs=6e-4)


def test_z_is_the_975th_normal_quantile():
    assert pytest.approx(1.959963984540054, abs=1e-12) == Z95


def test_against_scipy_where_installed():
    stats = pytest.importorskip("scipy.stats")
    for count in (*range(30), 57, 99, 100, 101, 250, 1000, 12345):
        low, high = poisson_count(count)
        exact_low = stats.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
        exact_high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
        tolerance = 1e-9 if count <= EXACT_UP_TO else 1e-4  # Byar's above
        assert low == pytest.approx(exact_low, rel=tolerance, abs=1e-12)
        assert high == pytest.approx(exact_high, rel=tolerance)
    for k, n in ((0, 1), (1, 1), (3, 7), (81, 263), (499, 1000), (1, 10_000)):
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_byar_is_close_to_exact_where_it_takes_over():
    exact = poisson_count(EXACT_UP_TO)
    approx = byar(EXACT_UP_TO)
    assert all(abs(a - e) / e < 1e-4 for a, e in zip(approx, exact, strict=True))


def test_a_rate_interval_scales_the_counts():
    low, high = rate_interval(10, 2000.0, 1000.0)
    assert (low, high) == pytest.approx((4.795 / 2, 18.390 / 2), abs=1e-3)


@pytest.mark.parametrize(
    ("call", "args"),
    [(wilson, (1, 0)), (wilson, (3, 2)), (wilson, (-1, 2)), (poisson_count, (-1,)),
     (rate_interval, (1, 0.0, 100.0))],
)  # fmt: skip
def test_bad_input_is_a_clear_error(call, args):
    with pytest.raises(ValueError, match=r"\w"):
        call(*args)


@given(st.integers(0, 300), st.integers(1, 300))
def test_wilson_holds_the_proportion(k, extra):
    n = k + extra - 1 if k + extra - 1 >= k and k + extra - 1 > 0 else k + extra
    low, high = wilson(k, n)
    assert 0 <= low <= k / n <= high <= 1


@given(st.integers(0, 2000))
def test_the_poisson_interval_holds_the_count(count):
    low, high = poisson_count(count)
    assert 0 <= low <= count <= high
    assert math.isfinite(high)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 400).map(lambda n: n / 4), min_size=1, max_size=60))
def test_a_median_measure_shows_the_median_of_its_values(values):
    """The dashboard's medians (found by partition, not a sort) are `statistics.median`'s:
    the middle value, or the mean of the middle two (quarters: exact in four decimals)."""
    since, until = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    (m,) = [m for m in MEASURES if m.kind == "median"][:1]
    rows = [(m.id, "W1", True, "2025-01-01", "male", "White", "18-44", "Q3", 0, v) for v in values]
    board = dashboard_from_sums(
        DashboardSums(wards=["W1"], value_rows=rows),
        since=since, until=until, period="month", tz=ZoneInfo("Europe/London"),
    )  # fmt: skip
    (result,) = [r for r in board.measures if r.id == m.id]
    expected = statistics.median(values)
    for scope in result.scopes:
        assert scope.value == expected
        assert scope.series[0].value == expected
