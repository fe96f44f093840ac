"""The alert desk: every open alert, its place in its lifecycle, and the events it publishes.

Pure: no I/O, no clock. The alert rules decide *when* something deserves an alert; the desk
keeps each open alert's `Lifecycle` (`surveillance.online._lifecycle`), applies people's actions, the
clock and the rules' decisions to it, and turns every transition into an alert event
(CONTRACT §5) to publish on `wards/{ward}/alerts` and a record for the store, so the audit
holds who, when and why.

One alert per episode: a rise in severity upgrades the open alert (`upgrade`): a new event on
the same `alert_id`, `raised` again and unacknowledged (a higher response needs its own
responder), climbing the higher severity's ladder from its first rung, or from the role it had
reached if that is more senior (never back down to a more junior role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from ingest import ActorIdentity, alerts_topic
from surveillance.online._decisions import Facts
from surveillance.online._event import AlertEvent
from surveillance.online._lifecycle import (
    Ladder,
    Lifecycle,
    Notice,
    Plan,
    acknowledge,
    advance,
    escalate_now,
    ladder_for,
    raise_alert,
    resolve,
    start_rung,
)
from surveillance.online._records import alert_record
from surveillance.store import AlertRecord, Batch

SYSTEM = "system"
"""`by` of what the service itself does (a discharge, a device back, observations taken)."""


class Publication(msgspec.Struct, frozen=True):
    """One MQTT message to send (QoS 1). (A Struct, like `Arrival`: made per message, and a
    frozen dataclass's `__init__` costs ten times as much.)"""

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
    """An open alert: what it is about, and where it is in its life (`life.raised_at` is
    when its current ladder started; `opened_at` its first event)."""

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
    scored_at: datetime | None = None
    triggers: tuple[str, ...] = ()
    opened_at: datetime | None = None
    previous_severity: str | None = None
    upgrades: int = 0
    upgraded_at: datetime | None = None

    def restate(self, facts: Facts) -> None:
        """The alert's cause is now `facts` (a new score changed it)."""
        self.message, self.obs_msg_id = facts.message, facts.obs_msg_id
        self.system, self.total, self.risk = facts.system, facts.total, facts.risk
        self.scored_at, self.triggers = facts.scored_at, facts.triggers


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
        self._of_patient: dict[str, dict[str, OpenAlert]] = {}  # the same, by patient

    def of_patient(self, patient_id: str) -> list[OpenAlert]:
        """The patient's open alerts, oldest first."""
        return list(self._of_patient.get(patient_id, {}).values())

    def adopt(self, alert: OpenAlert) -> None:
        """Hold an open alert (restored from the scorer's state)."""
        self.alerts[alert.alert_id] = alert
        self._of_patient.setdefault(alert.patient_id, {})[alert.alert_id] = alert

    def _drop(self, alert: OpenAlert) -> None:
        del self.alerts[alert.alert_id]
        held = self._of_patient[alert.patient_id]
        del held[alert.alert_id]
        if not held:
            del self._of_patient[alert.patient_id]

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
        scored_at: datetime | None = None,
        triggers: tuple[str, ...] = (),
    ) -> OpenAlert:
        """Open a new alert on the first rung of its ladder (or of `ladder`, if given)."""
        held = self.alerts.get(alert_id)
        if held is not None:  # already open: one alert, never a second with its id
            return held
        ladder, described = self._ladder(
            severity, system, kind=kind, plan=plan, rank=rank, ladder=ladder
        )
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
            plan=described,
            scored_at=scored_at,
            triggers=triggers,
            opened_at=now,
        )
        self.adopt(alert)
        self._publish(out, alert, notice, now)
        return alert

    def upgrade(
        self,
        out: Output,
        alert: OpenAlert,
        now: datetime,
        *,
        severity: str,
        facts: Facts,
        note: str,
        rank: int | None = None,
        plan: Plan | None = None,
    ) -> None:
        """The alert needs a higher response (or, at the same severity, someone again): raised
        again, unacknowledged, on the new severity's ladder from the rung of the most junior role
        at least as senior as the one it had reached (`start_rung`): never back down."""
        ladder, described = self._ladder(
            severity, facts.system, kind=alert.kind, plan=plan, rank=rank, ladder=None
        )
        if severity != alert.severity:
            alert.previous_severity, alert.severity = alert.severity, severity
            alert.upgrades += 1
        alert.opened_at = alert.opened_at or alert.life.raised_at
        reached = alert.life.ladder.rungs[alert.life.rung].notify
        alert.life, notice = raise_alert(ladder, now, start_rung(ladder, reached))
        alert.upgraded_at = now
        alert.rank = rank if rank is not None else alert.rank
        alert.plan = described
        alert.restate(facts)
        self._publish(out, alert, notice, now, note=note)

    def _ladder(
        self,
        severity: str,
        system: str | None,
        *,
        kind: str,
        plan: Plan | None,
        rank: int | None,
        ladder: Ladder | None,
    ) -> tuple[Ladder, str | None]:
        """The ladder to climb, and the plan's description when the plan changed it."""
        if ladder is None:
            ladder = ladder_for(self.ladders, severity, system, kind=kind, plan=plan, rank=rank)
        usual = ladder_for(self.ladders, severity, system, kind=kind)
        changed = plan is not None and ladder != usual
        return ladder, _describe(plan) if changed and plan is not None else None

    def acknowledge(
        self,
        out: Output,
        alert: OpenAlert,
        now: datetime,
        *,
        identity: ActorIdentity | None = None,
        **who: str | None,
    ) -> None:
        """Someone has it (`by`, `via`, `action_msg_id`, the verified `identity`). Raises
        `LifecycleError` if not open for that."""
        alert.life, notice = acknowledge(alert.life, who.get("by") or "", now)
        self._publish(
            out, alert, notice, now, via=who.get("via"), action=who.get("action"), identity=identity
        )

    def resolve(
        self,
        out: Output,
        alert: OpenAlert,
        now: datetime,
        *,
        by: str,
        reason: str,
        identity: ActorIdentity | None = None,
        **who: str | None,
    ) -> None:
        """Close it with a reason. Raises `LifecycleError` without one."""
        alert.life, notice = resolve(alert.life, by, reason, now)
        self._drop(alert)
        self._publish(
            out, alert, notice, now, via=who.get("via"), action=who.get("action"), identity=identity
        )

    def note(
        self, out: Output, alert: OpenAlert, now: datetime, note: str, facts: Facts | None = None
    ) -> None:
        """Record a decision about the alert (an event in the same state), and its new cause
        if `facts` says one."""
        if facts is not None:
            alert.restate(facts)
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

    def moved(
        self, patient_id: str, ward: str, bed: str, out: Output | None, now: datetime
    ) -> None:
        """The patient was transferred: their alerts follow them, each with an event on the new
        ward saying so (in the same state), so every screen moves it (without `out`, as when
        restoring, only the desk is changed)."""
        for alert in self.of_patient(patient_id):
            if (alert.ward, alert.bed) == (ward, bed):
                continue
            was = f"{alert.ward}/{alert.bed}"
            alert.ward, alert.bed = ward, bed
            if out is not None:
                self.note(out, alert, now, f"moved with the patient from {was} to {ward}/{bed}")

    def restore(self, records: list[AlertRecord]) -> None:
        """Resume from each open alert's latest stored event (ladders from today's settings,
        for the severity it has reached)."""
        for record in records:
            event = msgspec.json.decode(record.event, type=AlertEvent)
            raised_at = event.raised_at or record.time
            ladder = ladder_for(self.ladders, record.severity, event.system, kind=record.kind)
            rung = min(event.rung, len(ladder.rungs) - 1)
            acked = record.state == "acknowledged"
            life = Lifecycle(
                ladder,
                raised_at=event.upgraded_at or raised_at,
                state=record.state,  # type: ignore[arg-type]  # an open state, stored by us
                rung=rung,
                notified_at=None if acked else record.time,
                renotified=event.renotified,
                acknowledged_by=event.by if acked else None,
            )
            alert = OpenAlert(
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
                scored_at=event.scored_at,
                triggers=event.triggers,
                opened_at=raised_at,
                previous_severity=event.previous_severity,
                upgrades=event.upgrades,
                upgraded_at=event.upgraded_at,
            )
            self.adopt(alert)

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
        identity: ActorIdentity | None = None,
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
            scored_at=alert.scored_at,
            triggers=alert.triggers,
            raised_at=alert.opened_at or alert.life.raised_at,
            previous_severity=alert.previous_severity,
            upgrades=alert.upgrades,
            upgraded_at=alert.upgraded_at,
            rung=notice.rung,
            notify=notice.notify,
            renotified=notice.renotified,
            by=notice.by,
            reason=notice.reason,
            via=via,
            action_msg_id=action,
            note=note,
            plan=alert.plan,
            identity=identity,
        )
        payload = _encode(event)
        out.publications.append(Publication(alerts_topic(self._prefix, alert.ward), payload))
        out.batch.alerts.append(alert_record(event, payload))


def _describe(plan: Plan) -> str:
    parts = []
    if plan.ceiling is not None:
        parts.append(f"ceiling of care: {plan.ceiling}")
    if plan.threshold_rank is not None:
        parts.append("an agreed threshold")
    who = f" (agreed by {plan.by}: {plan.reason})" if plan.by else ""
    return "; ".join(parts) + who
