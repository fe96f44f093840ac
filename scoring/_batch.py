"""The batch path: many observation sets scored at once, column by column, with numpy.

Results are identical to `score` for every set (a property test holds the two together):
both read the same compiled tables; only the rare decimal rounding and the text of errors and
queries are computed per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from scoring._charts import LONDON, Chart, ChartSet
from scoring._columns import (
    CODES,
    MISSING,
    VOCABULARIES,
    BoolArray,
    Columns,
    FloatArray,
    Int16Array,
)
from scoring._engine import build_result, chart_for, score_on_chart
from scoring._errors import InvalidObservation
from scoring._model import Context, ObservationSet, ScoreResult
from scoring._validate import check


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
    air = CODES["oxygen_device"]["air"]
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
    air = CODES["oxygen_device"]["air"]
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
