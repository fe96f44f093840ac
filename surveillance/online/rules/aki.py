"""`aki` alerts: an adult's creatinine reaching an AKI warning stage (severity `aki-1`..`aki-3`).

One open AKI alert per patient: a higher stage upgrades it (raised again, the higher stage's
ladder); the same or a lower stage is a note on it with the new result. Adults only (SPEC §0.6,
§4.3): not children, nor anyone whose age says under 18.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scoring import Creatinine, aki_stage, completed_years
from surveillance.online._decisions import Decision, Facts, Note, Raise, Upgrade
from surveillance.online._desk import OpenAlert
from surveillance.online._patient import Patient
from surveillance.online._settings import AKI_LOOKBACK, OnlineSettings

KIND = "aki"
SEVERITIES = ("aki-1", "aki-2", "aki-3")
"""What this rule can raise, by stage (the vocabulary's tests read it)."""


def on_creatinine(
    settings: OnlineSettings,
    patient: Patient,
    result: Creatinine,
    msg_id: str,
    open_alerts: Sequence[OpenAlert],
) -> list[Decision]:
    """A new creatinine result of an adult: kept (a year of them), and its stage against the
    earlier ones alerts (a child's is neither kept nor staged)."""
    if not is_adult(settings, patient, result.time):
        return []
    stage = aki_stage(result, patient.creatinine)
    patient.creatinine = keep_year([*patient.creatinine, result], result.time)
    if stage.stage is None:
        return []
    said = f"AKI warning stage {stage.stage}: creatinine {result.value:g} µmol/L"
    facts = Facts(f"{said}, {stage.reason}", obs_msg_id=msg_id, scored_at=result.time)
    severity = SEVERITIES[stage.stage - 1]
    held = next((a for a in open_alerts if a.kind == KIND), None)
    if held is None:
        return [Raise(f"aki-{msg_id}", KIND, severity, facts)]
    if stage.stage > _stage(held.severity):
        return [Upgrade(held.alert_id, severity, facts, f"{said}: up from {held.severity}")]
    return [Note(held.alert_id, f"{said}; the alert stays {held.severity}", facts)]


def is_adult(settings: OnlineSettings, patient: Patient, at: datetime) -> bool:
    """Whether AKI warning stages apply to the patient at `at`."""
    context = patient.context
    if context.cohort == "child":
        return False
    if context.birth_date is None:
        return True
    return completed_years(context.birth_date, at.astimezone(settings.tz).date()) >= 18


def keep_year(results: list[Creatinine], now: datetime) -> list[Creatinine]:
    """A patient's creatinine results of the last year (all an AKI baseline can use)."""
    cutoff = now - AKI_LOOKBACK
    return sorted((r for r in results if r.time >= cutoff), key=lambda r: r.time)


def _stage(severity: str) -> int:
    """The stage of an `aki-N` severity (0 if it names none)."""
    number = severity.removeprefix("aki-")
    return int(number) if number.isdigit() else 0
