"""`overdue` alerts: the next full set is late (SPEC: `obs_timing`); escalated once missed,
closed by the system when a nurse's set is taken."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from scoring import ScoreResult, obs_timing
from surveillance.online._decisions import Decision, Escalate, Facts, Raise, Resolve
from surveillance.online._desk import OpenAlert
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings

KIND = "overdue"
SEVERITY = "warning"
SEVERITIES = (SEVERITY,)
"""What this rule can raise (the vocabulary's tests read it)."""


def on_tick(
    settings: OnlineSettings, patient: Patient, now: datetime, alerts: Mapping[str, OpenAlert]
) -> list[Decision]:
    """What the clock finds: the next set late (an alert), then missed (escalated).
    `alerts`: the open alerts by id."""
    if patient.due is None or patient.interval is None:
        return []
    timing = obs_timing(patient.due - patient.interval, patient.due, now)
    decisions: list[Decision] = []
    raised = None
    if patient.overdue_alert is None and timing.status in ("late", "missed"):
        over = duration(now - patient.due)
        # Unique per raise (one stood down and forgotten by a restart may come again), and
        # never the patient id: alert ids are shown on ward boards and in URLs (issue 14).
        # The bed is enough: it holds one patient at a time.
        patient.overdue_alert = (
            f"overdue-{patient.ward}-{patient.bed}-{patient.due:%Y%m%dT%H%M%S}-{now:%H%M%S}"
        )
        first = patient.last_manual is None and patient.device_obs_at is None
        message = (
            f"Observations {timing.status}: the {'first' if first else 'full'} set due at "
            f"{patient.due.astimezone(settings.tz):%H:%M} is {over} over"
        )
        decisions.append(Raise(patient.overdue_alert, KIND, SEVERITY, Facts(message)))
        raised = patient.overdue_alert
    held = alerts.get(patient.overdue_alert) if patient.overdue_alert is not None else None
    first_rung = raised is not None or (held is not None and held.life.rung == 0)
    if patient.overdue_alert is not None and timing.status == "missed" and first_rung:
        decisions.append(Escalate(patient.overdue_alert))
    return decisions


def on_admission(
    settings: OnlineSettings, patient: Patient, admitted: datetime, received: datetime
) -> None:
    """A patient newly placed, with no score yet, is due a first full set `first_set` after
    admission, or after the service first heard of it if that is later (a service started on
    a ward of long-admitted patients does not call them all late at once). A score replaces
    this due time as any score does (`on_due`)."""
    if settings.first_set <= 0 or patient.due is not None:
        return
    first = timedelta(seconds=settings.first_set)
    patient.interval = first
    patient.due = (admitted if received - admitted <= first else received) + first


def on_set(settings: OnlineSettings, patient: Patient, result: ScoreResult) -> list[Decision]:
    """A nurse's set (not late) was taken: the overdue alert, if any, is closed."""
    if patient.overdue_alert is None:
        return []
    alert_id, patient.overdue_alert = patient.overdue_alert, None
    when = result.time.astimezone(settings.tz)
    return [Resolve(alert_id, f"observations taken at {when:%H:%M}")]


def on_due(patient: Patient, result: ScoreResult) -> None:
    """A new (not late) score sets when the next full set is due."""
    if result.obs_interval_minutes is not None and result.next_obs_due is not None:
        patient.due = result.next_obs_due
        patient.interval = timedelta(minutes=result.obs_interval_minutes)


def duration(span: timedelta) -> str:
    """`25 min`, `3 h 05 min`: how a nurse says how late something is."""
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
