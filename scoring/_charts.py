"""Chart files → compiled charts, and the chart set that picks a chart for a patient.

Charts are data (SPEC §0.2): `scoring/charts/*.toml`, one file per chart or chart family, each
with its id, source and status. This module turns those files into `Chart` objects and refuses
any file that is malformed, with the file and field named. Nothing here reads a clock; the only
I/O is reading the chart files, once, when a chart set is loaded.
"""

from __future__ import annotations

import math
import tomllib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from itertools import pairwise
from operator import attrgetter
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from scoring._bands import Band, BandTable, compile_bands, parse_band, segments
from scoring._errors import ChartError, InvalidObservation, Problem
from scoring._items import (
    BandPrompt,
    BandsItem,
    CategoryItem,
    Escalation,
    Item,
    Level,
    Lookup,
    Prompt,
    SkipCodes,
    SupportItem,
    TotalPrompt,
    Trigger,
    Variant,
)
from scoring._model import NUMERIC_KEYS, AgeBand, Context, Vitals

LONDON = ZoneInfo("Europe/London")
SYSTEMS = ("NEWS2", "PEWS", "MEWS")
STATUSES = ("EXACT", "EXACT-WITH-CAVEATS", "UNCERTAIN")
RULES = ("round-half-up", "worse-band")
_SELECTORS = {"spo2_scale": (1, 2), "on_oxygen": (False, True)}


@dataclass(frozen=True, slots=True)
class Limit:
    """A plausible range for one input, compiled like a band table: outside(x) is one bisection."""

    key: str
    band: Band[None]
    cuts: tuple[float, ...]
    flags: tuple[bool, ...]

    @classmethod
    def of(cls, key: str, band: Band[None]) -> Limit:
        cuts, flags = [], [False]
        if band.low is not None:
            cuts.append(math.nextafter(band.low, -math.inf) if band.low_inclusive else band.low)
            flags = [True, False]
        if band.high is not None:
            cuts.append(band.high if band.high_inclusive else math.nextafter(band.high, -math.inf))
            flags.append(True)
        return cls(key, band, tuple(cuts), tuple(flags))

    def outside(self, x: float) -> bool:
        return self.flags[bisect_left(self.cuts, x)]

    def outside_array(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Per row: present and outside (NaN rows are absent, never outside)."""
        flags = np.array(self.flags, dtype=np.bool_)
        return flags[segments(self.cuts, x)] & ~np.isnan(x)


@dataclass(frozen=True, slots=True)
class Plausibility:
    """Limits a value must meet to be scored (`reject`) or to pass unflagged (`query`)."""

    reject: tuple[Limit, ...]
    query: tuple[Limit, ...]
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Population:
    """Whom a chart is for (its file's `[population]`): a result for anyone else carries a
    query to check the patient's cohort. Scored all the same: a score on the wrong chart is a
    worse guide than the right one, but no score at all is worse still."""

    min_age_years: int | None = None
    """Not for patients younger than this (completed years at the observation)."""
    pregnancy: bool = True
    """False: not for pregnancy or the postnatal period (`gestation_weeks` or
    `postnatal_days` in the ADT)."""
    instead: str = ""
    """What to use instead, said in the query."""

    def queries(self, system: str, context: Context, at: date) -> list[str]:
        """A query for a patient this chart is not for, in words for the nurse. It does not
        say which reason applies, nor the birth date or gestation: a query is shown on the
        ward's public board, which shows neither (CONTRACT §2)."""
        born, low = context.birth_date, self.min_age_years
        young = low is not None and born is not None and completed_years(born, at) < low
        pregnant = not self.pregnancy and (
            context.gestation_weeks is not None or context.postnatal_days is not None
        )
        if not (young or pregnant):
            return []
        whom = [f"under-{low}s"] if low is not None else []
        whom += [] if self.pregnancy else ["pregnancy or after birth"]
        return [
            f"{system} is not for {' or '.join(whom)}, and this patient's admission details "
            f"suggest one of them. Check the cohort{self.instead}"
        ]


@dataclass(frozen=True, slots=True, eq=False)
class Chart:
    """One scoring chart, compiled from its file."""

    id: str
    family: str
    system: str
    title: str
    source: str
    spec: str
    status: str
    rounds: bool
    single_parameter_trigger: int
    items: tuple[Item, ...]
    escalation: Escalation
    prompts: tuple[Prompt, ...]
    plausibility: Plausibility
    accepted: Mapping[str, frozenset[str]]
    uses_spo2_scale: bool
    population: Population = Population()
    unread: tuple[str, ...] = ()
    """The vitals keys this chart neither scores nor reads for a trigger or prompt, sorted: a
    set's value for one of them is listed in the result's `ignored`, never dropped in silence."""
    unread_of: Callable[[Vitals], tuple[object, ...]] = field(
        default=lambda _vitals: (), repr=False
    )
    """A set's values of the `unread` keys, in that order (`_getter`)."""

    def ignored(self, vitals: Vitals) -> list[str]:
        """The `unread` keys that `vitals` gives a value for, sorted."""
        values = self.unread_of(vitals)
        if values.count(None) == len(values):  # the common case: nothing to list
            return []
        return [key for key, value in zip(self.unread, values, strict=True) if value is not None]

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def level(self, rank: int) -> Level:
        return self.escalation.levels[rank]


@dataclass(frozen=True, slots=True)
class AgeFamily:
    """Charts chosen by completed age: (age band, from years, below years, chart), ascending."""

    id: str
    bands: tuple[tuple[str, int, int | None, Chart], ...]

    def chart_for(self, context: Context, at: datetime, tz: ZoneInfo) -> Chart:
        """The age chart for completed age at the observation's local date (SPEC §2.1).

        `age_band` may be given instead of `birth_date`; with both, the band given must be the
        computed one or the one next to it (SPOT spec C2.2).
        """
        by_name = {name: i for i, (name, *_rest) in enumerate(self.bands)}
        if context.birth_date is None:
            if context.age_band is None:
                raise InvalidObservation(
                    [
                        Problem(
                            "birth_date",
                            "no-chart",
                            f"chart {self.id} needs context.birth_date or context.age_band",
                        )
                    ]
                )
            return self.bands[by_name[context.age_band]][3]
        on = at.astimezone(tz).date()
        if context.birth_date > on:
            raise InvalidObservation(
                [
                    Problem(
                        "birth_date",
                        "contradictory",
                        f"birth_date {context.birth_date} is after the observation ({on})",
                    )
                ]
            )
        years = completed_years(context.birth_date, on)
        index = next(
            i
            for i, (_, low, high, _c) in enumerate(self.bands)
            if low <= years and (high is None or years < high)
        )
        if context.age_band is not None and context.age_band != self.bands[index][0]:
            chosen = by_name[context.age_band]
            if abs(chosen - index) != 1:
                raise InvalidObservation(
                    [
                        Problem(
                            "age_band",
                            "contradictory",
                            f"age_band {context.age_band} is not the {self.bands[index][0]} chart of a child aged "
                            f"{years} or the one next to it",
                        )
                    ]
                )
            index = chosen
        return self.bands[index][3]


def completed_years(birth: date, on: date) -> int:
    """Age in completed years on a date. A 29 February birthday falls on 1 March in other years."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


@dataclass(frozen=True)
class ChartSet:
    """Every chart loaded, the age families, and the cohort → chart map (SPEC §0.3)."""

    charts: Mapping[str, Chart]
    families: Mapping[str, AgeFamily] = field(default_factory=dict)
    cohorts: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, context: Context, at: datetime, tz: ZoneInfo = LONDON) -> Chart:
        """The chart for a patient's observation at `at`: forced by `context.chart`, else by cohort."""
        wanted = context.chart
        if wanted is None:
            if context.cohort is None:
                raise InvalidObservation(
                    [
                        Problem(
                            "cohort",
                            "no-chart",
                            "context needs a cohort (adult, child or maternity) or a chart",
                        )
                    ]
                )
            wanted = self.cohorts[context.cohort]
        if wanted in self.charts:
            return self.charts[wanted]
        if wanted in self.families:
            return self.families[wanted].chart_for(context, at, tz)
        known = ", ".join(sorted([*self.charts, *self.families]))
        raise InvalidObservation(
            [Problem("chart", "no-chart", f"unknown chart {wanted!r} (known: {known})")]
        )


def load_charts(extra: Iterable[Path] = ()) -> ChartSet:
    """Load the charts shipped in `scoring/charts/`, plus any extra chart files or folders.

    An extra chart with the id of a shipped one replaces it; `cohorts.toml` and
    `plausibility.toml` in an extra folder replace the shipped ones.

    Raises:
        ChartError: a chart file is malformed; nothing is loaded.
    """
    files: dict[str, tuple[str, bytes]] = {}
    shipped = resources.files("scoring") / "charts"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            files[entry.name] = (f"scoring/charts/{entry.name}", entry.read_bytes())
    for path in extra:
        paths = sorted(path.glob("*.toml")) if path.is_dir() else [path]
        for p in paths:
            files[p.name if p.name in ("cohorts.toml", "plausibility.toml") else str(p)] = (
                str(p),
                p.read_bytes(),
            )
    parsed: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, (where, data) in files.items():
        try:
            parsed[key] = (where, tomllib.loads(data.decode("utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ChartError(where, f"not valid TOML: {exc}") from exc
    _, plaus_raw = parsed.pop("plausibility.toml")
    cohorts_where, cohorts_raw = parsed.pop("cohorts.toml")
    charts: dict[str, Chart] = {}
    families: dict[str, AgeFamily] = {}
    for where, raw in parsed.values():
        try:
            loaded = _load_chart_file(raw, plaus_raw)
        except KeyError as exc:
            raise ChartError(where, f"a required key is missing: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise ChartError(where, str(exc)) from exc
        if isinstance(loaded, AgeFamily):
            families[loaded.id] = loaded
            for _, _, _, chart in loaded.bands:
                charts[chart.id] = chart
        else:
            charts[loaded.id] = loaded
    for cohort, target in cohorts_raw.items():
        if cohort not in ("adult", "child", "maternity") or (
            target not in charts and target not in families
        ):
            raise ChartError(cohorts_where, f"{cohort} = {target!r}: unknown cohort or chart")
    return ChartSet(charts=charts, families=families, cohorts=dict(cohorts_raw))


def _require(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in raw:
        raise ValueError(f"{where}: '{key}' is required")
    value = raw[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ValueError(f"{where}: '{key}' has the wrong type ({value!r})")
    return value


def _points_bands(raw: list[Any], where: str, step: Decimal | None) -> BandTable[int]:
    bands = [parse_band(b, "points", where) for b in raw]
    for b in bands:
        if isinstance(b.value, bool) or not isinstance(b.value, int) or b.value < 0:
            raise ValueError(f"{where}: points must be whole numbers ≥ 0 ({b.value!r})")
    return compile_bands(bands, float, where, step)


def _step(rounds: bool, precision: int | None, where: str) -> Decimal | None:
    if not rounds:
        return None
    if precision is None:
        raise ValueError(f"{where}: a round-half-up chart needs 'precision' on every numeric item")
    return Decimal(1).scaleb(-precision)


def _load_chart_file(raw: dict[str, Any], plaus_raw: Mapping[str, Any]) -> Chart | AgeFamily:
    chart_id = _require(raw, "id", str, "chart")
    system = _require(raw, "system", str, chart_id)
    if system not in SYSTEMS:
        raise ValueError(f"{chart_id}: system must be one of {SYSTEMS}")
    status = _require(raw, "status", str, chart_id)
    if status not in STATUSES:
        raise ValueError(f"{chart_id}: status must be one of {STATUSES}")
    rule = _require(raw, "between_bands", str, chart_id)
    if rule not in RULES:
        raise ValueError(f"{chart_id}: between_bands must be one of {RULES}")
    known = {
        "id", "system", "title", "source", "spec", "status", "between_bands",
        "single_parameter_trigger", "items", "escalation", "prompts", "age_charts",
        "population",
    }  # fmt: skip
    if set(raw) - known:
        raise ValueError(f"{chart_id}: unknown key(s) {sorted(set(raw) - known)}")
    ages = raw.get("age_charts")
    if ages is None:
        return _build_chart(raw, chart_id, None, plaus_raw)
    family: list[tuple[str, int, int | None, Chart]] = []
    for name, spec in ages.items():
        if name not in get_args(AgeBand):
            raise ValueError(f"{chart_id}: age chart {name!r} is not one of {get_args(AgeBand)}")
        low, high = spec.get("from_years", 0), spec.get("below_years")
        family.append((name, low, high, _build_chart(raw, f"{chart_id}-{name}", name, plaus_raw)))
    family.sort(key=lambda entry: entry[1])
    for (_, _, high, _c), (name, low, _h, _c2) in pairwise(family):
        if high != low:
            raise ValueError(
                f"{chart_id}: age chart {name} must start where the one before it ends"
            )
    if family[0][1] != 0 or family[-1][2] is not None:
        raise ValueError(f"{chart_id}: age charts must cover every age from 0")
    return AgeFamily(chart_id, tuple(family))


def _build_chart(
    raw: dict[str, Any], chart_id: str, age: str | None, plaus_raw: Mapping[str, Any]
) -> Chart:
    rounds = raw["between_bands"] == "round-half-up"
    items: list[Item] = []
    accepted: dict[str, set[str]] = {}

    def accept(input_name: str, keys: Iterable[str]) -> None:
        keys = set(keys)
        accepted[input_name] = accepted[input_name] & keys if input_name in accepted else keys

    def lookup(spec: Mapping[str, Any], input_name: str, where: str) -> Lookup:
        precision = spec.get("precision")
        if age is not None and "by_age" in spec:
            if age not in spec["by_age"]:
                raise ValueError(f"{where}: by_age has no bands for the {age} chart")
            bands = spec["by_age"][age]
        elif "bands" in spec:
            bands = spec["bands"]
        else:
            raise ValueError(f"{where}: needs 'bands'" + (" or 'by_age'" if age else ""))
        return Lookup(input_name, _points_bands(bands, where, _step(rounds, precision, where)))

    for key, spec in _require(raw, "items", dict, chart_id).items():
        where = f"{chart_id}: items.{key}"
        kind = spec.get("kind", "categories" if "categories" in spec else "bands")
        if kind == "respiratory-support":
            device = {k: int(v) for k, v in spec["device"].items()}
            accept("oxygen_device", device)
            percent = Lookup(
                "oxygen_percent", _points_bands(spec["percent"], f"{where}.percent", None)
            )
            flow = Lookup(
                "oxygen_flow_lpm", _points_bands(spec["flow_lpm"], f"{where}.flow_lpm", None)
            )
            top = max([*device.values(), *percent.table.values, *flow.table.values])
            items.append(SupportItem(key, device, percent, flow, top))
        elif kind == "categories":
            points = {str(k): int(v) for k, v in spec["categories"].items()}
            if spec["input"] == "on_oxygen":
                if set(points) != {"true", "false"}:
                    raise ValueError(
                        f"{where}: on_oxygen categories must be exactly true and false"
                    )
            else:
                accept(spec["input"], points)
            items.append(CategoryItem(key, spec["input"], points))
        elif kind == "bands":
            input_name = spec["input"]
            if "variants" in spec:
                variants = tuple(
                    Variant(
                        v["when"].get("spo2_scale"),
                        v["when"].get("on_oxygen"),
                        lookup({**spec, **v}, input_name, f"{where}.variants[{i}]"),
                    )
                    for i, v in enumerate(spec["variants"])
                )
                _check_variants(spec["variants"], where)
            else:
                variants = (Variant(None, None, lookup(spec, input_name, where)),)
            skip = None
            if "skip_codes" in spec:
                skip = SkipCodes(
                    spec["skip_codes"]["input"],
                    {k: int(v) for k, v in spec["skip_codes"]["points"].items()},
                )
                accept(skip.input, skip.points)
            items.append(BandsItem(key, input_name, variants, skip))
        else:
            raise ValueError(f"{where}: unknown kind {kind!r}")

    escalation_raw = _require(raw, "escalation", dict, chart_id)
    levels = tuple(
        Level(
            id=lv["id"],
            rank=rank,
            risk=lv["risk"],
            monitoring=lv["monitoring"],
            interval=None
            if lv.get("interval_minutes") is None
            else timedelta(minutes=lv["interval_minutes"]),
            response=lv["response"],
            clinical_response=lv["clinical_response"],
        )
        for rank, lv in enumerate(escalation_raw["levels"])
    )
    rank_of = {lv.id: lv.rank for lv in levels}
    if len(rank_of) != len(levels):
        raise ValueError(f"{chart_id}: escalation level ids must be unique")

    def rank(name: str, where: str) -> int:
        if name not in rank_of:
            raise ValueError(f"{where}: unknown level {name!r}")
        return rank_of[name]

    total_bands = [
        parse_band(b, "level", f"{chart_id}: escalation.total")
        for b in escalation_raw["total"]["bands"]
    ]
    total = compile_bands(
        [_with_value(b, rank(b.value, chart_id)) for b in total_bands],
        float,
        f"{chart_id}: escalation.total",
        Decimal(1),
    )
    single_rank = None
    triggers: list[Trigger] = []
    for i, trig in enumerate(escalation_raw.get("triggers", [])):
        where = f"{chart_id}: escalation.triggers[{i}]"
        if trig.get("single_parameter"):
            single_rank = rank(trig["level"], where)
        else:
            ranks = {str(k): rank(v, where) for k, v in trig["levels"].items()}
            accept(trig["input"], ranks)
            triggers.append(Trigger(trig["input"], ranks))
    prompts = _prompts(raw.get("prompts", []), chart_id, rounds, _max_total(items))
    unknown_inputs = set(accepted) - set(Vitals.__struct_fields__)
    if unknown_inputs:
        raise ValueError(f"{chart_id}: unknown input(s) {sorted(unknown_inputs)}")
    reads = _reads(items, triggers, prompts)
    return Chart(
        id=chart_id,
        family=raw["id"],
        system=raw["system"],
        title=raw.get("title", chart_id),
        source=_require(raw, "source", str, chart_id),
        spec=raw.get("spec", ""),
        status=raw["status"],
        rounds=rounds,
        single_parameter_trigger=_require(raw, "single_parameter_trigger", int, chart_id),
        items=tuple(items),
        escalation=Escalation(levels, total, single_rank, tuple(triggers)),
        prompts=prompts,
        plausibility=_plausibility(plaus_raw, raw["system"]),
        accepted={k: frozenset(v) for k, v in accepted.items()},
        uses_spo2_scale=any(
            isinstance(item, BandsItem) and any(v.spo2_scale is not None for v in item.variants)
            for item in items
        ),
        population=_population(raw.get("population", {}), chart_id),
        unread=(unread := tuple(sorted(set(Vitals.__struct_fields__) - reads))),
        unread_of=_getter(unread),
    )


def _population(raw: Mapping[str, Any], chart_id: str) -> Population:
    unknown = set(raw) - {"min_age_years", "pregnancy", "instead"}
    if unknown:
        raise ValueError(f"{chart_id}: population: unknown key(s) {sorted(unknown)}")
    low = raw.get("min_age_years")
    if low is not None and (type(low) is not int or low < 0):
        raise ValueError(f"{chart_id}: population.min_age_years must be a whole number ≥ 0")
    pregnancy = raw.get("pregnancy", True)
    if type(pregnancy) is not bool:
        raise ValueError(f"{chart_id}: population.pregnancy must be true or false")
    instead = raw.get("instead", "")
    if not isinstance(instead, str):
        raise ValueError(f"{chart_id}: population.instead must be text")
    return Population(low, pregnancy, f" ({instead})" if instead else "")


def _getter(keys: tuple[str, ...]) -> Callable[[Vitals], tuple[object, ...]]:
    """The values of `keys` in a set, as a tuple, in one C call (`operator.attrgetter`)."""
    if not keys:
        return lambda _vitals: ()
    if len(keys) == 1:
        one = attrgetter(keys[0])
        return lambda vitals: (one(vitals),)
    return attrgetter(*keys)


_OXYGEN_INPUTS = frozenset({"on_oxygen", "oxygen_device", "oxygen_flow_lpm", "oxygen_percent"})
"""Whether oxygen is in use is stated (`on_oxygen`) or implied by a device or a level
(`derive_on_oxygen`): a chart that reads it reads all four."""


def _reads(
    items: Iterable[Item], triggers: Iterable[Trigger], prompts: Iterable[Prompt]
) -> frozenset[str]:
    """The vitals keys a chart reads: its items' inputs, its triggers' and its prompts'.

    `diastolic_bp` counts as read with `systolic_bp`: it is checked against it (DBP ≥ SBP is
    refused) and drawn beside it, though no chart scores it (SPEC §2.4).
    """
    reads: set[str] = set()
    for item in items:
        if isinstance(item, BandsItem):
            reads.add(item.input)
            if item.skip is not None:
                reads.add(item.skip.input)
            if any(v.on_oxygen is not None for v in item.variants):
                reads |= _OXYGEN_INPUTS
        elif isinstance(item, CategoryItem):
            reads |= _OXYGEN_INPUTS if item.input == "on_oxygen" else {item.input}
        else:
            reads |= _OXYGEN_INPUTS
    reads.update(trigger.input for trigger in triggers)
    for prompt in prompts:
        if isinstance(prompt, BandPrompt):
            reads.add(prompt.lookup.input)
        elif prompt.when_infection:
            reads.add("suspected_infection")
    if "systolic_bp" in reads:
        reads.add("diastolic_bp")
    return frozenset(reads)


_BAND_PROMPT_KEYS = frozenset({"input", "bands", "precision"})
_TOTAL_PROMPT_KEYS = frozenset({"total_ge", "when_infection"})
_PROMPT_KEYS = frozenset({"id", "text", "source"}) | _BAND_PROMPT_KEYS | _TOTAL_PROMPT_KEYS


def _prompts(raw: Any, chart_id: str, rounds: bool, max_total: int) -> tuple[Prompt, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{chart_id}: 'prompts' must be an array of tables ([[prompts]])")
    prompts: list[Prompt] = []
    for i, spec in enumerate(raw):
        if not isinstance(spec, dict):
            raise ValueError(f"{chart_id}: prompts[{i}] must be a table ([[prompts]])")
        prompt = _prompt(spec, chart_id, i, rounds, max_total)
        if any(p.id == prompt.id for p in prompts):
            raise ValueError(f"{chart_id}: prompts.{prompt.id}: prompt ids must be unique")
        prompts.append(prompt)
    return tuple(prompts)


def _prompt(
    raw: Mapping[str, Any], chart_id: str, index: int, rounds: bool, max_total: int
) -> Prompt:
    """One prompt, in one of two forms.

    Band form: `input` (a numeric vital) and `bands` mapping to `prompt = true/false`; raised
    where they map to true (PEWS temperature). Total form: `total_ge` and `when_infection`;
    raised when the total reaches `total_ge`, and with `when_infection = true` only with
    infection known, suspected or at risk (NEWS2 "think sepsis").
    """
    prompt_id = _require(raw, "id", str, f"{chart_id}: prompts[{index}]")
    if not prompt_id:
        raise ValueError(f"{chart_id}: prompts[{index}]: 'id' must not be empty")
    where = f"{chart_id}: prompts.{prompt_id}"
    unknown = set(raw) - _PROMPT_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
    text = _require(raw, "text", str, where)
    if "source" in raw:
        _require(raw, "source", str, where)
    band_keys, total_keys = set(raw) & _BAND_PROMPT_KEYS, set(raw) & _TOTAL_PROMPT_KEYS
    if band_keys and total_keys:
        raise ValueError(
            f"{where}: mixes the band form ({', '.join(sorted(band_keys))}) and the total form "
            f"({', '.join(sorted(total_keys))}); a prompt takes 'input' and 'bands', or "
            "'total_ge' and 'when_infection'"
        )
    if total_keys:
        total_ge = _require(raw, "total_ge", int, where)
        if not 0 < total_ge <= max_total:
            raise ValueError(
                f"{where}: 'total_ge' must be from 1 to the chart's highest total "
                f"({max_total}), not {total_ge}"
            )
        when_infection = _require(raw, "when_infection", bool, where)
        return TotalPrompt(prompt_id, text, total_ge, when_infection)
    if not band_keys:
        raise ValueError(f"{where}: needs 'input' and 'bands', or 'total_ge' and 'when_infection'")
    input_name = _require(raw, "input", str, where)
    if input_name not in NUMERIC_KEYS:
        raise ValueError(
            f"{where}: 'input' must be a numeric vital ({', '.join(NUMERIC_KEYS)}), "
            f"not {input_name!r}"
        )
    raw_bands = _require(raw, "bands", list, where)
    if not all(isinstance(b, dict) for b in raw_bands):
        raise ValueError(f"{where}: every band must be a table ({{ ge = ..., prompt = true }})")
    bands = [parse_band(b, "prompt", where) for b in raw_bands]
    if any(not isinstance(b.value, bool) for b in bands):
        raise ValueError(f"{where}: 'prompt' must be true or false")
    precision = raw.get("precision")
    if precision is not None:
        _require(raw, "precision", int, where)
    step = _step(rounds, precision, where) if precision is not None else None
    table = compile_bands([_with_value(b, int(b.value)) for b in bands], float, where, step)
    return BandPrompt(prompt_id, text, Lookup(input_name, table))


def _max_total(items: Iterable[Item]) -> int:
    """The highest total a chart can give: every item at its maximum."""
    top = 0
    for item in items:
        if isinstance(item, BandsItem):
            points = [p for v in item.variants for p in v.lookup.table.values]
            if item.skip is not None:
                points.extend(item.skip.points.values())
            top += max(points)
        elif isinstance(item, CategoryItem):
            top += max(item.points.values())
        else:
            top += item.max_points
    return top


def _with_value(band: Band[Any], value: int) -> Band[int]:
    return Band(band.low, band.low_inclusive, band.high, band.high_inclusive, value)


def _check_variants(variants: list[Mapping[str, Any]], where: str) -> None:
    """Every combination of selector values must match exactly one variant."""
    for i, v in enumerate(variants):
        unknown = set(v["when"]) - set(_SELECTORS)
        if unknown:
            raise ValueError(f"{where}.variants[{i}]: unknown condition(s) {sorted(unknown)}")
    for scale in _SELECTORS["spo2_scale"]:
        for oxygen in _SELECTORS["on_oxygen"]:
            state = {"spo2_scale": scale, "on_oxygen": oxygen}
            matches = [v for v in variants if all(state[k] == val for k, val in v["when"].items())]
            if len(matches) != 1:
                raise ValueError(
                    f"{where}: {len(matches)} variants match {state} (exactly one must)"
                )


def _plausibility(raw: Mapping[str, Any], system: str) -> Plausibility:
    def ranges(section: str) -> tuple[Limit, ...]:
        table = {k: v for k, v in raw.get(section, {}).items() if k not in SYSTEMS}
        table.update(raw.get(section, {}).get(system, {}))
        unknown = set(table) - set(NUMERIC_KEYS)
        if unknown:
            raise ValueError(f"plausibility.{section}: unknown input(s) {sorted(unknown)}")
        return tuple(
            Limit.of(k, parse_band({**v, "value": None}, "value", f"plausibility.{section}.{k}"))
            for k, v in table.items()
        )

    return Plausibility(
        reject=ranges("reject"),
        query=ranges("query"),
        pairs=tuple((p["lower"], p["higher"]) for p in raw.get("pairs", [])),
    )
