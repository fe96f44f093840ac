"""`xmr_chart`: the package's documented examples and expectations, the options, bad input.

Sources are NHSRplotthedots (CRAN 0.2.0) files, named in each comment; the printed values of its
snapshots (`tests/testthat/_snaps/*.md`) are compared at the precision they were printed with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from surveillance.spc import Chart, GroupLimits, Point, SpcError, assurance, xmr_chart

# set.seed(123); rnorm(20) in R: the data of test-ptd_spc_standard.R and test-ptd_spc.R
RNORM_20 = [
    -0.5604756465522126, -0.23017748948327996, 1.558708314149124, 0.070508391424576003,
    0.12928773516094624, 1.715064986883281, 0.4609162059892023, -1.265061234606534,
    -0.68685285189352607, -0.44566197009995806, 1.2240817974394615, 0.35981382705736381,
    0.40077145059405217, 0.11068271594511971, -0.55584113475407493, 1.7869131368030782,
    0.49785047822923939, -1.9666171566296382, 0.70135590156368555, -0.47279140772793404,
]  # fmt: skip


def series(ys: Sequence[float], labels: Sequence[str] | None = None) -> list[Point]:
    labels = labels or [str(i + 1) for i in range(len(ys))]
    return [Point(x, float(y)) for x, y in zip(labels, ys, strict=True)]


def limits(chart: Chart, group: int = 0) -> GroupLimits:
    return chart.groups[group].limits


def test_ptd_spc_standard_snapshot_r1():
    """_snaps/ptd_spc_standard.md "it returns expected values", r1."""
    chart = xmr_chart(series(RNORM_20))
    assert limits(chart).mean == pytest.approx(0.1416238, abs=5e-8)
    assert limits(chart).lpl == pytest.approx(-3.01138, abs=5e-6)
    assert limits(chart).upl == pytest.approx(3.294627, abs=5e-7)
    assert [p.relative_to_mean for p in chart.points][:13] == [
        -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1,
    ]  # fmt: skip
    assert not any(p.outside_limits for p in chart.points)


def test_ptd_spc_standard_snapshot_screening():
    """_snaps/ptd_spc_standard.md r2 (y[15] <- 10, screened) and r3 (screen_outliers = FALSE),
    and the test's own checks: all three differ, and r3's limits are the wider."""
    ys = list(RNORM_20)
    ys[14] = 10.0
    r1 = limits(xmr_chart(series(RNORM_20)))
    r2 = limits(xmr_chart(series(ys)))
    r3 = limits(xmr_chart(series(ys), screen_outliers=False))
    assert r2.mean == r3.mean == pytest.approx(0.6694159, abs=5e-8)
    assert r2.lpl == pytest.approx(-2.383666, abs=5e-7)
    assert r2.upl == pytest.approx(3.722497, abs=5e-7)
    assert r3.lpl == pytest.approx(-4.596625, abs=5e-7)
    assert r3.upl == pytest.approx(5.935457, abs=5e-7)
    assert len({r1.lpl, r2.lpl, r3.lpl}) == 3
    assert len({r1.upl, r2.upl, r3.upl}) == 3
    assert r3.upl - r3.lpl > r2.upl - r2.lpl


def test_summary_snapshot_two_halves():
    """_snaps/ptd_spc.md "it outputs expected content": a facet of 10 points each is two charts;
    the tibble printed mean, lpl, upl to 3 significant figures."""
    first = limits(xmr_chart(series(RNORM_20[:10])))
    second = limits(xmr_chart(series(RNORM_20[10:])))
    assert (round(first.mean, 4), round(first.lpl, 2), round(first.upl, 2)) == (0.0746, -2.60, 2.75)
    assert (round(second.mean, 3), round(second.lpl, 2), round(second.upl, 2)) == (
        0.209,
        -3.28,
        3.70,
    )


def test_rebase_at_the_first_point_changes_nothing():
    """_snaps/ptd_spc.md s2: rebase = as.Date("2020-01-01"), the first point's date in that
    test's summary call, gives the same single group as no rebase."""
    plain = xmr_chart(series(RNORM_20))
    rebased = xmr_chart(series(RNORM_20), rebase=["1"])
    assert rebased == plain


def test_rebase_column_at_dates():
    """test-ptd_add_rebase_column.R "it correctly sets rebase column when a date vector is
    passed": dates 2020-01-02 .. 2020-01-11, rebased at 2020-01-03 and 2020-01-08."""
    labels = [f"2020-01-{d:02d}" for d in range(2, 12)]
    chart = xmr_chart(series(RNORM_20[:10], labels), rebase=["2020-01-03", "2020-01-08"])
    assert [(g.first_x, g.points) for g in chart.groups] == [
        ("2020-01-02", 1),
        ("2020-01-03", 5),
        ("2020-01-08", 4),
    ]


def test_rebase_group_is_its_own_chart():
    """test-ptd_spc_standard.R "it sets the rebase_group field": a rebase at row 11 gives two
    groups of 10; each group's limits are those of its points alone."""
    chart = xmr_chart(series(RNORM_20), rebase=["11"])
    assert [g.points for g in chart.groups] == [10, 10]
    assert limits(chart, 0) == limits(xmr_chart(series(RNORM_20[:10])))
    assert limits(chart, 1) == limits(xmr_chart(series(RNORM_20[10:])))
    assert chart.points[10].mean == limits(chart, 1).mean


def test_fix_after_n_points():
    """test-ptd_spc_standard.R "setting fix_after_n_points changes the calculations", and
    what it changes: the limits are those of the first 12 points, applied to all 20."""
    fixed = xmr_chart(series(RNORM_20), fix_after=12)
    assert limits(fixed).lpl != limits(xmr_chart(series(RNORM_20))).lpl
    assert limits(fixed) == limits(xmr_chart(series(RNORM_20[:12])))
    assert {p.upl for p in fixed.points} == {limits(fixed).upl}


def test_fix_after_applies_to_each_group():
    ys = RNORM_20 + [y + 5 for y in RNORM_20]
    chart = xmr_chart(series(ys), rebase=["21"], fix_after=12)
    assert limits(chart, 1) == limits(xmr_chart(series(ys[20:32])))


def test_deviations_vignette():
    """vignettes/deviations.Rmd "1. Treatment of outlying points": the 10 is screened out of
    the moving ranges by default; with screen_outliers = FALSE (the Excel tool) it widens the
    limits. Derived by hand: mean 35/18; moving ranges 1 x 15 and 8, 9; mean 1 when screened,
    (15 + 17) / 17 when not."""
    ys = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    screened = limits(xmr_chart(series(ys)))
    excel = limits(xmr_chart(series(ys), screen_outliers=False))
    assert screened.mean == excel.mean == pytest.approx(35 / 18)
    assert screened.mean_moving_range == 1.0
    assert excel.mean_moving_range == pytest.approx(32 / 17)
    assert (round(screened.upl, 2), round(screened.lpl, 2)) == (4.6, -0.72)
    assert (round(excel.upl, 2), round(excel.lpl, 2)) == (6.95, -3.06)
    chart = xmr_chart(series(ys))
    assert [p.rule for p in chart.points if p.special_cause] == ["outside-limits"]


def test_a_moving_range_at_exactly_the_cut_is_screened():
    """`mr < 3.267 * amr` keeps only those strictly below: here 3.267 == 3.267 x 1.0."""
    ys = [0.0, 3.267, 4.0, 4.0, 4.0]
    assert limits(xmr_chart(series(ys), screen_outliers=False)).mean_moving_range == 1.0
    assert limits(xmr_chart(series(ys))).mean_moving_range == pytest.approx(0.733 / 3)


def test_constant_series_screened_has_no_limits():
    """Every moving range is 0, and 0 < 3.267 x 0 is false: all are screened out; R's mean of
    none is NaN. No point is a special cause; the summary is common cause."""
    chart = xmr_chart(series([7] * 15), improvement="increase", target=8)
    assert all(p.lpl is None and p.upl is None and p.mean == 7.0 for p in chart.points)
    assert not any(p.special_cause or p.outside_limits or p.close_to_limits for p in chart.points)
    assert chart.variation == "common_cause"
    assert chart.assurance == "inconsistent"  # R: NA comparisons fall through case_when


def test_constant_series_not_screened_has_limits_on_the_mean():
    chart = xmr_chart(series([7] * 15), screen_outliers=False)
    assert {(p.lpl, p.mean, p.upl) for p in chart.points} == {(7.0, 7.0, 7.0)}
    assert not any(p.special_cause for p in chart.points)


def test_a_point_on_the_mean_breaks_a_shift():
    # mean exactly 5: above it 6 8 6 | 5 | 8 6 8 6 (runs of 3 and 4), below it seven points
    ys = [6, 8, 6, 5, 8, 6, 8, 6, 4, 2, 4, 2, 4, 2, 4]
    chart = xmr_chart(series(ys), improvement="increase")
    assert limits(chart).mean == 5.0
    assert chart.points[3].relative_to_mean == 0
    assert [p.rule for p in chart.points] == [None] * 8 + ["shift"] * 7
    assert {p.point_type for p in chart.points[8:]} == {"special_cause_concern"}


def test_a_point_exactly_on_rs_mean():
    """R's mean of 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.2 is exactly 0.2 (a naive sum is not)."""
    chart = xmr_chart(series([0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.2]))
    assert limits(chart).mean == 0.2
    assert [p.relative_to_mean for p in chart.points] == [-1, 0, 1, -1, 0, 1, 0]


def test_neutral_improvement_gives_high_and_low():
    ys = [9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 16, 16, 11, 9, 11, 9, 11, 9, 11, 30, -10]
    chart = xmr_chart(series(ys))
    types = {p.x: p.point_type for p in chart.points if p.special_cause}
    assert types["20"] == "special_cause_neutral_high"
    assert types["21"] == "special_cause_neutral_low"
    assert chart.variation == "special_cause_neutral_low"
    assert chart.assurance is None


# test-ptd_calculate_assurance_type.R: lpl/upl (1, 3), (5, 7), (1, 5) against a target of 4
ASSURANCE = [
    ("increase", (1, 3), "consistent_fail"),
    ("increase", (5, 7), "consistent_pass"),
    ("increase", (1, 5), "inconsistent"),
    ("decrease", (1, 3), "consistent_pass"),
    ("decrease", (5, 7), "consistent_fail"),
    ("decrease", (1, 5), "inconsistent"),
    ("neutral", (1, 3), None),
    ("neutral", (5, 7), None),
    ("neutral", (1, 5), None),
    # derived: a target on a limit is inside (`>` and `<` are strict)
    ("increase", (4, 6), "inconsistent"),
    ("increase", (2, 4), "inconsistent"),
]


@pytest.mark.parametrize(("improvement", "lpl_upl", "expected"), ASSURANCE)
def test_assurance(improvement, lpl_upl, expected):
    lpl, upl = lpl_upl
    group = GroupLimits(
        mean=(lpl + upl) / 2, mean_moving_range=1.0, lpl=lpl, upl=upl, near_lpl=lpl, near_upl=upl
    )
    assert assurance(group, 4.0, improvement) == expected


def test_assurance_without_a_target_is_none():
    """From "it returns a column of NA's if there is no target"."""
    assert xmr_chart(series(RNORM_20), improvement="increase").assurance is None


def test_assurance_uses_the_last_group():
    """From "it returns correct values for assurance when rebase": the last row's limits count."""
    ys = [10, 11] * 6 + [20, 21] * 6
    chart = xmr_chart(series(ys), improvement="increase", target=15, rebase=["13"])
    assert chart.assurance == "consistent_pass"  # 15 is below the last group's lower limit
    assert xmr_chart(series(ys[:12]), improvement="increase", target=15).assurance == (
        "consistent_fail"
    )


def test_trial_limits_below_12_points():
    chart = xmr_chart(series(RNORM_20), rebase=["10"])
    assert [(g.points, g.trial) for g in chart.groups] == [(9, True), (11, True)]
    assert not xmr_chart(series(RNORM_20[:12])).groups[0].trial


def test_a_one_point_group_has_no_limits():
    chart = xmr_chart(series([1, 2, 3, 2, 1, 2, 3, 2, 1, 9]), rebase=["10"])
    last = chart.points[-1]
    assert (last.mean, last.lpl, last.upl, last.special_cause) == (9.0, None, None, False)
    assert math.isnan(chart.groups[-1].limits.mean_moving_range)


BAD = [
    ([], {}, "0 point(s) given"),
    ([("a", 1.0)], {}, "1 point(s) given"),
    ([("a", 1.0), ("b", math.nan)], {}, "point 2 ('b'): y is not a finite number"),
    ([("a", 1.0), ("b", math.inf)], {}, "not a finite number"),
    ([("a", 1.0), ("a", 2.0)], {}, "label 'a' repeats point 1"),
    ([("a", 1.0), ("b", 2.0)], {"rebase": ["c"]}, "rebase label 'c' is not the x of any point"),
    ([("a", 1.0), ("b", 2.0)], {"rebase": ["b", "b"]}, "rebase label 'b' given twice"),
    ([("a", 1.0), ("b", 2.0)], {"fix_after": 11}, "fix-after must be at least 12"),
    ([("a", 1.0), ("b", 2.0)], {"target": math.nan}, "target is not a finite number"),
    ([("a", -1e308), ("b", 1e308)], {}, "overflows"),
    ([("a", -1e308), ("b", 0.0), ("c", 1e308)], {}, "the group starting at 'a' overflow"),
]


@pytest.mark.parametrize(("points", "options", "message"), BAD)
def test_bad_input_is_refused_with_a_reason(points, options, message):
    with pytest.raises(SpcError, match=message.replace("(", r"\(").replace(")", r"\)")):
        xmr_chart([Point(x, y) for x, y in points], **options)
