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
screened out too. The arithmetic is IEEE double as in R, and the two means are R's own: R's
`mean()` (src/main/summary.c, `real_mean`) sums in long double, divides, then adds the mean of the
residuals, also in long double, and rounds the result to double. On x86-64, where R's analysts
run it, long double is the x87 80-bit format (a 64-bit significand); `r_mean` repeats that
computation exactly: in numpy's long double where that is the x87 format, else in integer
arithmetic rounded to 64 bits at each step, so that the result is the same on any machine. (A correctly rounded mean differs from R's in the last bit for some
series, and a point that lies exactly on R's mean must compare equal to it: sign 0 breaks a run.)

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

import numpy as np

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


def r_mean(values: Sequence[float]) -> float:
    """R's `mean()` of finite doubles as x86-64 R computes it; NaN for no values.

    ```c
    LDOUBLE s = 0.0;
    for (i = 0; i < n; i++) s += x[i];
    s /= n;
    if (R_FINITE((double) s)) {
        LDOUBLE t = 0.0;
        for (i = 0; i < n; i++) t += (x[i] - s);
        s += t / n;
    }
    return (double) s;
    ```
    """
    if not values:
        return math.nan
    if X87_LONG_DOUBLE:
        return _r_mean_x87(values)
    return r_mean_exact(values)


X87_LONG_DOUBLE: Final = bool(
    np.finfo(np.longdouble).nmant == 63 and np.finfo(np.longdouble).nexp == 15
)
"""numpy's long double is the x87 80-bit format here (x86-64): the fast path is R's own arithmetic."""


def _r_mean_x87(values: Sequence[float]) -> float:
    # np.add.accumulate adds left to right, rounding each partial sum to long double, as R's loop
    # does (np.sum would add pairwise, which is not R's order).
    xs = np.asarray(values, dtype=np.longdouble)
    n = np.longdouble(len(xs))
    s = np.add.accumulate(xs)[-1] / n
    if math.isfinite(float(s)):
        t = np.add.accumulate(xs - s)[-1]
        s = s + t / n
    return float(s)


def r_mean_exact(values: Sequence[float]) -> float:
    """`r_mean` in integer arithmetic, each step rounded as the x87 rounds it: the same result
    on a machine whose long double is not the x87's (and the check on the fast path)."""
    if not values:
        return math.nan
    n = len(values)
    xs = [_dyadic(x) for x in values]
    s = _ZERO
    for x in xs:
        s = _add(s, x)
    s = _divide(s, n)
    if math.isfinite(_to_double(s)):
        t = _ZERO
        for x in xs:
            t = _add(t, _add(x, (-s[0], s[1])))
        s = _add(s, _divide(t, n))
    return _to_double(s)


# A long double is held exactly as (m, e), the number m x 2**e with |m| < 2**64: every double
# is one, and each operation below rounds its exact result to 64 significant bits, to nearest
# with ties to even, as the x87 does. (Its exponent range is far wider than any mean of doubles
# needs, so only the significand is modelled.)
_Dyadic = tuple[int, int]
_ZERO: Final[_Dyadic] = (0, 0)
_SIGNIFICAND_BITS: Final = 64
"""The x87 extended format's significand: R's LDOUBLE on x86-64."""


def _dyadic(x: float) -> _Dyadic:
    numerator, denominator = x.as_integer_ratio()  # the denominator is a power of two
    return _round((numerator, 1 - denominator.bit_length()))


def _round(value: _Dyadic, sticky: bool = False) -> _Dyadic:
    """`value` (plus a sticky bit below it) to 64 significant bits, ties to even."""
    m, e = value
    if m == 0:
        return _ZERO
    magnitude = abs(m)
    extra = magnitude.bit_length() - _SIGNIFICAND_BITS
    if extra <= 0:
        return value
    kept, dropped = magnitude >> extra, magnitude & ((1 << extra) - 1)
    half = 1 << (extra - 1)
    if dropped > half or (dropped == half and (sticky or kept & 1)):
        kept += 1
    return (kept if m > 0 else -kept, e + extra)


def _add(a: _Dyadic, b: _Dyadic) -> _Dyadic:
    e = min(a[1], b[1])
    return _round(((a[0] << (a[1] - e)) + (b[0] << (b[1] - e)), e))


def _divide(a: _Dyadic, n: int) -> _Dyadic:
    m, e = a
    if m == 0:
        return _ZERO
    shift = max(0, _SIGNIFICAND_BITS + 2 + n.bit_length() - abs(m).bit_length())
    quotient, remainder = divmod(abs(m) << shift, n)
    rounded = _round((quotient, e - shift), sticky=remainder != 0)
    return rounded if m > 0 else (-rounded[0], rounded[1])


def _to_double(value: _Dyadic) -> float:
    """A long double rounded to double (ties to even), as the C cast does; inf past the range."""
    m, e = value
    try:
        return float(Fraction(m) * Fraction(2) ** e) if e < 0 else float(m << e)
    except OverflowError:
        return math.inf if m > 0 else -math.inf


def group_limits(
    ys: Sequence[float], *, fix_after: int | None, screen_outliers: bool
) -> GroupLimits:
    """The limits of one group from its values in order (`ptd_spc_standard`'s `mutate`)."""
    base = ys if fix_after is None else ys[:fix_after]
    mean = r_mean(base)
    moving_ranges = [abs(b - a) for a, b in pairwise(base)]
    amr = r_mean(moving_ranges)
    if screen_outliers:
        cut = OUTLIER_FACTOR * amr
        amr = r_mean([mr for mr in moving_ranges if mr < cut])
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
