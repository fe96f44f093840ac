"""Checks an observation set must pass before a chart scores it (SPEC §0.5, §6.3).

`check` returns every problem at once (so the sender can fix them all) and the queries: values
that are scored but that the nurse should confirm.
"""

from __future__ import annotations

from scoring._charts import Chart
from scoring._columns import category_key
from scoring._errors import Problem
from scoring._model import VITAL_KEYS, ObservationSet, Vitals


def number(x: float) -> str:
    """A value as it was sent: 22, not 22.0."""
    return str(int(x)) if x.is_integer() else repr(x)


def check(chart: Chart, obs: ObservationSet) -> tuple[list[Problem], list[str]]:
    """Problems that refuse the set, and queries to confirm, for this chart."""
    vitals = obs.vitals
    problems: list[Problem] = []
    for key, reason in obs.not_recorded.items():
        if key not in VITAL_KEYS:
            problems.append(
                Problem(
                    key, "unknown-key", f"not_recorded names {key!r}, which is not a vital sign"
                )
            )
        elif getattr(vitals, key) is not None:
            problems.append(
                Problem(
                    key,
                    "contradictory",
                    f"{key} is given and also named in not_recorded ({reason!r})",
                )
            )
    plausibility = chart.plausibility
    for limit in plausibility.reject:
        key, x = limit.key, getattr(vitals, limit.key)
        if x is not None and limit.outside(x):
            hint = _hint(key, x)
            problems.append(
                Problem(
                    key,
                    "implausible",
                    f"{key} {number(x)} is implausible: it must be {limit.band.describe()}{hint}",
                )
            )
    for lower, higher in plausibility.pairs:
        low, high = getattr(vitals, lower), getattr(vitals, higher)
        if low is not None and high is not None and low >= high:
            problems.append(
                Problem(
                    lower,
                    "implausible",
                    f"{lower} {number(low)} is not below {higher} {number(high)}",
                )
            )
    problems.extend(_contradictions(vitals))
    for key, accepted in chart.accepted.items():
        value = getattr(vitals, key)
        if value is not None and category_key(value) not in accepted:
            problems.append(
                Problem(
                    key,
                    "not-on-chart",
                    f"{key} {category_key(value)!r} is not on chart {chart.id} (it takes {', '.join(sorted(accepted))})",
                )
            )
    queries = [
        f"{limit.key} {number(x)} is outside {limit.band.describe()}: confirm the reading"
        for limit in plausibility.query
        if (x := getattr(vitals, limit.key)) is not None and limit.outside(x)
    ]
    return problems, queries


def _hint(key: str, x: float) -> str:
    """What an implausible value most likely means, for the person who sent it."""
    if x == 0:
        return " (0 means not measured: leave the key out, or name it in not_recorded)"
    if key == "spo2" and 0 < x <= 1:
        percent = number(round(x * 100, 6))
        return (
            f" (SpO2 is a percentage: {number(x)} looks like a fraction, {percent} %; send the "
            "percentage: units are never converted)"
        )
    return ""


def _contradictions(v: Vitals) -> list[Problem]:
    flow, percent, device = v.oxygen_flow_lpm, v.oxygen_percent, v.oxygen_device
    if flow is None and percent is None and device is None and v.bp_code is None:
        return []  # the common case: nothing that could contradict
    problems = []
    if flow is not None and percent is not None:
        problems.append(
            Problem(
                "oxygen_percent",
                "contradictory",
                "give the oxygen level as oxygen_flow_lpm or oxygen_percent, not both",
            )
        )
    level_given = flow is not None or percent is not None
    if device == "air" and (v.on_oxygen or level_given):
        problems.append(
            Problem("oxygen_device", "contradictory", "oxygen_device is air but oxygen is in use")
        )
    if v.on_oxygen is False and (level_given or device not in (None, "air")):
        problems.append(
            Problem(
                "on_oxygen",
                "contradictory",
                "on_oxygen is false but a device or oxygen level is given",
            )
        )
    if v.bp_code is not None and v.systolic_bp is not None:
        problems.append(
            Problem(
                "bp_code",
                "contradictory",
                "bp_code says BP was not recorded, but systolic_bp is given",
            )
        )
    return problems
