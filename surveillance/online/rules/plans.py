"""Escalation plans: a patient's documented plan shapes the ladder of their new alerts (never
whether the score is shown). Checked when it arrives; applied as a `Plan` of the lifecycle."""

from __future__ import annotations

from collections.abc import Mapping

from ingest import EscalationPlan
from scoring import ChartSet, ScoringError
from surveillance.online._lifecycle import Plan
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings


def problem(
    settings: OnlineSettings, charts: ChartSet, patient: Patient, doc: EscalationPlan
) -> tuple[str, str] | None:
    """Why the plan cannot apply to the patient, if it cannot: (error code, reason)."""
    roles = sorted({r.notify for ladder in settings.ladders.values() for r in ladder.rungs})
    if doc.ceiling is not None and doc.ceiling not in roles:
        return "invalid", f"plan ceiling {doc.ceiling!r} is no role of the ladders: {roles}"
    if doc.alert_from is not None:
        try:
            chart = charts.resolve(patient.context, doc.time, settings.tz)
        except ScoringError as error:
            return "no-chart", f"no chart for the plan's threshold: {error}"
        levels = [level.id for level in chart.escalation.levels]
        if doc.alert_from not in levels:
            why = f"plan alert_from {doc.alert_from!r} is no level of {chart.id}: {levels}"
            return "not-on-chart", why
    return None


def apply(patient: Patient, doc: EscalationPlan) -> bool:
    """Put the plan in force unless it is older than the one in force (False: kept only).
    A plan with neither ceiling nor threshold clears it."""
    if patient.plan is not None and doc.time < patient.plan.time:
        return False
    cleared = doc.ceiling is None and doc.alert_from is None
    patient.plan = None if cleared else doc
    return True


def plan_of(
    patient: Patient, chart: str | None, ranks: Mapping[str, Mapping[str, int]]
) -> Plan | None:
    """The patient's plan as the lifecycle applies it (its threshold as a rank of `chart`)."""
    doc = patient.plan
    if doc is None:
        return None
    rank = None
    if doc.alert_from is not None and chart is not None:
        rank = ranks.get(chart, {}).get(doc.alert_from)
    return Plan(ceiling=doc.ceiling, threshold_rank=rank, by=doc.by, reason=doc.reason)
