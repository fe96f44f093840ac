"""Confidence intervals, exact arithmetic where it matters; pure.

- Proportions: Wilson's score interval (Wilson 1927; Newcombe 1998, method 3), the interval
  Public Health England and NHS Digital use for proportions.
- Counts and rates: the exact Poisson interval (Garwood 1936: the means at which the observed
  count is the upper, resp. lower, 2.5 % tail), found by bisection on the Poisson distribution
  function for counts up to `EXACT_UP_TO`, and Byar's approximation to it (Breslow and Day 1987,
  as in PHE's *Technical Guide: Confidence Intervals*) above, where the two agree to better than
  one part in 10,000. A rate's interval is the count's divided by its denominator (the
  exposure is taken as known).
- Clustering by patient (`clustered`): one patient gives many items, and they are not
  independent (a chronically abnormal patient alerts again and again; a patient's sets are all
  late together), so the intervals above are too narrow for a group of a few tens of patients.
  The equity tables (and the window totals beside them) show the union of the interval above
  and the cluster-robust one of the ratio R = sum(y_i) / sum(x_i) over the group's patients
  (y_i the patient's numerator, x_i their denominator: trials, admissions or patient-days): the
  linearised (sandwich) variance of a ratio estimator, Var(R) = n/(n-1) sum_i (y_i - R x_i)^2 /
  (sum x_i)^2 (Cochran, *Sampling Techniques*, 3rd ed. 1977, section 6.4; Donner and Klar,
  *Design and Analysis of Cluster Randomization Trials in Health Research*, 2000, ch. 6), and R
  +- 1.96 se, clipped to [0, per] for a proportion and at 0 for a rate; from the patients' sums'
  moments (`Moments`), in whole numbers, so that it is the same whatever order they are added in.
  With fewer than 2 patients the interval above stands alone.

scipy is not a dependency of the project (it is installed only as another package's): the
formulas are closed forms and the tests check them against published values and, where scipy is
present, against the exact chi-square interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Final

Z95: Final = NormalDist().inv_cdf(0.975)
"""The standard normal quantile of a two-sided 95 % interval (1.959963984540054)."""


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of the proportion `successes / trials`.

    Raises:
        ValueError: no trials, a negative count, or more successes than trials.
    """
    if trials <= 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson: {successes} of {trials} is not a proportion")
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    scale = 1 + z2 / trials
    low = 0.0 if successes == 0 else (centre - half) / scale
    high = 1.0 if successes == trials else (centre + half) / scale
    return low, high


EXACT_UP_TO: Final = 100
"""Counts up to this get the exact Poisson interval; larger ones Byar's."""


@lru_cache(maxsize=4096)
def poisson_count(count: int, z: float = Z95) -> tuple[float, float]:
    """The interval of a Poisson count (95 % by default): exact up to `EXACT_UP_TO`, Byar's
    above.

    Raises:
        ValueError: a negative count.
    """
    if count < 0:
        raise ValueError(f"poisson_count: a count cannot be negative ({count})")
    tail = 1 - NormalDist().cdf(z)  # 0.025
    if count <= EXACT_UP_TO:
        low = 0.0 if count == 0 else _solve(lambda m: 1 - _cdf(count - 1, m), tail, count)
        high = _solve(lambda m: -_cdf(count, m), -tail, count)
        return low, high
    return byar(count, z)


def byar(count: int, z: float = Z95) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval of a count of 1 or more."""
    o, o1 = float(count), float(count + 1)
    low = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    high = o1 * (1 - 1 / (9 * o1) + z / (3 * math.sqrt(o1))) ** 3
    return low, high


def rate_interval(count: int, exposure: float, per: float) -> tuple[float, float]:
    """The interval of the rate `count / exposure * per` (Byar's on the count).

    Raises:
        ValueError: an exposure that is not more than 0, or a negative count.
    """
    if not exposure > 0:
        raise ValueError(f"rate_interval: the exposure must be more than 0, not {exposure}")
    low, high = poisson_count(count)
    return low / exposure * per, high / exposure * per


def _cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), summed in log space (no underflow for large means)."""
    if mean <= 0:
        return 1.0
    logs = [-mean + i * math.log(mean) - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def _solve(f: Callable[[float], float], goal: float, count: int) -> float:
    """The mean at which the increasing function `f` reaches `goal`, by bisection."""
    low, high = 0.0, count + 10 * math.sqrt(count + 1) + 10
    for _ in range(200):
        middle = (low + high) / 2
        if f(middle) < goal:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


@dataclass(frozen=True, slots=True)
class Moments:
    """The sufficient statistics of a ratio over clusters (patients), in whole numbers: `n`
    clusters, the sums of their numerators `y` and denominators `x`, and of `y*y`, `x*y`,
    `x*x`."""

    n: int
    y: int
    x: int
    yy: int
    xy: int
    xx: int

    @staticmethod
    def of(pairs: Iterable[tuple[int, int]]) -> Moments:
        """The moments of each cluster's `(y, x)`."""
        n = y = x = yy = xy = xx = 0
        for a, b in pairs:
            n += 1
            y += a
            x += b
            yy += a * a
            xy += a * b
            xx += b * b
        return Moments(n, y, x, yy, xy, xx)


def clustered(
    m: Moments, per: float, unit: float = 1.0, *, cap: float | None = None, z: float = Z95
) -> tuple[float, float] | None:
    """The cluster-robust interval of `per * unit * y / x` (`unit`: the denominators' unit, e.g.
    microseconds per day), R +- z se with Var(R) = n/(n-1) sum (y_i - R x_i)^2 / x^2, clipped at
    0 and at `cap`; None with fewer than 2 clusters or no denominator.

    Raises:
        ValueError: a negative sum or moment.
    """
    if min(m.n, m.y, m.x, m.yy, m.xx) < 0:
        raise ValueError(f"clustered: negative moments {m}")
    if m.n < 2 or m.x <= 0:
        return None
    # sum (y_i X - Y x_i)^2, exactly: X^2 sum y^2 - 2 X Y sum xy + Y^2 sum x^2.
    spread = m.x * m.x * m.yy - 2 * m.x * m.y * m.xy + m.y * m.y * m.xx
    ratio = per * unit * m.y / m.x
    se = per * unit * math.sqrt(m.n / (m.n - 1) * (spread / m.x**4))
    low, high = max(0.0, ratio - z * se), ratio + z * se
    return low, high if cap is None else min(cap, high)


def widest(a: tuple[float, float], b: tuple[float, float] | None) -> tuple[float, float]:
    """The union of two intervals (`a` alone when `b` is None)."""
    return a if b is None else (min(a[0], b[0]), max(a[1], b[1]))
