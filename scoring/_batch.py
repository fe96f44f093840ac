"""The batch path: many observation sets scored at once, column by column, with numpy.

Results are identical to `score` for every set (a property test holds the two together):
both read the same compiled tables; only the rare decimal rounding and the text of errors and
queries are computed per row.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from scoring._charts import LONDON, Chart, ChartSet
from scoring._engine import build_result, chart_for, score_on_chart
from scoring._errors import InvalidObservation
from scoring._items import MISSING, BoolArray, FloatArray, Int16Array, category_key
from scoring._model import (
    NUMERIC_KEYS,
    VITAL_KEYS,
    BpCode,
    CarerAnswer,
    ConcernLevel,
    Consciousness,
    Context,
    InfectionStatus,
    ObservationSet,
    OxygenDevice,
    RespDistress,
    ScoreResult,
)
from scoring._validate import check

VOCABULARIES: Mapping[str, tuple[str, ...]] = {
    "consciousness": get_args(Consciousness),
    "oxygen_device": get_args(OxygenDevice),
    "bp_code": get_args(BpCode),
    "resp_distress": get_args(RespDistress),
    "concern": ("false", "true", *get_args(ConcernLevel)),
    "carer_question": get_args(CarerAnswer),
    "suspected_infection": ("false", "true"),
}
_CODES = {name: {v: i for i, v in enumerate(vocab)} for name, vocab in VOCABULARIES.items()}
INFECTION: tuple[str, ...] = get_args(InfectionStatus)
"""The context's `infection` statuses: `Columns.infection` holds codes into this."""
_INFECTION_CODES = {v: i for i, v in enumerate(INFECTION)}


@dataclass(frozen=True, slots=True)
class Columns:
    """Observation sets as columns: NaN or code -1 where a value is absent.

    `numeric` holds every numeric vital (float64), `on_oxygen` the stated flag (NaN, 0, 1),
    `categorical` every categorical or boolean vital as int16 codes into `VOCABULARIES`,
    `spo2_scale` the context's scale, `refused` rows already refused before columns were
    built (a contradiction in `not_recorded`), and `infection` the context's infection status
    as int16 codes into `INFECTION` (-1: none known).
    """

    n: int
    numeric: Mapping[str, FloatArray]
    on_oxygen: FloatArray
    categorical: Mapping[str, Int16Array]
    spo2_scale: npt.NDArray[np.int8]
    refused: BoolArray
    infection: Int16Array

    @staticmethod
    def vocabulary(name: str) -> tuple[str, ...]:
        return VOCABULARIES[name]

    @classmethod
    def from_arrays(
        cls,
        n: int,
        numeric: Mapping[str, FloatArray] | None = None,
        categorical: Mapping[str, Int16Array] | None = None,
        on_oxygen: FloatArray | None = None,
        spo2_scale: npt.NDArray[np.int8] | None = None,
        *,
        infection: Int16Array | None = None,
    ) -> Columns:
        """Columns ready-made (absent columns are filled as absent)."""
        numeric = dict(numeric or {})
        categorical = dict(categorical or {})
        unknown = (set(numeric) - set(NUMERIC_KEYS)) | (set(categorical) - set(VOCABULARIES))
        if unknown:
            raise ValueError(f"unknown column(s): {sorted(unknown)}")
        nan = np.full(n, np.nan)
        absent = np.full(n, -1, dtype=np.int16)
        return cls(
            n=n,
            numeric={k: np.asarray(numeric.get(k, nan), dtype=np.float64) for k in NUMERIC_KEYS},
            on_oxygen=nan if on_oxygen is None else np.asarray(on_oxygen, dtype=np.float64),
            categorical={
                k: np.asarray(categorical.get(k, absent), dtype=np.int16) for k in VOCABULARIES
            },
            spo2_scale=np.ones(n, dtype=np.int8)
            if spo2_scale is None
            else np.asarray(spo2_scale, dtype=np.int8),
            refused=np.zeros(n, dtype=np.bool_),
            infection=absent if infection is None else np.asarray(infection, dtype=np.int16),
        )

    @classmethod
    def from_observations(
        cls, observations: Sequence[ObservationSet], contexts: Sequence[Context]
    ) -> Columns:
        """Columns from parsed observation sets and their contexts."""
        n = len(observations)
        vitals = [o.vitals for o in observations]
        nan = float("nan")
        numeric = {
            k: np.fromiter(
                (nan if (x := getattr(v, k)) is None else x for v in vitals), np.float64, n
            )
            for k in NUMERIC_KEYS
        }
        categorical = {}
        for name, codes in _CODES.items():
            categorical[name] = np.fromiter(
                (-1 if (x := getattr(v, name)) is None else codes[category_key(x)] for v in vitals),
                np.int16,
                n,
            )
        on_oxygen = np.fromiter(
            (nan if v.on_oxygen is None else float(v.on_oxygen) for v in vitals), np.float64, n
        )
        scale = np.fromiter((c.spo2_scale for c in contexts), np.int8, n)
        infection = np.fromiter(
            (-1 if c.infection is None else _INFECTION_CODES[c.infection] for c in contexts),
            np.int16,
            n,
        )
        cols = cls.from_arrays(n, numeric, categorical, on_oxygen, scale, infection=infection)
        refused = np.fromiter(
            (bool(o.not_recorded) and _not_recorded_clash(o) for o in observations), np.bool_, n
        )
        return dataclasses.replace(cols, refused=refused)


def _not_recorded_clash(obs: ObservationSet) -> bool:
    return any(k not in VITAL_KEYS or getattr(obs.vitals, k) is not None for k in obs.not_recorded)


@dataclass(frozen=True, slots=True)
class BatchScores:
    """Column results for one chart. `points` is items × rows with MISSING where not scored;
    rows where `valid` is false were refused and their other columns mean nothing."""

    chart: Chart
    valid: BoolArray
    points: Int16Array
    total: Int16Array
    complete: BoolArray
    rank: Int16Array
    red: BoolArray
    prompts: Mapping[str, BoolArray]
    queried: BoolArray

    def result(self, j: int, obs: ObservationSet, ctx: Context) -> ScoreResult | InvalidObservation:
        """Row j as a full result (or its refusal, with every reason from the single path)."""
        chart = self.chart
        if not self.valid[j]:
            # Refusals are rare: the single path lists every reason.
            try:
                return score_on_chart(chart, obs, ctx)
            except InvalidObservation as exc:
                return exc
        column = self.points[:, j].tolist()
        parameters = {
            item.key: p for item, p in zip(chart.items, column, strict=True) if p != MISSING
        }
        missing = [item.key for item, p in zip(chart.items, column, strict=True) if p == MISSING]
        queries = check(chart, obs)[1] if self.queried[j] else []
        prompts = [pid for pid, raised in self.prompts.items() if raised[j]]
        return build_result(
            chart,
            obs=obs,
            context=ctx,
            parameters=parameters,
            missing=missing,
            prompts=prompts,
            queries=queries,
        )


def _derive_on_oxygen(cols: Columns) -> FloatArray:
    device = cols.categorical["oxygen_device"]
    air = _CODES["oxygen_device"]["air"]
    level = ~np.isnan(cols.numeric["oxygen_flow_lpm"]) | ~np.isnan(cols.numeric["oxygen_percent"])
    derived = np.where(
        device >= 0, (device != air).astype(np.float64), np.where(level, 1.0, np.nan)
    )
    return np.where(np.isnan(cols.on_oxygen), derived, cols.on_oxygen)


def _valid(chart: Chart, cols: Columns) -> BoolArray:
    num, cat = cols.numeric, cols.categorical
    bad = cols.refused.copy()
    for limit in chart.plausibility.reject:
        bad |= limit.outside_array(num[limit.key])
    for lower, higher in chart.plausibility.pairs:
        bad |= num[lower] >= num[higher]  # NaN compares false
    flow, pct = ~np.isnan(num["oxygen_flow_lpm"]), ~np.isnan(num["oxygen_percent"])
    device = cat["oxygen_device"]
    air = _CODES["oxygen_device"]["air"]
    bad |= flow & pct
    bad |= (device == air) & ((cols.on_oxygen == 1.0) | flow | pct)
    bad |= (cols.on_oxygen == 0.0) & (flow | pct | ((device >= 0) & (device != air)))
    bad |= (cat["bp_code"] >= 0) & ~np.isnan(num["systolic_bp"])
    for key, accepted in chart.accepted.items():
        allowed = np.array([v in accepted for v in VOCABULARIES[key]] + [True], dtype=np.bool_)
        bad |= ~allowed[cat[key]]
    return ~bad


def score_columns(chart: Chart, cols: Columns) -> BatchScores:
    """Score columns of observation sets on one chart."""
    on_oxygen = _derive_on_oxygen(cols)
    points = np.stack([item.score_columns(cols, on_oxygen) for item in chart.items])
    present = points != MISSING
    total = np.where(present, points, 0).sum(axis=0, dtype=np.int16)
    red: BoolArray = np.asarray((points >= chart.single_parameter_trigger).any(axis=0))
    return BatchScores(
        chart=chart,
        valid=_valid(chart, cols),
        points=points,
        total=total,
        complete=np.asarray(present.all(axis=0)),
        rank=chart.escalation.assess_columns(total, red, cols),
        red=red,
        prompts={p.id: p.raised_columns(cols, total) for p in chart.prompts},
        queried=_queried(chart, cols),
    )


def _queried(chart: Chart, cols: Columns) -> BoolArray:
    queried = np.zeros(cols.n, dtype=np.bool_)
    for limit in chart.plausibility.query:
        queried |= limit.outside_array(cols.numeric[limit.key])
    return queried


def score_batch(
    requests: Sequence[tuple[ObservationSet, Context]], charts: ChartSet, *, tz: ZoneInfo = LONDON
) -> list[ScoreResult | InvalidObservation]:
    """Score many observation sets at once; one result or refusal per set, in order.

    Identical, set by set, to calling `score` on each.
    """
    out: list[ScoreResult | InvalidObservation | None] = [None] * len(requests)
    groups: dict[str, list[int]] = defaultdict(list)
    chosen: dict[str, Chart] = {}
    for i, (obs, ctx) in enumerate(requests):
        try:
            chart = chart_for(obs, ctx, charts, tz)
        except InvalidObservation as exc:
            out[i] = exc
            continue
        chosen[chart.id] = chart
        groups[chart.id].append(i)
    for chart_id, rows in groups.items():
        chart = chosen[chart_id]
        obs_list = [requests[i][0] for i in rows]
        ctx_list = [requests[i][1] for i in rows]
        scores = score_columns(chart, Columns.from_observations(obs_list, ctx_list))
        for j, i in enumerate(rows):
            out[i] = scores.result(j, obs_list[j], ctx_list[j])
    return [r for r in out if r is not None]
