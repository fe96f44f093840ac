"""`sepsis` alerts: a new "think sepsis" prompt on a score raises one (not again while the
prompt holds, nor while one is open)."""

from __future__ import annotations

from collections.abc import Sequence

from scoring import ScoreResult
from surveillance.online._decisions import Decision, Facts, Raise
from surveillance.online._desk import OpenAlert
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings

KIND = "sepsis"
FALLBACK = "urgent"
SEVERITIES = (FALLBACK,)
"""What this rule can raise besides a chart's responses (the vocabulary's tests read it)."""
PROMPT = "think-sepsis"


def on_score(
    settings: OnlineSettings,
    patient: Patient,
    result: ScoreResult,
    open_alerts: Sequence[OpenAlert],
) -> list[Decision]:
    """A new (not late) score of the patient."""
    before, patient.prompts = patient.prompts, frozenset(result.prompts)
    if PROMPT not in result.prompts or PROMPT in before:
        return []
    if any(a.kind == KIND for a in open_alerts):
        return []
    alerting = result.response in settings.alert_responses
    facts = Facts(
        message=(
            f"Think sepsis: {result.system} {result.total} ({result.risk}) with known or "
            "suspected infection or its signs. Escalate; follow the sepsis pathway."
        ),
        obs_msg_id=result.obs_msg_id,
        system=result.system,
        total=result.total,
        risk=result.risk,
        scored_at=result.time,
        triggers=tuple(sorted(result.single_parameter_triggers)),
    )
    severity = result.response if alerting else FALLBACK
    return [Raise(f"sepsis-{result.obs_msg_id}", KIND, severity, facts)]
