"""`feed` alerts: a continuous device silent for `feed_timeout` seconds; closed by the system
when it sends again (a person may stand one down meanwhile: not raised again for that
silence)."""

from __future__ import annotations

from datetime import datetime, timedelta

from surveillance.online._decisions import Decision, Facts, Raise, Resolve
from surveillance.online._patient import Patient
from surveillance.online._settings import OnlineSettings

KIND = "feed"
SEVERITY = "warning"
SEVERITIES = (SEVERITY,)
"""What this rule can raise (the vocabulary's tests read it)."""


def on_tick(settings: OnlineSettings, patient: Patient, now: datetime) -> list[Decision]:
    """What the clock finds: a device silent for too long."""
    timeout = timedelta(seconds=settings.feed_timeout)
    if patient.device_at is None or patient.feed_alert is not None:
        return []
    if now - patient.device_at < timeout:
        return []
    minutes = (now - patient.device_at).total_seconds() / 60
    patient.feed_alert = f"feed-{patient.device_msg_id}"
    facts = Facts(
        message=f"Continuous monitoring silent for {minutes:.0f} min: check the device",
        obs_msg_id=patient.device_msg_id,
    )
    return [Raise(patient.feed_alert, KIND, SEVERITY, facts)]


def on_reading(patient: Patient, msg_id: str, received: datetime) -> list[Decision]:
    """A device reading arrived: the feed is alive (its alert, if any, is closed)."""
    patient.device_at, patient.device_msg_id = received, msg_id
    if patient.feed_alert is None:
        return []
    alert_id, patient.feed_alert = patient.feed_alert, None
    return [Resolve(alert_id, "continuous monitoring is sending again")]
