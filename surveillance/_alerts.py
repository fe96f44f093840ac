"""The alert desk: every open alert, its place in its lifecycle, and the events it publishes.

Pure: no I/O, no clock. The online scorer decides *when* something deserves an alert; the desk
keeps each open alert's `Lifecycle` (`surveillance._lifecycle`), applies people's actions and
the clock to it, and turns every transition into an alert event (CONTRACT §5) to publish on
`wards/{ward}/alerts` and a record for the store, so the audit holds who, when and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from surveillance._lifecycle import (
    Ladder,
    Lifecycle,
    LifecycleError,
    Notice,
    Plan,
    acknowledge,
    advance,
    escalate_now,
    ladder_for,
    raise_alert,
    resolve,
)
from surveillance.store import AlertRecord, Batch

SYSTEM = "system"
"""`by` of what the service itself does (a discharge, a device back, observations taken)."""


class AlertEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An alert event (CONTRACT §5); the fields after `obs_msg_id` are extensions.

    `raised_at` is the time of the alert's first event; `rung` the escalation rung reached and
    `notify` whom this event tells (README, "Alert lifecycle"); `renotified` counts repeats
    on the rung; `by`, `reason`, `via` and `action_msg_id` say who acknowledged or resolved
    it, why, from where, and which command did; `note` records a decision that raised nothing
    (a repeat held back by the quiet period); `plan` the patient's escalation plan when it
    changed the ladder.
    """

    alert_id: str
    patient_id: str
    ward: str
    bed: str
    time: datetime
    kind: str
    severity: str
    state: str
    message: str
    obs_msg_id: str | None = None
    seq: int = 1
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    raised_at: datetime | None = None
    rung: int = 0
    notify: str | None = None
    renotified: int = 0
    by: str | None = None
    reason: str | None = None
    via: str | None = None
    action_msg_id: str | None = None
    note: str | None = None
    plan: str | None = None


@dataclass(frozen=True, slots=True)
class Publication:
    """One MQTT message to send (QoS 1)."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(slots=True)
class Output:
    """What one call produced: messages to publish and records to store, in order."""

    publications: list[Publication] = field(default_factory=list)
    batch: Batch = field(default_factory=Batch)
    duplicates: int = 0
    dead_letters: int = 0


@dataclass(slots=True)
class OpenAlert:
    """An open alert: what it is about, and where it is in its life."""

    alert_id: str
    patient_id: str
    ward: str
    bed: str
    kind: str
    severity: str
    message: str
    life: Lifecycle
    seq: int = 0
    obs_msg_id: str | None = None
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    rank: int | None = None
    plan: str | None = None


def merge(into: Output, other: Output) -> None:
    """Append what `other` produced to `into`, in order."""
    into.publications.extend(other.publications)
    into.batch.extend(other.batch)
    into.duplicates += other.duplicates
    into.dead_letters += other.dead_letters


_encode = msgspec.json.Encoder().encode


class AlertDesk:
    """Every open alert of the hospital, by id."""

    def __init__(self, ladders: Mapping[str, Ladder], prefix: str = "") -> None:
        self.ladders = ladders
        self._prefix = prefix
        self.alerts: dict[str, OpenAlert] = {}

    def of_patient(self, patient_id: str) -> list[OpenAlert]:
        """The patient's open alerts, oldest first."""
        return [a for a in self.alerts.values() if a.patient_id == patient_id]

    def raise_alert(
        self,
        out: Output,
        now: datetime,
        *,
        alert_id: str,
        patient_id: str,
        ward: str,
        bed: str,
        kind: str,
        severity: str,
        message: str,
        obs_msg_id: str | None = None,
        system: str | None = None,
        total: int | None = None,
        risk: str | None = None,
        rank: int | None = None,
        plan: Plan | None = None,
        ladder: Ladder | None = None,
    ) -> OpenAlert:
        """Open a new alert on the first rung of its ladder (or of `ladder`, if given)."""
        held = self.alerts.get(alert_id)
        if held is not None:  # already open: one alert, never a second with its id
            return held
        if ladder is None:
            ladder = ladder_for(self.ladders, severity, system, kind=kind, plan=plan, rank=rank)
        usual = ladder_for(self.ladders, severity, system, kind=kind)
        changed = plan is not None and ladder != usual
        life, notice = raise_alert(ladder, now)
        alert = OpenAlert(
            alert_id=alert_id,
            patient_id=patient_id,
            ward=ward,
            bed=bed,
            kind=kind,
            severity=severity,
            message=message,
            life=life,
            obs_msg_id=obs_msg_id,
            system=system,
            total=total,
            risk=risk,
            rank=rank,
            plan=_describe(plan) if changed and plan is not None else None,
        )
        self.alerts[alert_id] = alert
        self._publish(out, alert, notice, now)
        return alert

    def acknowledge(self, out: Output, alert: OpenAlert, now: datetime, **who: str | None) -> None:
        """Someone has it (`by`, `via`, `action_msg_id`). Raises `LifecycleError` if not open
        for that."""
        alert.life, notice = acknowledge(alert.life, who.get("by") or "", now)
        self._publish(out, alert, notice, now, via=who.get("via"), action=who.get("action"))

    def resolve(
        self,
        out: Output,
        alert: OpenAlert,
        now: datetime,
        *,
        by: str,
        reason: str,
        **who: str | None,
    ) -> None:
        """Close it with a reason. Raises `LifecycleError` without one."""
        alert.life, notice = resolve(alert.life, by, reason, now)
        del self.alerts[alert.alert_id]
        self._publish(out, alert, notice, now, via=who.get("via"), action=who.get("action"))

    def note(self, out: Output, alert: OpenAlert, now: datetime, note: str) -> None:
        """Record a decision about the alert that changes nothing (an event in the same state)."""
        life = alert.life
        notice = Notice(life.state, life.rung, None, by=SYSTEM)
        self._publish(out, alert, notice, now, note=note)

    def escalate(self, out: Output, alert: OpenAlert, now: datetime) -> None:
        """Up one rung now (nothing if acknowledged or on the top rung)."""
        alert.life, notice = escalate_now(alert.life, now)
        if notice is not None:
            self._publish(out, alert, notice, now)

    def tick(self, out: Output, now: datetime) -> None:
        """Escalate and re-notify what nobody has acknowledged in time."""
        for alert in list(self.alerts.values()):
            due = alert.life.next_due()
            if due is None or now < due:
                continue
            alert.life, notices = advance(alert.life, now)
            for notice in notices:
                self._publish(out, alert, notice, now)

    def moved(self, patient_id: str, ward: str, bed: str) -> None:
        """The patient was transferred: their alerts follow them."""
        for alert in self.of_patient(patient_id):
            alert.ward, alert.bed = ward, bed

    def restore(self, records: list[AlertRecord]) -> None:
        """Resume from each open alert's latest stored event (ladders from today's settings)."""
        for record in records:
            event = msgspec.json.decode(record.event, type=AlertEvent)
            raised_at = event.raised_at or record.time
            ladder = ladder_for(self.ladders, record.severity, event.system, kind=record.kind)
            rung = min(event.rung, len(ladder.rungs) - 1)
            acked = record.state == "acknowledged"
            life = Lifecycle(
                ladder,
                raised_at=raised_at,
                state=record.state,  # type: ignore[arg-type]  # an open state, stored by us
                rung=rung,
                notified_at=None if acked else record.time,
                renotified=event.renotified,
                acknowledged_by=event.by if acked else None,
            )
            self.alerts[record.alert_id] = OpenAlert(
                alert_id=record.alert_id,
                patient_id=record.patient_id,
                ward=record.ward,
                bed=record.bed,
                kind=record.kind,
                severity=record.severity,
                message=record.message,
                life=life,
                seq=record.seq,
                obs_msg_id=record.obs_msg_id,
                system=event.system,
                total=event.total,
                risk=event.risk,
                plan=event.plan,
            )

    def _publish(
        self,
        out: Output,
        alert: OpenAlert,
        notice: Notice,
        now: datetime,
        *,
        via: str | None = None,
        action: str | None = None,
        note: str | None = None,
    ) -> None:
        alert.seq += 1
        event = AlertEvent(
            alert_id=alert.alert_id,
            patient_id=alert.patient_id,
            ward=alert.ward,
            bed=alert.bed,
            time=now,
            kind=alert.kind,
            severity=alert.severity,
            state=notice.state,
            message=alert.message,
            obs_msg_id=alert.obs_msg_id,
            seq=alert.seq,
            system=alert.system,
            total=alert.total,
            risk=alert.risk,
            raised_at=alert.life.raised_at,
            rung=notice.rung,
            notify=notice.notify,
            renotified=notice.renotified,
            by=notice.by,
            reason=notice.reason,
            via=via,
            action_msg_id=action,
            note=note,
            plan=alert.plan,
        )
        payload = _encode(event)
        out.publications.append(Publication(f"{self._prefix}wards/{alert.ward}/alerts", payload))
        out.batch.alerts.append(
            AlertRecord(
                alert_id=alert.alert_id,
                seq=alert.seq,
                time=now,
                ward=alert.ward,
                bed=alert.bed,
                patient_id=alert.patient_id,
                kind=alert.kind,
                severity=alert.severity,
                state=notice.state,
                message=alert.message,
                obs_msg_id=alert.obs_msg_id,
                event=payload,
            )
        )


def _describe(plan: Plan) -> str:
    parts = []
    if plan.ceiling is not None:
        parts.append(f"ceiling of care: {plan.ceiling}")
    if plan.threshold_rank is not None:
        parts.append("an agreed threshold")
    who = f" (agreed by {plan.by}: {plan.reason})" if plan.by else ""
    return "; ".join(parts) + who


__all__ = [
    "SYSTEM",
    "AlertDesk",
    "AlertEvent",
    "LifecycleError",
    "OpenAlert",
    "Output",
    "Publication",
    "merge",
]
