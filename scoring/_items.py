"""Chart items, escalation and prompts: each scores one observation set and a column of them.

Every class keeps its scalar rule (`score`) beside its column rule (`score_columns`), so that
the two can be read together; tests check that they agree on every input.

Column conventions: see `scoring._columns` (NaN or code -1 where a value is absent; a points
column is int16 with MISSING where the item could not be scored).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from scoring._bands import BandTable
from scoring._columns import MISSING, BoolArray, Columns, FloatArray, Int16Array, category_key
from scoring._model import Context, Vitals


def derive_on_oxygen(vitals: Vitals) -> bool | None:
    """Whether supplemental oxygen is in use: stated, or implied by the device or a level."""
    if vitals.on_oxygen is not None:
        return vitals.on_oxygen
    if vitals.oxygen_device is not None:
        return vitals.oxygen_device != "air"
    if vitals.oxygen_flow_lpm is not None or vitals.oxygen_percent is not None:
        return True
    return None


def code_points(mapping: Mapping[str, int], vocabulary: tuple[str, ...]) -> Int16Array:
    """Points per vocabulary code (MISSING for values the chart does not take), plus one
    trailing MISSING entry so that code -1 (absent) indexes it."""
    return np.array([mapping.get(v, MISSING) for v in vocabulary] + [MISSING], dtype=np.int16)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A numeric input read through a band table (which already folds in any rounding)."""

    input: str
    table: BandTable[int]

    def value(self, x: float) -> int:
        return self.table.lookup(x)

    def values(self, x: FloatArray) -> Int16Array:
        """The same lookup for a column; NaN rows give an arbitrary value: mask them."""
        values = np.array(self.table.values, dtype=np.int16)
        return values[self.table.segment_array(x)]


@dataclass(frozen=True, slots=True)
class Variant:
    """Band table used when its conditions hold (None = any)."""

    spo2_scale: int | None
    on_oxygen: bool | None
    lookup: Lookup


@dataclass(frozen=True, slots=True)
class SkipCodes:
    """Codes recorded instead of a value (PEWS BP: NCO, U0, U4) and their points."""

    input: str
    points: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class BandsItem:
    """A numeric parameter scored by bands, optionally by variant (NEWS2 SpO2 scales).

    With variants, a set whose conditions are unknown (on_oxygen not given) is scored only
    when every variant still possible gives the same points; otherwise it is missing.
    """

    key: str
    input: str
    variants: tuple[Variant, ...]
    skip: SkipCodes | None = None

    def score(self, vitals: Vitals, on_oxygen: bool | None, spo2_scale: int) -> int | None:
        x = getattr(vitals, self.input)
        if x is None:
            if self.skip is not None:
                code = getattr(vitals, self.skip.input)
                if code is not None:
                    return self.skip.points[code]
            return None
        if len(self.variants) == 1:
            table = self.variants[0].lookup.table
            return table.values[bisect_left(table.cuts, x)]
        result: int | None = None
        for variant in self.variants:
            if variant.spo2_scale is not None and variant.spo2_scale != spo2_scale:
                continue
            if (
                variant.on_oxygen is not None
                and on_oxygen is not None
                and variant.on_oxygen != on_oxygen
            ):
                continue
            points = variant.lookup.value(x)
            if result is None:
                result = points
            elif result != points:
                return None
        return result

    def score_columns(self, cols: Columns, on_oxygen: FloatArray) -> Int16Array:
        x = cols.numeric[self.input]
        present = ~np.isnan(x)
        if len(self.variants) == 1:
            points = self.variants[0].lookup.values(x)
        else:
            low = np.full(cols.n, np.iinfo(np.int16).max, dtype=np.int16)
            high = np.full(cols.n, np.iinfo(np.int16).min, dtype=np.int16)
            for variant in self.variants:
                possible = np.ones(cols.n, dtype=np.bool_)
                if variant.spo2_scale is not None:
                    possible &= cols.spo2_scale == variant.spo2_scale
                if variant.on_oxygen is not None:
                    possible &= np.isnan(on_oxygen) | (on_oxygen == float(variant.on_oxygen))
                p = variant.lookup.values(x)
                low = np.where(possible, np.minimum(low, p), low)
                high = np.where(possible, np.maximum(high, p), high)
            points = np.where(low == high, low, MISSING).astype(np.int16)
        points = np.where(present, points, MISSING).astype(np.int16)
        if self.skip is not None:
            skip = code_points(self.skip.points, cols.vocabulary(self.skip.input))
            points = np.where(present, points, skip[cols.categorical[self.skip.input]])
        return points


@dataclass(frozen=True, slots=True)
class CategoryItem:
    """A categorical parameter (ACVPU, respiratory distress, air or oxygen)."""

    key: str
    input: str
    points: Mapping[str, int]

    def score(self, vitals: Vitals, on_oxygen: bool | None, spo2_scale: int) -> int | None:
        value = on_oxygen if self.input == "on_oxygen" else getattr(vitals, self.input)
        if value is None:
            return None
        return self.points[category_key(value)]

    def score_columns(self, cols: Columns, on_oxygen: FloatArray) -> Int16Array:
        if self.input == "on_oxygen":
            table = np.array([self.points["false"], self.points["true"]], dtype=np.int16)
            known = ~np.isnan(on_oxygen)
            return np.where(
                known, table[np.where(known, on_oxygen, 0).astype(np.intp)], MISSING
            ).astype(np.int16)
        table = code_points(self.points, cols.vocabulary(self.input))
        return table[cols.categorical[self.input]]


@dataclass(frozen=True, slots=True)
class SupportItem:
    """PEWS respiratory support: device and delivery level (% or L/min), SPEC §2.5.

    A device scoring the item's maximum overrides the level. Otherwise the level is scored;
    with no level, or with no device when the level is below the maximum (the device could
    be one that overrides), the item is missing rather than guessed.
    """

    key: str
    device: Mapping[str, int]
    percent: Lookup
    flow: Lookup
    max_points: int

    def score(self, vitals: Vitals, on_oxygen: bool | None, spo2_scale: int) -> int | None:
        device = vitals.oxygen_device
        if device is not None and self.device[device] == self.max_points:
            return self.max_points
        if on_oxygen is False:
            return 0
        if vitals.oxygen_percent is not None:
            level = self.percent.value(vitals.oxygen_percent)
        elif vitals.oxygen_flow_lpm is not None:
            level = self.flow.value(vitals.oxygen_flow_lpm)
        else:
            return None
        if level == self.max_points:
            return level
        if device is None:
            return None
        return max(self.device[device], level)

    def score_columns(self, cols: Columns, on_oxygen: FloatArray) -> Int16Array:
        device_code = cols.categorical["oxygen_device"]
        device = code_points(self.device, cols.vocabulary("oxygen_device"))[device_code]
        pct, flow = cols.numeric["oxygen_percent"], cols.numeric["oxygen_flow_lpm"]
        has_pct, has_flow = ~np.isnan(pct), ~np.isnan(flow)
        level = np.where(has_pct, self.percent.values(pct), self.flow.values(flow))
        level = np.where(has_pct | has_flow, level, MISSING)
        by_level = np.where(
            level == self.max_points,
            level,
            np.where(device_code >= 0, np.maximum(device, level), MISSING),
        )
        by_level = np.where(level == MISSING, MISSING, by_level)
        result = np.where(on_oxygen == 0.0, 0, by_level)
        result = np.where(device == self.max_points, self.max_points, result)
        return result.astype(np.int16)


Item = BandsItem | CategoryItem | SupportItem


@dataclass(frozen=True, slots=True)
class Level:
    """One escalation level: what the risk means for monitoring and response."""

    id: str
    rank: int
    risk: str
    monitoring: str
    interval: timedelta | None
    response: str
    clinical_response: str


@dataclass(frozen=True, slots=True)
class Trigger:
    """A categorical input that raises the level by itself (AVPU, concern, carer question)."""

    input: str
    ranks: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Escalation:
    """Total → level, raised by a single-parameter trigger and by input triggers.

    The final level is the most severe of them all (SPEC §1.4, §2.6, §3c).
    """

    levels: tuple[Level, ...]
    total: BandTable[int]
    single_parameter_rank: int | None
    triggers: tuple[Trigger, ...]

    def assess(self, total: int, red: bool, vitals: Vitals) -> tuple[int, list[str]]:
        """The level's rank, and the triggers that raised it above the total's level."""
        base = rank = self.total.values[bisect_left(self.total.cuts, total)]
        raised: list[str] = []
        if red and self.single_parameter_rank is not None and self.single_parameter_rank > base:
            rank = self.single_parameter_rank
            raised.append("single-parameter")
        for trigger in self.triggers:
            value = getattr(vitals, trigger.input)
            if value is not None:
                key = category_key(value)
                r = trigger.ranks[key]
                if r > base:
                    raised.append(f"{trigger.input}={key}")
                    rank = max(rank, r)
        return rank, raised

    def assess_columns(self, total: Int16Array, red: BoolArray, cols: Columns) -> Int16Array:
        ranks = np.array(self.total.values, dtype=np.int16)[
            self.total.segment_array(total.astype(np.float64))
        ]
        if self.single_parameter_rank is not None:
            ranks = np.where(red, np.maximum(ranks, self.single_parameter_rank), ranks)
        for trigger in self.triggers:
            table = code_points(trigger.ranks, cols.vocabulary(trigger.input))
            ranks = np.maximum(ranks, table[cols.categorical[trigger.input]])
        return ranks.astype(np.int16)


@dataclass(frozen=True, slots=True)
class BandPrompt:
    """A clinical prompt raised by one input's value (PEWS "think sepsis" by temperature)."""

    id: str
    text: str
    lookup: Lookup

    def raised(self, vitals: Vitals, total: int, context: Context) -> bool:
        x = getattr(vitals, self.lookup.input)
        return x is not None and self.lookup.value(x) > 0

    def raised_columns(self, cols: Columns, total: Int16Array) -> BoolArray:
        x = cols.numeric[self.lookup.input]
        return (~np.isnan(x)) & (self.lookup.values(x) > 0)


@dataclass(frozen=True, slots=True)
class TotalPrompt:
    """A clinical prompt raised by the total, optionally only with infection (NEWS2 "think
    sepsis": total ≥ 5 with known or suspected infection, or at risk of it; SPEC §5.2).

    With `when_infection`, infection counts when the set answers `suspected_infection: true`
    or the context has any `infection` status; a set's `false` does not cancel a known status.
    An incomplete set's total is a lower bound, so a total at or above the threshold raises
    the prompt whatever is missing; a total below it never does.
    """

    id: str
    text: str
    total_ge: int
    when_infection: bool

    def raised(self, vitals: Vitals, total: int, context: Context) -> bool:
        if total < self.total_ge:
            return False
        return (
            not self.when_infection
            or vitals.suspected_infection is True
            or context.infection is not None
        )

    def raised_columns(self, cols: Columns, total: Int16Array) -> BoolArray:
        raised = total >= self.total_ge
        if self.when_infection:
            said = cols.categorical["suspected_infection"]
            said_yes = said == cols.vocabulary("suspected_infection").index("true")
            raised &= said_yes | (cols.infection >= 0)
        return np.asarray(raised, dtype=np.bool_)


Prompt = BandPrompt | TotalPrompt
