"""AKI warning stage for adults: the NHS England 2014 algorithm (SPEC §4.1, §0.6).

Pure: no clock, and no I/O beyond reading the rules file (`scoring/rules/aki.toml`) once, at
import, for `DEFAULT_AKI_RULES`. The thresholds and windows are data; the flow is here:

1. No previous result within 365 days: no baseline, no stage (`baseline=False`).
2. RV1 = the lowest result in the 7 × 24 h before the current one; RV2 = the median of the
   results from 7 × 24 h to 365 days before (the mean of the two middle values for an even
   count). RatioRV = the higher of C1/RV1 and C1/RV2, whichever exist.
3. RatioRV ≥ 1.5: ≥ 3 → stage 3; else C1 > 354 µmol/L → stage 3 (this absolute rule applies
   only in this branch); else ≥ 2 → stage 2; else stage 1.
4. RatioRV < 1.5: D = C1 − the lowest result within the previous 48 h, if there is one;
   D > 26 µmol/L → stage 1, otherwise no alert.

Windows (SPEC §0.6) are measured in elapsed time (both times taken to UTC, so a clock change
does not move an edge): a previous result of age a = current time − its time is in RV1 when
0 < a ≤ 7 × 24 h, in RV2 when 7 × 24 h < a ≤ 365 × 24 h, a baseline when 0 < a ≤ 365 × 24 h,
and in the 48 h window when 0 < a ≤ 48 h. Results at or after the current one are ignored.

Arithmetic is exact: every value is read as the decimal it was written as (its shortest repr)
into a `Fraction`, so no floating-point error can move a ratio across 1.5, 2 or 3, nor a rise
across 26.

**Adults only.** The paediatric rule's place in the flow (SPEC §4.3) is UNCERTAIN and is not
implemented: the caller must not call `aki_stage` for a patient under 18.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from scoring._errors import ChartError

SHIPPED = "scoring/rules/aki.toml"
"""Where the shipped rules live, as named in errors."""
STATUSES = ("EXACT", "EXACT-WITH-CAVEATS", "UNCERTAIN")
_HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class Creatinine:
    """One serum creatinine result.

    Attributes:
        time: when the sample was taken; timezone-aware.
        value: µmol/L, finite and > 0.
    """

    time: datetime
    value: float

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"creatinine time {self.time.isoformat()} has no timezone")
        if (
            isinstance(self.value, bool)
            or not isinstance(self.value, int | float)
            or not math.isfinite(self.value)
            or self.value <= 0
        ):
            raise ValueError(f"creatinine value must be a finite number > 0 (got {self.value!r})")


@dataclass(frozen=True, slots=True)
class AkiResult:
    """The AKI warning stage for one creatinine result.

    Attributes:
        stage: 1, 2 or 3; None = no alert.
        reason: why, for a person, e.g. "ratio 2.10 to RV1 (lowest in the previous 7 days,
            95 µmol/L): stage 2".
        ratio: RatioRV, exact (the higher of C1/RV1 and C1/RV2); None without a baseline.
        rv1: the lowest result in the RV1 window (µmol/L), None if there is none.
        rv2: the median of the results in the RV2 window (µmol/L), None if there are none.
        baseline: False when there is no previous result within 365 days: no stage is given.
    """

    stage: int | None
    reason: str
    ratio: Fraction | None
    rv1: float | None
    rv2: float | None
    baseline: bool


@dataclass(frozen=True, slots=True)
class Window:
    """Ages of a previous result (current time − its time) that a window takes."""

    low: timedelta
    low_inclusive: bool
    high: timedelta
    high_inclusive: bool

    def contains(self, age: timedelta) -> bool:
        above = age > self.low or (self.low_inclusive and age == self.low)
        below = age < self.high or (self.high_inclusive and age == self.high)
        return above and below


@dataclass(frozen=True, slots=True)
class AkiRules:
    """The algorithm's thresholds and windows, read from a rules file (SPEC §4.1, §0.6).

    Ratios are inclusive lower bounds; `stage3_creatinine_gt` and `rise_gt` are strict.
    """

    id: str
    title: str
    source: str
    spec: str
    status: str
    stage1_ratio: Fraction
    stage2_ratio: Fraction
    stage3_ratio: Fraction
    stage3_creatinine_gt: Fraction
    rise_gt: Fraction
    rv1: Window
    rv2: Window
    baseline: Window
    rise: Window


def load_aki_rules(path: Path | str | None = None) -> AkiRules:
    """Read the AKI rules from `path`, or the shipped `scoring/rules/aki.toml`.

    Raises:
        ChartError: the file is malformed (the file and the field are named); nothing is used.
    """
    if path is None:
        where = SHIPPED
        data = (resources.files("scoring") / "rules" / "aki.toml").read_bytes()
    else:
        where = str(path)
        data = Path(path).read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChartError(where, f"not valid TOML: {exc}") from exc
    try:
        return _rules(raw)
    except ValueError as exc:
        raise ChartError(where, str(exc)) from exc


def _rules(raw: Mapping[str, Any]) -> AkiRules:
    _known(raw, {"id", "title", "source", "spec", "status", "unit", "ratio_ge", "creatinine_gt", "windows"}, "")  # fmt: skip
    text = {key: _get(raw, key, str, key) for key in ("id", "title", "source", "spec", "status")}
    for key, value in text.items():
        if not value.strip():
            raise ValueError(f"'{key}' is empty")
    if text["status"] not in STATUSES:
        raise ValueError(f"'status' must be one of {STATUSES} (got {text['status']!r})")
    if _get(raw, "unit", str, "unit") != "umol/L":
        raise ValueError(f"'unit' must be \"umol/L\" (got {raw['unit']!r})")

    ratios = _get(raw, "ratio_ge", dict, "ratio_ge")
    _known(ratios, {"stage1", "stage2", "stage3"}, "ratio_ge.")
    s1, s2, s3 = (_number(ratios, k, "ratio_ge.") for k in ("stage1", "stage2", "stage3"))
    if not 0 < s1 < s2 < s3:
        raise ValueError("ratio_ge: need 0 < stage1 < stage2 < stage3")
    absolute = _get(raw, "creatinine_gt", dict, "creatinine_gt")
    _known(absolute, {"stage3", "rise"}, "creatinine_gt.")
    c3, rise = (_number(absolute, k, "creatinine_gt.") for k in ("stage3", "rise"))
    if c3 <= 0:
        raise ValueError("creatinine_gt.stage3: must be > 0")
    if rise < 0:
        raise ValueError("creatinine_gt.rise: must be ≥ 0")

    windows_raw = _get(raw, "windows", dict, "windows")
    _known(windows_raw, {"rv1", "rv2", "baseline", "rise"}, "windows.")
    w = {k: _window(windows_raw, k) for k in ("rv1", "rv2", "baseline", "rise")}
    if w["rv1"].high != w["rv2"].low or w["rv1"].high_inclusive == w["rv2"].low_inclusive:
        raise ValueError(
            "windows.rv2: must start where windows.rv1 ends, with exactly one of them taking "
            "the edge (rv1 le = X and rv2 gt = X, or rv1 lt = X and rv2 ge = X)"
        )
    spans = (w["rv1"].low, w["rv1"].low_inclusive, w["rv2"].high, w["rv2"].high_inclusive)
    base = w["baseline"]
    if (base.low, base.low_inclusive, base.high, base.high_inclusive) != spans:
        raise ValueError("windows.baseline: must span exactly windows.rv1 and windows.rv2")
    return AkiRules(
        id=text["id"],
        title=text["title"],
        source=text["source"],
        spec=text["spec"],
        status=text["status"],
        stage1_ratio=s1,
        stage2_ratio=s2,
        stage3_ratio=s3,
        stage3_creatinine_gt=c3,
        rise_gt=rise,
        rv1=w["rv1"],
        rv2=w["rv2"],
        baseline=base,
        rise=w["rise"],
    )


def _known(raw: Mapping[str, Any], keys: set[str], prefix: str) -> None:
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(prefix + k for k in unknown)}")


def _get(raw: Mapping[str, Any], key: str, kind: type, field: str) -> Any:
    if key not in raw:
        raise ValueError(f"'{field}' is required")
    if not isinstance(raw[key], kind):
        raise ValueError(f"'{field}' must be a {kind.__name__} (got {raw[key]!r})")
    return raw[key]


def _number(raw: Mapping[str, Any], key: str, prefix: str) -> Fraction:
    field = prefix + key
    if key not in raw:
        raise ValueError(f"'{field}' is required")
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{field}' must be a finite number (got {value!r})")
    return _exact(value)


def _window(raw: Mapping[str, Any], key: str) -> Window:
    field = f"windows.{key}"
    spec = _get(raw, key, dict, field)
    _known(spec, {"gt", "ge", "lt", "le"}, f"{field}.")
    lows = [k for k in ("gt", "ge") if k in spec]
    highs = [k for k in ("lt", "le") if k in spec]
    if len(lows) != 1 or len(highs) != 1:
        raise ValueError(f"'{field}' needs one lower bound (gt or ge) and one upper (lt or le)")
    low, high = _hours(spec, lows[0], f"{field}."), _hours(spec, highs[0], f"{field}.")
    if low < timedelta(0) or (low == timedelta(0) and lows[0] == "ge"):
        raise ValueError(f"'{field}': only earlier results count, so the lower bound is gt ≥ 0")
    if high <= low:
        raise ValueError(f"'{field}': the upper bound must be above the lower")
    return Window(low, lows[0] == "ge", high, highs[0] == "le")


def _hours(raw: Mapping[str, Any], key: str, prefix: str) -> timedelta:
    us = _number(raw, key, prefix) * _HOUR_US
    if us.denominator != 1:
        raise ValueError(f"'{prefix}{key}' must be a whole number of microseconds, in hours")
    return timedelta(microseconds=int(us))


def _exact(value: float) -> Fraction:
    """The decimal a number was written as (its shortest repr), exactly."""
    return Fraction(Decimal(repr(float(value))))


def _median(sorted_values: list[Fraction]) -> Fraction:
    n = len(sorted_values)
    mid = n // 2
    if n % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def _show(x: Fraction | float) -> str:
    """A value for a person: 95, 87.3, 100.55 (its nearest float's shortest repr)."""
    f = float(x)
    return str(int(f)) if f.is_integer() else repr(f)


def _floor2(ratio: Fraction) -> str:
    """A ratio to 2 decimals, rounded down, so a ratio below a threshold never shows it."""
    hundredths = math.floor(ratio * 100)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _span(td: timedelta) -> str:
    """A window edge for a person: '48 h', or whole days beyond 48 h ('7 days')."""
    if td > timedelta(hours=48) and td % timedelta(days=1) == timedelta(0):
        return f"{td.days} days"
    return f"{_show(td / timedelta(hours=1))} h"


DEFAULT_AKI_RULES = load_aki_rules()
"""The shipped rules (SPEC §4.1 and §0.6), read once at import."""


def aki_stage(
    current: Creatinine, previous: Iterable[Creatinine], rules: AkiRules = DEFAULT_AKI_RULES
) -> AkiResult:
    """The adult AKI warning stage of `current`, given the patient's other results.

    `previous` may be in any order and may hold results at or after `current`: only strictly
    earlier ones are used. `rules` defaults to the shipped rules.
    Adults only: do not call this for children (SPEC §4.3 is UNCERTAIN).
    """
    now = current.time.astimezone(UTC)
    c1 = _exact(current.value)
    aged: list[tuple[timedelta, Fraction]] = []
    for p in previous:
        age = now - p.time.astimezone(UTC)
        if age > timedelta(0):
            aged.append((age, _exact(p.value)))

    if not any(rules.baseline.contains(age) for age, _ in aged):
        return AkiResult(
            None,
            f"no previous creatinine within {_span(rules.baseline.high)}: no baseline, "
            "no AKI stage for adults",
            None,
            None,
            None,
            False,
        )

    in_rv1 = [v for age, v in aged if rules.rv1.contains(age)]
    in_rv2 = sorted(v for age, v in aged if rules.rv2.contains(age))
    rv1 = min(in_rv1) if in_rv1 else None
    rv2 = _median(in_rv2) if in_rv2 else None
    candidates: list[tuple[Fraction, str]] = []
    if rv1 is not None:
        candidates.append(
            (c1 / rv1, f"RV1 (lowest in the previous {_span(rules.rv1.high)}, {_show(rv1)} µmol/L)")
        )
    if rv2 is not None:
        count = f"{len(in_rv2)} result{'s' if len(in_rv2) > 1 else ''}"
        candidates.append(
            (
                c1 / rv2,
                f"RV2 (median of {count} from {_span(rules.rv2.low)} to {_span(rules.rv2.high)} "
                f"before, "
                f"{_show(rv2)} µmol/L)",
            )
        )
    rv1_out = None if rv1 is None else float(rv1)
    rv2_out = None if rv2 is None else float(rv2)
    if not candidates:  # not with a loaded file (its baseline is RV1 ∪ RV2): hand-built rules
        ratio = None
        said = "no result in the RV1 or RV2 window"
    else:
        # The higher ratio; on a tie, RV1 (listed first; max keeps the first maximum).
        ratio, which = max(candidates, key=lambda c: c[0])
        said = f"ratio {_floor2(ratio)} to {which}"

    def result(stage: int | None, why: str) -> AkiResult:
        return AkiResult(stage, f"{said}{why}", ratio, rv1_out, rv2_out, True)

    if ratio is not None and ratio >= rules.stage1_ratio:
        if ratio >= rules.stage3_ratio:
            return result(3, ": stage 3")
        if c1 > rules.stage3_creatinine_gt:
            return result(
                3,
                f", and creatinine {_show(c1)} µmol/L > {_show(rules.stage3_creatinine_gt)}: stage 3",
            )
        if ratio >= rules.stage2_ratio:
            return result(2, ": stage 2")
        return result(1, ": stage 1")

    below = "" if ratio is None else f", below {_show(rules.stage1_ratio)}"
    recent = [v for age, v in aged if rules.rise.contains(age)]
    if not recent:
        return result(
            None, f"{below}; no result in the previous {_span(rules.rise.high)}: no alert"
        )
    low = min(recent)
    rise = c1 - low
    text = (
        f"{below}; rise of {_show(rise)} µmol/L over the lowest in the previous "
        f"{_span(rules.rise.high)} ({_show(low)} µmol/L)"
    )
    if rise > rules.rise_gt:
        return result(1, f"{text} > {_show(rules.rise_gt)}: stage 1")
    return result(None, f"{text}, not > {_show(rules.rise_gt)}: no alert")
