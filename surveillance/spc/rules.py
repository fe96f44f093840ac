"""The four special-cause rules and their priority, as NHSRplotthedots applies them.

Reference: NHSRplotthedots `R/ptd_calculate_point_type.R` (v0.2.x): `ptd_seven_point_one_side_mean`,
`ptd_part_of_seven_trend`, `ptd_seven_point_trend`, `ptd_two_in_three`,
`ptd_part_of_two_in_three`, `ptd_special_cause_type` and `ptd_point_type`. Each function below
is one of those, with R's 1-based padded indexing rewritten 0-based; all work on one limit group
(the package groups by facet and rebase group before calling them).

Priority (`ptd_special_cause_type`'s `case_when`): outside the limits, then a trend, then two in
three, then a shift (a run on one side of the mean). A point takes the first that applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from surveillance.spc.limits import sign

Rule = Literal["outside-limits", "trend", "two-in-three", "shift"]
Improvement = Literal["increase", "decrease", "neutral"]
PointType = Literal[
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
]

RUN: Final = 7
"""Seven points make a run on one side of the mean, and seven points a trend."""


def seven_point_one_side_mean(relative_to_mean: Sequence[int]) -> list[int]:
    """1 at each point that ends seven in a row on the same side of the mean.

    A point on the mean (0) ends no run and breaks any run through it (`vp[[i]] != 0`). R
    compares each point with the six before it; a running count of equal neighbours is the same.
    """
    ends = []
    streak = 0
    for i, side in enumerate(relative_to_mean):
        streak = 0 if side == 0 else streak + 1 if i and side == relative_to_mean[i - 1] else 1
        ends.append(int(streak >= RUN))
    return ends


def part_of_seven(ends: Sequence[int]) -> list[int]:
    """1 at each point that is one of the seven before (and including) a point that ends a run
    or trend (`ptd_part_of_seven_trend`, used for both): a nonzero end within the next six."""
    flags = [0] * len(ends)
    next_end = None
    for i in range(len(ends) - 1, -1, -1):
        if abs(ends[i]) == 1:
            next_end = i
        flags[i] = int(next_end is not None and next_end - i < RUN)
    return flags


def seven_point_trend(ys: Sequence[float]) -> list[int]:
    """1 (-1) at each point that ends seven strictly rising (falling) points: six steps of the
    same sign. Two equal neighbours are a step of sign 0, neither, so a tie breaks a trend."""
    ends = [0] * len(ys)
    streak = 0
    for i in range(1, len(ys)):
        step = sign(ys[i] - ys[i - 1])
        streak = (
            0 if step == 0 else streak + 1 if i > 1 and step == sign(ys[i - 1] - ys[i - 2]) else 1
        )
        if streak >= RUN - 1:
            ends[i] = step
    return ends


def two_in_three(close: Sequence[bool], relative_to_mean: Sequence[int]) -> list[int]:
    """1 at each point in some window of three consecutive points with at least two close to the
    limits and all three on the same side of the mean (the fix for the package's issue #143).

    The windows do not reach past either end of the group (R pads with zeros, which are on
    neither side).
    """
    n = len(close)
    window_hits = [
        close[s] + close[s + 1] + close[s + 2] >= 2
        and abs(relative_to_mean[s] + relative_to_mean[s + 1] + relative_to_mean[s + 2]) == 3
        for s in range(n - 2)
    ]
    return [
        int(any(window_hits[s] for s in range(max(0, i - 2), min(i, n - 3) + 1))) for i in range(n)
    ]


def part_of_two_in_three(in_window: Sequence[int], close: Sequence[bool]) -> list[int]:
    """Only the points that are themselves close to the limits are flagged, not the third."""
    return [int(w == 1 and c) for w, c in zip(in_window, close, strict=True)]


def special_cause(
    ys: Sequence[float],
    relative_to_mean: Sequence[int],
    close: Sequence[bool],
    outside: Sequence[bool],
) -> list[tuple[Rule, int] | None]:
    """Each point's rule and its direction (1 up, -1 down), or None for common cause.

    The direction is what `ptd_point_type` reads from the package's label: "Above"/"Increasing"
    up, "Below"/"Decreasing" down. For a trend it is the sign of the step to the next point when
    that point is in a trend too, else of the step from the previous point; R's label is
    "Increasing" only for a sign of 1, so a tie between two trends that touch is "Decreasing".
    """
    n = len(ys)
    trend_ends = seven_point_trend(ys)
    part_trend = part_of_seven(trend_ends)
    part_two = part_of_two_in_three(two_in_three(close, relative_to_mean), close)
    part_shift = part_of_seven(seven_point_one_side_mean(relative_to_mean))

    steps = [sign(ys[i + 1] - ys[i]) for i in range(n - 1)]  # sign(diff(y))
    right = [*steps, steps[-1]] if steps else [0] * n  # c(sdy, tail(sdy, 1))
    left = [0, *steps]  # c(0, sdy)
    out: list[tuple[Rule, int] | None] = []
    for i in range(n):
        next_in_trend = i + 1 < n and part_trend[i + 1] != 0
        if outside[i]:
            out.append(("outside-limits", 1 if relative_to_mean[i] == 1 else -1))
        elif part_trend[i]:
            step = right[i] if next_in_trend else left[i]
            out.append(("trend", 1 if step == 1 else -1))
        elif part_two[i]:
            out.append(("two-in-three", 1 if relative_to_mean[i] > 0 else -1))
        elif part_shift[i]:
            out.append(("shift", 1 if relative_to_mean[i] > 0 else -1))
        else:
            out.append(None)
    return out


def point_type(direction: int | None, improvement: Improvement) -> PointType:
    """`ptd_point_type`: the special cause's direction oriented by the improvement direction."""
    if direction is None:
        return "common_cause"
    if improvement == "neutral":
        return "special_cause_neutral_high" if direction > 0 else "special_cause_neutral_low"
    oriented = direction if improvement == "increase" else -direction
    return "special_cause_improvement" if oriented > 0 else "special_cause_concern"
