"""Band tables: a chart's printed bands turned into a lookup over the whole number line.

A chart prints bands such as "≤8", "9–11", "x–x.99" or "≥25". Between two printed bands there
may be a gap ("11" then "12", or "19.99" then "20"). A table is compiled once, at load, into
sorted cut points so that a lookup is one bisection, identical for a single value (`bisect`)
and for a column (`numpy.searchsorted`):

    value v falls in segment i = bisect_left(cuts, v), and scores values[i].

Charts that take the worse band (SPOT C1.4): each gap joins its worse neighbour.

Charts that round half-up to a precision first (SPEC §0.1): the rounding is folded into the
cuts, so no value is ever rounded at lookup. With step s and a band ending at grid value C,

    round_half_up(v) ≤ C  ⟺  decimal(v) < C + s/2  ⟺  v < fl(C + s/2)

where decimal(v) is v's shortest repr (the decimal it was written as) and fl the nearest
float. The last step holds because a short decimal such as 38.05 is the only short decimal in
its float's rounding interval, so repr(fl(38.05)) is "38.05" itself. `round_half_up` remains the
reference, and a property test holds the two together.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")

_QUANTUM = {p: Decimal(1).scaleb(-p) for p in range(4)}


def round_half_up(value: float, precision: int) -> float:
    """Round half-up to `precision` decimals, in decimal arithmetic (SPEC §1.6 convention A).

    The decimal is the value as written (its shortest repr), so 35.05 → 35.1, where binary
    rounding gives 35.0. Values already at the precision are returned as they are.
    """
    if round(value, precision) == value:
        return value
    return float(Decimal(repr(value)).quantize(_QUANTUM[precision], rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Band(Generic[T]):
    """One printed band: bounds as printed (None = unbounded) and what it maps to."""

    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool
    value: T

    def describe(self) -> str:
        """The band as a person reads it, e.g. "≥ 9 and ≤ 11"."""
        parts = []
        if self.low is not None:
            parts.append(f"{'≥' if self.low_inclusive else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'≤' if self.high_inclusive else '<'} {self.high:g}")
        return " and ".join(parts) or "any value"

    def contains(self, x: float) -> bool:
        """Whether x lies inside the printed band (not in a gap beside it)."""
        if self.low is not None and (x < self.low or (x == self.low and not self.low_inclusive)):
            return False
        return not (
            self.high is not None
            and (x > self.high or (x == self.high and not self.high_inclusive))
        )


_BOUND_KEYS = {"ge", "gt", "le", "lt"}


def parse_band(raw: Mapping[str, Any], value_key: str, where: str) -> Band[Any]:
    """Read one band from a chart file: {ge|gt = low, le|lt = high, <value_key> = value}."""
    unknown = set(raw) - _BOUND_KEYS - {value_key}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in band {dict(raw)}")
    if value_key not in raw:
        raise ValueError(f"{where}: band {dict(raw)} has no '{value_key}'")
    if ("ge" in raw and "gt" in raw) or ("le" in raw and "lt" in raw):
        raise ValueError(f"{where}: band {dict(raw)} gives a bound twice")
    low = raw.get("ge", raw.get("gt"))
    high = raw.get("le", raw.get("lt"))
    for bound in (low, high):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise ValueError(f"{where}: band {dict(raw)} has a bound that is not a number")
    return Band(
        low=None if low is None else float(low),
        low_inclusive="ge" in raw,
        high=None if high is None else float(high),
        high_inclusive="le" in raw,
        value=raw[value_key],
    )


@dataclass(frozen=True, slots=True, eq=False)
class BandTable(Generic[T]):
    """A compiled band table. `lookup` and `lookup_array` agree on every input."""

    bands: tuple[Band[T], ...]
    cuts: tuple[float, ...]
    values: tuple[T, ...]

    def lookup(self, x: float) -> T:
        """The value of the segment x falls in."""
        return self.values[bisect_left(self.cuts, x)]

    def segment_array(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """Segment index for each value of a column (NaN gives an arbitrary one: mask it)."""
        return segments(self.cuts, x)


def segments(cuts: Sequence[float], x: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """bisect_left for a column: the number of cuts below each value.

    Charts have a handful of cuts, where counting comparisons beats numpy's binary search.
    """
    index = np.zeros(x.shape, dtype=np.intp)
    for cut in cuts:
        index += x > cut
    return index


def compile_bands(
    bands: Sequence[Band[T]],
    severity: Callable[[T], float],
    where: str,
    step: Decimal | None = None,
) -> BandTable[T]:
    """Check printed bands and compile them into cut points.

    Args:
        bands: the printed bands, ascending.
        severity: how bad a band's value is; a gap joins its worse neighbour.
        where: names the table in error messages.
        step: for charts that round first, the precision step; every gap between two bands
            must then be exactly one step, so that every rounded value has a printed band.

    Raises:
        ValueError: the bands overlap, are out of order, leave part of the line uncovered,
            or (with `step`) leave a gap a rounded value could fall into.
    """
    if not bands:
        raise ValueError(f"{where}: no bands")
    if bands[0].low is not None:
        raise ValueError(
            f"{where}: the first band must have no lower bound ({bands[0].describe()})"
        )
    if bands[-1].high is not None:
        raise ValueError(
            f"{where}: the last band must have no upper bound ({bands[-1].describe()})"
        )
    cuts: list[float] = []
    for a, b in pairwise(bands):
        if a.high is None or b.low is None:
            raise ValueError(f"{where}: only the first and last bands may be open-ended")
        if a.low is not None and (
            a.high < a.low or (a.high == a.low and not (a.low_inclusive and a.high_inclusive))
        ):
            raise ValueError(f"{where}: band {a.describe()} is empty")
        if b.low < a.high or (b.low == a.high and a.high_inclusive and b.low_inclusive):
            raise ValueError(
                f"{where}: bands {a.describe()} and {b.describe()} overlap or are out of order"
            )
        touching = b.low == a.high and a.high_inclusive != b.low_inclusive
        if step is not None and not touching:
            width = Decimal(repr(b.low)) - Decimal(repr(a.high))
            if not (a.high_inclusive and b.low_inclusive and width == step):
                raise ValueError(
                    f"{where}: between {a.describe()} and {b.describe()} lies a gap a value rounded to {step} can fall into"
                )
        if step is not None:
            # Values that round to the grid value at or below the boundary go left.
            grid = Decimal(repr(a.high)) if a.high_inclusive else Decimal(repr(a.high)) - step
            cuts.append(math.nextafter(float(grid + step / 2), -math.inf))
            continue
        # The boundary belongs to whichever side is printed inclusive; a gap joins the worse.
        if touching or severity(a.value) >= severity(b.value):
            cut, v_le_cut_goes_left = b.low, not b.low_inclusive
        else:
            cut, v_le_cut_goes_left = a.high, a.high_inclusive
        # Every cut is stored as "v ≤ cut goes left", the form bisect_left needs.
        cuts.append(cut if v_le_cut_goes_left else math.nextafter(cut, -math.inf))
    return BandTable(
        bands=tuple(bands),
        cuts=tuple(cuts),
        values=tuple(band.value for band in bands),
    )
