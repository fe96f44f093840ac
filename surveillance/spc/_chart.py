"""An XmR chart of one series: limits per limit group, each point's special cause, the summary.

Reference: NHSRplotthedots `R/ptd_spc.R` (`ptd_spc.data.frame`, `summary.ptd_spc_df`),
`R/ptd_add_rebase_column.R`, `R/ptd_calculate_assurance_type.R`,
`R/ptd_add_short_group_warnings.R`, `R/ptd_spc_options.R` and `R/ptd_validate_spc_options.R`
(v0.2.x), for one series (no facets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal

from surveillance.spc.limits import GroupLimits, group_limits, sign
from surveillance.spc.rules import Improvement, PointType, Rule, point_type, special_cause

Assurance = Literal["consistent_pass", "consistent_fail", "inconsistent"]

MIN_FIX_AFTER: Final = 12
"""`ptd_spc_options`: fix_after_n_points must be at least 12."""
SHORT_GROUP: Final = 12
"""Fewer points than this in a limit group give trial limits (the package's warning; see README)."""


class SpcError(ValueError):
    """The series or the options cannot make a chart; the message says why."""


@dataclass(frozen=True, slots=True)
class Point:
    """One point of the series as given: its label and value."""

    x: str
    y: float


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One point of the chart (CONTRACT §10); `lpl` and `upl` are None where the group has no
    moving range to set limits from (R's NaN)."""

    x: str
    y: float
    mean: float
    lpl: float | None
    upl: float | None
    outside_limits: bool
    relative_to_mean: int
    close_to_limits: bool
    special_cause: bool
    rule: Rule | None
    point_type: PointType


@dataclass(frozen=True, slots=True)
class LimitGroup:
    """One limit group: where it starts, how many points, its limits."""

    first_x: str
    points: int
    limits: GroupLimits

    @property
    def trial(self) -> bool:
        """Fewer than 12 points: trial limits, to be revised as points come."""
        return self.points < SHORT_GROUP


@dataclass(frozen=True, slots=True)
class Chart:
    """The chart: every point, the limit groups, and the summary of the last point."""

    points: tuple[ChartPoint, ...]
    groups: tuple[LimitGroup, ...]
    variation: PointType
    assurance: Assurance | None


def xmr_chart(
    series: Sequence[Point],
    *,
    improvement: Improvement = "neutral",
    target: float | None = None,
    rebase: Sequence[str] = (),
    fix_after: int | None = None,
    screen_outliers: bool = True,
) -> Chart:
    """The XmR chart of `series`, in the order given (which must be time order).

    `rebase` names the labels at which a new limit group starts; `fix_after` computes each
    group's limits from its first N points (N >= 12); `screen_outliers=False` keeps moving ranges
    at or above 3.267 x their mean, as the Making Data Count Excel tool does. Raises SpcError on
    input the package would refuse or that could not be charted.
    """
    _check(series, target=target, rebase=rebase, fix_after=fix_after)
    rebase_at = set(rebase)
    starts = {0} | {i for i, p in enumerate(series) if p.x in rebase_at}
    bounds = [*sorted(starts), len(series)]
    points: list[ChartPoint] = []
    groups: list[LimitGroup] = []
    for lo, hi in pairwise(bounds):
        members = series[lo:hi]
        ys = [p.y for p in members]
        limits = group_limits(ys, fix_after=fix_after, screen_outliers=screen_outliers)
        _check_finite(limits, members[0].x)
        groups.append(LimitGroup(first_x=members[0].x, points=len(members), limits=limits))
        points.extend(_group_points(members, limits, improvement))
    last = points[-1]
    return Chart(
        points=tuple(points),
        groups=tuple(groups),
        variation=last.point_type,
        assurance=assurance(groups[-1].limits, target, improvement),
    )


def assurance(
    limits: GroupLimits, target: float | None, improvement: Improvement
) -> Assurance | None:
    """`ptd_calculate_assurance_type`: the last group's limits against the target.

    A target beyond a limit is met by every point (or by none); a target between the limits (or
    on one) is met only sometimes. No target, or no direction of improvement: None. With no
    limits (NaN) R's comparisons are NA and its `case_when` falls through to "inconsistent", as
    here.
    """
    if target is None or improvement == "neutral":
        return None
    increasing = improvement == "increase"
    if target > limits.upl:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < limits.lpl:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


def _group_points(
    members: Sequence[Point], limits: GroupLimits, improvement: Improvement
) -> list[ChartPoint]:
    ys = [p.y for p in members]
    outside = [y > limits.upl or y < limits.lpl for y in ys]
    relative = [sign(y - limits.mean) for y in ys]
    close = [
        not out and (y < limits.near_lpl or y > limits.near_upl)
        for y, out in zip(ys, outside, strict=True)
    ]
    causes = special_cause(ys, relative, close, outside)
    defined = not math.isnan(limits.mean_moving_range)
    return [
        ChartPoint(
            x=p.x,
            y=p.y,
            mean=limits.mean,
            lpl=limits.lpl if defined else None,
            upl=limits.upl if defined else None,
            outside_limits=out,
            relative_to_mean=rel,
            close_to_limits=near,
            special_cause=cause is not None,
            rule=None if cause is None else cause[0],
            point_type=point_type(None if cause is None else cause[1], improvement),
        )
        for p, out, rel, near, cause in zip(members, outside, relative, close, causes, strict=True)
    ]


def _check(
    series: Sequence[Point], *, target: float | None, rebase: Sequence[str], fix_after: int | None
) -> None:
    if len(series) < 2:
        raise SpcError(f"{len(series)} point(s) given: a chart needs at least 2")
    first_seen: dict[str, int] = {}
    for i, p in enumerate(series):
        if not math.isfinite(p.y):
            raise SpcError(f"point {i + 1} ({p.x!r}): y is not a finite number")
        if p.x in first_seen:
            raise SpcError(
                f"point {i + 1}: label {p.x!r} repeats point {first_seen[p.x] + 1}; each x must be unique"
            )
        first_seen[p.x] = i
        if i and not math.isfinite(p.y - series[i - 1].y):
            raise SpcError(f"point {i + 1} ({p.x!r}): the step from the point before overflows")
    seen: set[str] = set()
    for label in rebase:
        if label in seen:
            raise SpcError(f"rebase label {label!r} given twice")
        seen.add(label)
        if label not in first_seen:
            raise SpcError(f"rebase label {label!r} is not the x of any point")
    if fix_after is not None and fix_after < MIN_FIX_AFTER:
        raise SpcError(f"fix-after must be at least {MIN_FIX_AFTER} points (got {fix_after})")
    if target is not None and not math.isfinite(target):
        raise SpcError("target is not a finite number")


def _check_finite(limits: GroupLimits, first_x: str) -> None:
    values = (limits.mean, limits.lpl, limits.upl, limits.near_lpl, limits.near_upl)
    if math.isinf(limits.mean_moving_range) or any(math.isinf(v) for v in values):
        raise SpcError(
            f"the limits of the group starting at {first_x!r} overflow: the values are too large"
        )
