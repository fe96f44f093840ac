"""The XmR process limits of one limit group, as NHSRplotthedots computes them.

Reference: NHSRplotthedots `R/ptd_spc_standard.R` (v0.2.x; unchanged since 0.1.0 apart from the
`mean` column's name). Per group, in this order:

    fix_y = y for the first `fix_after_n_points` rows of the group, NA after
    mean  = mean(fix_y, na.rm = TRUE)
    mr    = c(NA, abs(diff(fix_y)))                 # moving ranges inside the group only
    amr   = mean(mr, na.rm = TRUE)
    mr    = mr if mr < 3.267 * amr else NA          # screen_outliers = TRUE (the default)
    amr   = mean(mr, na.rm = TRUE)                  # recomputed once, without the outliers
    lpl, upl   = mean -/+ 2.66 * amr
    nlpl, nupl = mean -/+ 2 * (2.66 / 3) * amr       # "close to the limits" beyond these
    outside_limits   = y > upl | y < lpl
    relative_to_mean = sign(y - mean)
    close_to_limits  = !outside_limits & (y < nlpl | y > nupl)

Screening is one pass, strict (`<`): a moving range equal to 3.267 x the mean moving range is
screened out too. The arithmetic is IEEE double as in R, except the two means: R's `mean()` sums
in long double and corrects with a second pass, which gives the correctly rounded mean; here the
mean is computed exactly (rational arithmetic) and rounded once, so a point that lies exactly on
the mean compares equal to it as it does in R (sign 0: it breaks a run).

When a group has no moving range left (one point, or every moving range 0 and screened out, as in
a constant series: `0 < 3.267 * 0` is false), R's mean of nothing is NaN and so are the limits;
R's `outside_limits` and `close_to_limits` are then NA, which no rule counts. Here the limits are
NaN and both flags false, which gives the same special causes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Final

LIMIT: Final = 2.66
"""Process limits at mean ± 2.66 × mean moving range (3 sigma for an XmR chart)."""
LIMIT_CLOSE: Final = 2 * (LIMIT / 3)
"""'Close to the limits' beyond mean ± 2/3 of the way to the limits (2 sigma); R's own expression."""
OUTLIER_FACTOR: Final = 3.267
"""A moving range at or above 3.267 × the mean moving range is screened out (D4 for n = 2)."""


@dataclass(frozen=True, slots=True)
class GroupLimits:
    """The centre line and limits of one limit group; NaN where R's are NaN (no moving range)."""

    mean: float
    mean_moving_range: float
    lpl: float
    upl: float
    near_lpl: float
    near_upl: float


def exact_mean(values: Sequence[float]) -> float:
    """The mean of finite doubles, correctly rounded; NaN for no values (R: `mean(numeric())`)."""
    if not values:
        return math.nan
    return float(sum(map(Fraction, values), Fraction(0)) / len(values))


def group_limits(
    ys: Sequence[float], *, fix_after: int | None, screen_outliers: bool
) -> GroupLimits:
    """The limits of one group from its values in order (`ptd_spc_standard`'s `mutate`)."""
    base = ys if fix_after is None else ys[:fix_after]
    mean = exact_mean(base)
    moving_ranges = [abs(b - a) for a, b in pairwise(base)]
    amr = exact_mean(moving_ranges)
    if screen_outliers:
        cut = OUTLIER_FACTOR * amr
        amr = exact_mean([mr for mr in moving_ranges if mr < cut])
    return GroupLimits(
        mean=mean,
        mean_moving_range=amr,
        lpl=mean - LIMIT * amr,
        upl=mean + LIMIT * amr,
        near_lpl=mean - LIMIT_CLOSE * amr,
        near_upl=mean + LIMIT_CLOSE * amr,
    )


def sign(value: float) -> int:
    """R's `sign()` for a number that is not NaN: -1, 0 or 1."""
    return (value > 0) - (value < 0)
