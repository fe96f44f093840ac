"""The learned risk's features: pure functions of one patient's scored observations.

Each patient has a `PatientState` (plain data, saved with the model): thinned histories of the
vitals and the NEWS2 total over the last day, the times of the nurses' full sets, and when
their features were last estimated. `observe` adds a scored observation to it; `features`
turns the state and the observation into the model's input (a dict of floats; a feature that
cannot be computed, such as a 6-hour trend on the first set, is left out, which the
standardised model reads as "average"). `reasons` puts the largest contributions into words.
Times are the observations' own (seconds since the epoch); no clock, no I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from typing import Final

import msgspec

from scoring import Context, ScoreResult, completed_years

__all__ = [
    "FEATURES",
    "TRACKED",
    "PatientState",
    "features",
    "observe",
    "reasons",
]

HOUR: Final = 3600.0
KEEP: Final = 25 * HOUR  # history kept: the long window and a margin
THIN: Final = 600.0  # a device's point is kept at most every 10 min; nurses' sets always
SHORT: Final = (6 * HOUR, 1 * HOUR)  # the short trend: now against the mean of 6 h..1 h ago
LONG: Final = (24 * HOUR, 12 * HOUR)  # the long trend: now against the mean of 24 h..12 h ago
MIN_SPREAD: Final = 3  # points needed for a standard deviation

# The tracked series: feature key → (vital in ScoreResult.vitals or "total", words, unit).
TRACKED: Final[Mapping[str, tuple[str, str, str]]] = {
    "rr": ("resp_rate", "respiratory rate", "/min"),
    "hr": ("heart_rate", "heart rate", "/min"),
    "spo2": ("spo2", "SpO2", " %"),
    "sbp": ("systolic_bp", "systolic BP", " mmHg"),
    "temp": ("temperature", "temperature", " °C"),
    "news2": ("total", "NEWS2", ""),
}
# NEWS2 parameters (ScoreResult.parameters keys) → words.
POINTS: Final[Mapping[str, str]] = {
    "resp_rate": "respiratory rate",
    "spo2": "SpO2",
    "air_or_oxygen": "oxygen",
    "systolic_bp": "systolic BP",
    "heart_rate": "heart rate",
    "consciousness": "consciousness",
    "temperature": "temperature",
}

FEATURES: Final[tuple[str, ...]] = (
    *TRACKED,  # current values
    *(f"pts_{p}" for p in POINTS),
    "not_alert",
    "on_oxygen",
    "scale2",
    "device",
    "incomplete",
    "age",
    "age_80",
    *(f"d6_{k}" for k in TRACKED),
    *(f"d24_{k}" for k in TRACKED),
    *(f"sd6_{k}" for k in TRACKED),
    "spo2_d6_on_oxygen",
    "news2_max24",
    "news2_mean24",
    "hours_since_set",
    "sets_24h",
    "log_hours_observed",
)


class PatientState(msgspec.Struct, kw_only=True):
    """One patient's history, as the features need it (saved with the model)."""

    first: float
    """When the model first saw them (seconds)."""
    series: dict[str, list[list[float]]] = msgspec.field(default_factory=dict)
    """Tracked key → [[time, value], ...] ascending, the last `KEEP` only."""
    sets: list[float] = msgspec.field(default_factory=list)
    """Times of the nurses' full sets in the last `KEEP`."""
    last_estimate: float | None = None
    last_learned: float | None = None
    """When an estimate of theirs last became a pending prediction (device snapshots are
    learned from at most every `learn_interval` seconds)."""


def _value(result: ScoreResult, vital: str) -> float | None:
    if vital == "total":
        return float(result.total)
    value = getattr(result.vitals, vital)
    return None if value is None or isinstance(value, bool) else float(value)


def observe(state: PatientState, result: ScoreResult, source: str) -> None:
    """Add a scored observation to the patient's history (times must not go backwards by
    more than the thinning: a late reading older than the latest point is not kept)."""
    now = result.time.timestamp()
    manual = source == "manual"
    if manual:
        state.sets.append(now)
    # A device snapshot carries older values forward: only what this reading measured counts.
    measured = result.measured if isinstance(result.measured, msgspec.Struct) else None
    for key, (vital, _, _) in TRACKED.items():
        if measured is not None and vital != "total" and getattr(measured, vital) is None:
            continue
        value = _value(result, vital)
        if value is None:
            continue
        points = state.series.setdefault(key, [])
        if points and now < points[-1][0]:
            continue
        if points and not manual and now - points[-1][0] < THIN:
            continue
        points.append([now, value])
    cut = now - KEEP
    for points in state.series.values():
        drop = 0
        while drop < len(points) and points[drop][0] < cut:
            drop += 1
        if drop:
            del points[:drop]
    while state.sets and state.sets[0] < cut:
        state.sets.pop(0)


def _first(point: list[float]) -> float:
    return point[0]


def _within(points: list[list[float]], start: float, end: float) -> list[list[float]]:
    """The points with start <= time <= end (the points are in time order)."""
    low = bisect_left(points, start, key=_first)
    high = bisect_right(points, end, lo=low, key=_first)
    return points[low:high]


def _mean(points: list[list[float]], start: float, end: float) -> float | None:
    values = _within(points, start, end)
    return sum(v for _, v in values) / len(values) if values else None


def features(
    state: PatientState, result: ScoreResult, context: Context, source: str
) -> dict[str, float]:
    """The model's input for this observation (after `observe`)."""
    now = result.time.timestamp()
    x: dict[str, float] = {}
    for key, (vital, _, _) in TRACKED.items():
        value = _value(result, vital)
        if value is not None:
            x[key] = value
    for parameter in POINTS:
        if parameter in result.parameters:
            x[f"pts_{parameter}"] = float(result.parameters[parameter])
    if result.vitals.consciousness is not None:
        x["not_alert"] = float(result.vitals.consciousness != "A")
    if result.vitals.on_oxygen is not None:
        x["on_oxygen"] = float(result.vitals.on_oxygen)
    x["scale2"] = float(result.spo2_scale == 2)
    x["device"] = float(source != "manual")
    x["incomplete"] = float(not result.complete)
    if context.birth_date is not None:
        age = completed_years(context.birth_date, result.time.date())
        x["age"] = float(age)
        x["age_80"] = float(age >= 80)
    for key in TRACKED:
        current = x.get(key)
        points = state.series.get(key, [])
        if current is None or not points:
            continue
        short = _mean(points, now - SHORT[0], now - SHORT[1])
        if short is not None:
            x[f"d6_{key}"] = current - short
        long = _mean(points, now - LONG[0], now - LONG[1])
        if long is not None:
            x[f"d24_{key}"] = current - long
        recent = [v for _, v in _within(points, now - SHORT[0], math.inf)]
        if len(recent) >= MIN_SPREAD:
            mean = sum(recent) / len(recent)
            x[f"sd6_{key}"] = math.sqrt(sum((v - mean) ** 2 for v in recent) / len(recent))
    if "d6_spo2" in x and x.get("on_oxygen") == 1.0:
        x["spo2_d6_on_oxygen"] = x["d6_spo2"]
    totals = [v for _, v in state.series.get("news2", [])]
    if totals:
        x["news2_max24"] = max(totals)
        x["news2_mean24"] = sum(totals) / len(totals)
    last_set = result.last_manual_obs
    if last_set is not None:
        x["hours_since_set"] = max(0.0, now - last_set.timestamp()) / HOUR
    x["sets_24h"] = float(sum(1 for t in state.sets if t >= now - 24 * HOUR))
    x["log_hours_observed"] = math.log1p(max(0.0, now - state.first) / HOUR)
    return x


def _phrase(name: str, x: Mapping[str, float], scaled: float) -> str:
    up = scaled > 0  # above the average the model has seen
    value = x.get(name, 0.0)
    if name in TRACKED:
        _, words, unit = TRACKED[name]
        return f"{words} {'high' if up else 'low'} ({value:g}{unit})"
    if name.startswith("pts_"):
        return f"NEWS2 {POINTS[name[4:]]} {value:g} point{'s' if value != 1 else ''}"
    for prefix, span in (("d6_", "6 h"), ("d24_", "24 h")):
        if name.startswith(prefix):
            key = name[len(prefix) :]
            words = TRACKED[key][1]
            way = "rising" if value > 0 else "falling"
            if key == "spo2" and x.get("on_oxygen") == 1.0 and value < 0:
                return f"SpO2 falling over {span} on oxygen"
            return f"{words} {way} over {span}"
    if name.startswith("sd6_"):
        words = TRACKED[name[4:]][1]
        return f"{words} {'unstable' if up else 'steady'} over 6 h"
    fixed = {
        "not_alert": "not alert (new confusion or reduced consciousness)",
        "on_oxygen": "on oxygen" if value else "on air",
        "scale2": "on SpO2 Scale 2" if value else "on SpO2 Scale 1",
        "device": "from a continuous device" if value else "nurses' sets (no device reading)",
        "incomplete": "incomplete set" if value else "complete set",
        "age_80": "aged 80 or over" if value else "under 80",
        "spo2_d6_on_oxygen": "SpO2 falling on oxygen" if value < 0 else "SpO2 rising on oxygen",
        "news2_max24": f"NEWS2 up to {value:g} in the last 24 h"
        if up
        else f"NEWS2 no higher than {value:g} in 24 h",
        "news2_mean24": f"NEWS2 averaging {value:.1f} over 24 h",
        "hours_since_set": f"{value:.1f} h since the last full set",
        "sets_24h": f"{value:g} full set{'s' if value != 1 else ''} in 24 h"
        if up
        else f"only {value:g} full set{'s' if value != 1 else ''} in 24 h",
        "log_hours_observed": f"observed for {math.expm1(value):.0f} h",
    }
    if name == "age":  # a decade, never the exact age: reasons reach the ward board
        decade = int(value) // 10 * 10
        return "aged 90 or over" if decade >= 90 else f"aged {decade}–{decade + 9}"
    return fixed.get(name, name)


def reasons(
    contributions: Mapping[str, float],
    x: Mapping[str, float],
    scaled: Mapping[str, float],
    top: int = 3,
) -> list[str]:
    """The features that push the risk up most (weight × standardised value > 0), in words,
    largest first, at most `top`; one phrase once. `x` holds the raw values, `scaled` the
    standardised ones (whether a value is above or below what the model has seen)."""
    ranked = sorted(
        ((c, name) for name, c in contributions.items() if c > 0), key=lambda t: (-t[0], t[1])
    )
    out: list[str] = []
    for _, name in ranked:
        phrase = _phrase(name, x, scaled.get(name, 0.0))
        if phrase not in out:
            out.append(phrase)
        if len(out) == top:
            break
    return out
