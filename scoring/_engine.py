"""Scoring one observation set: pure, no I/O, no clock."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from scoring._charts import LONDON, Chart, ChartSet
from scoring._errors import InvalidObservation, Problem
from scoring._items import derive_on_oxygen
from scoring._model import Context, ObservationSet, ScoreResult
from scoring._validate import check

_MINUTE = timedelta(minutes=1)


def score(
    obs: ObservationSet, context: Context, charts: ChartSet, *, tz: ZoneInfo = LONDON
) -> ScoreResult:
    """Score an observation set on the chart its context calls for.

    Args:
        obs: the observation set.
        context: the patient's context; `chart` forces a chart, else `cohort` picks one.
        charts: the loaded charts (`load_charts()`).
        tz: the hospital's time zone, which dates the observation for completed age.

    Raises:
        InvalidObservation: the set cannot be scored; every reason is listed. Implausible
            values are refused, never scored.
    """
    return score_on_chart(chart_for(obs, context, charts, tz), obs, context)


def chart_for(obs: ObservationSet, context: Context, charts: ChartSet, tz: ZoneInfo) -> Chart:
    """The chart this observation set is scored on (raises InvalidObservation if none)."""
    if context.patient_id is not None and context.patient_id != obs.patient_id:
        raise InvalidObservation(
            [
                Problem(
                    "patient_id",
                    "contradictory",
                    f"context is for {context.patient_id}, the observation for {obs.patient_id}",
                )
            ]
        )
    return charts.resolve(context, obs.time, tz)


def score_on_chart(chart: Chart, obs: ObservationSet, context: Context) -> ScoreResult:
    """Score an observation set on a given chart (see `score`)."""
    problems, queries = check(chart, obs)
    if problems:
        raise InvalidObservation(problems)
    vitals = obs.vitals
    on_oxygen = derive_on_oxygen(vitals)
    scale = context.spo2_scale
    parameters: dict[str, int] = {}
    missing: list[str] = []
    for item in chart.items:
        points = item.score(vitals, on_oxygen, scale)
        if points is None:
            missing.append(item.key)
        else:
            parameters[item.key] = points
    total = sum(parameters.values())  # a lower bound when the set is incomplete
    prompts = [p.id for p in chart.prompts if p.raised(vitals, total, context)]
    return build_result(
        chart,
        obs=obs,
        context=context,
        parameters=parameters,
        missing=missing,
        prompts=prompts,
        queries=queries,
    )


def build_result(
    chart: Chart,
    *,
    obs: ObservationSet,
    context: Context,
    parameters: dict[str, int],
    missing: list[str],
    prompts: list[str],
    queries: list[str],
) -> ScoreResult:
    """The score result from a chart's parameter points (shared by the single and batch paths)."""
    total = sum(parameters.values())
    red = [key for key, points in parameters.items() if points >= chart.single_parameter_trigger]
    rank, triggers = chart.escalation.assess(total, bool(red), obs.vitals)
    level = chart.level(rank)
    return ScoreResult(
        patient_id=obs.patient_id,
        ward=context.ward,
        bed=context.bed,
        time=obs.time,
        obs_msg_id=obs.msg_id,
        system=chart.system,
        chart=chart.id,
        total=total,
        parameters=parameters,
        risk=level.risk,
        complete=not missing,
        missing=missing,
        monitoring=level.monitoring,
        next_obs_due=None if level.interval is None else obs.time + level.interval,
        response=level.response,
        level=level.id,
        clinical_response=level.clinical_response,
        spo2_scale=context.spo2_scale if chart.uses_spo2_scale else None,
        single_parameter_triggers=red,
        triggers=triggers,
        prompts=prompts,
        queries=queries + chart.population.queries(chart.system, context, obs.time.date())
        if context.birth_date is not None
        or context.gestation_weeks is not None
        or context.postnatal_days is not None
        else queries,
        not_recorded=dict(obs.not_recorded),
        ignored=chart.ignored(obs.vitals),
        chart_status=chart.status,
        vitals=obs.vitals,
        last_manual_obs=obs.time if obs.source == "manual" else None,
        obs_interval_minutes=None if level.interval is None else level.interval / _MINUTE,
    )
