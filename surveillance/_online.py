"""The online scorer: patients' state, scores and alerts from a stream of ingested messages.

Pure: no I/O and no clock. The service hands it what ingest parsed, with the time it arrived,
and gets back what to publish and what to store (`Output`); `tick(now)` finds feeds that
fell silent. Every input ends somewhere visible: a score, an ADT change, a lab, or a dead
letter with its reason; repeats of a `msg_id` are counted and go nowhere.

How a patient is scored (README, "The live pipeline"):
- A nurse's set (`source` manual) is scored as the set it is.
- A continuous device's reading (`monitor`, `wearable`) joins the patient's rolling
  snapshot: each parameter's latest value from any source, while it is fresh
  (`OnlineSettings.freshness`), and the snapshot is scored. Blood pressure and oxygen are
  taken as groups (a systolic never pairs with another set's diastolic or `bp_code`).
- A reading that cannot be scored (an implausible value, say) is refused and never joins
  the snapshot.

When an alert is raised (CONTRACT §5, kind `score`): a result whose level needs more than the
bedside nurse (`alert_responses`) and is higher than the level last alerted, or that has a new
single-parameter trigger. Not again while the level holds. A nurse's set alerts at once; a
device snapshot only once the higher level has held for `device_persistence` seconds, so a
motion artefact does not page anyone. The level alerted falls only with a complete score.
A device that sends nothing for `feed_timeout` seconds raises a `feed` alert, resolved when
it sends again. A discharge resolves the patient's open alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from ingest import Admission, AlertAction, Inbound, Lab, Observation, Rejected
from scoring import (
    LONDON,
    ChartSet,
    Context,
    InvalidObservation,
    ObservationSet,
    ScoreResult,
    Vitals,
    score,
    score_batch,
)
from surveillance.store import (
    AdtRecord,
    AlertRecord,
    Batch,
    DeadLetterRecord,
    LabRecord,
    ObservationRecord,
    ScoreRecord,
    StoredState,
)

GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "bp": ("systolic_bp", "diastolic_bp", "bp_code"),
    "oxygen": ("on_oxygen", "oxygen_device", "oxygen_flow_lpm", "oxygen_percent"),
}
"""Vitals that are only ever taken together from one reading."""
_GROUP_OF: Final = {key: group for group, keys in GROUPS.items() for key in keys}

DEFAULT_FRESHNESS: Final[Mapping[str, float]] = {
    "resp_rate": 300.0,
    "spo2": 300.0,
    "heart_rate": 300.0,
    "bp": 3600.0,
    "temperature": 4 * 3600.0,
    "consciousness": 4 * 3600.0,
    "oxygen": 4 * 3600.0,
    "resp_distress": 3600.0,
    "crt_seconds": 3600.0,
    "concern": 4 * 3600.0,
    "carer_question": 4 * 3600.0,
}
"""Seconds a value stays in a continuous patient's snapshot (per vital, or per group)."""

DEFAULT_ALERT_RESPONSES: Final = frozenset({"urgent-ward", "urgent", "rapid-review", "emergency"})
"""Chart responses that call someone beyond the bedside nurse: these raise alerts."""


@dataclass(frozen=True, slots=True)
class OnlineSettings:
    """How the online scorer behaves; README, "Configuration" lists the defaults' reasons."""

    freshness: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FRESHNESS))
    device_persistence: float = 60.0
    feed_timeout: float = 120.0
    dedupe_window: float = 900.0
    alert_responses: frozenset[str] = DEFAULT_ALERT_RESPONSES
    prefix: str = ""
    tz: ZoneInfo = LONDON

    def __post_init__(self) -> None:
        unknown = set(self.freshness) - set(DEFAULT_FRESHNESS)
        if unknown:
            msg = f"freshness: unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_FRESHNESS)})"
            raise ValueError(msg)
        for name in ("device_persistence", "feed_timeout", "dedupe_window"):
            if getattr(self, name) < 0:
                msg = f"{name} must be ≥ 0 seconds"
                raise ValueError(msg)


class AlertEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An alert event (CONTRACT §5); the fields after `obs_msg_id` are extensions.

    `raised_at` is the time of the alert's first event; `by`, `reason`, `via` and
    `action_msg_id` say who acknowledged or resolved it, why, from where, and which command
    did (README, "Alert actions").
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
    by: str | None = None
    reason: str | None = None
    via: str | None = None
    action_msg_id: str | None = None


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


@dataclass(frozen=True, slots=True)
class Arrival:
    """One input message: what ingest made of it, as received, and when it arrived."""

    item: Inbound | Rejected
    topic: str
    payload: bytes
    received: datetime


@dataclass(slots=True)
class _Value:
    values: dict[str, Any]
    time: datetime


@dataclass(slots=True)
class _OpenAlert:
    """What the scorer holds of an open alert, to publish its next event."""

    kind: str
    seq: int
    state: str
    severity: str
    message: str
    ward: str
    raised_at: datetime
    obs_msg_id: str | None = None
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    by: str | None = None


@dataclass(slots=True)
class _Patient:
    context: Context
    ward: str
    bed: str
    since: datetime
    values: dict[str, _Value] = field(default_factory=dict)
    alerted_rank: int = -1
    alerted_red: frozenset[str] = frozenset()
    pending: tuple[int, frozenset[str], datetime] | None = None
    open_alerts: dict[str, _OpenAlert] = field(default_factory=dict)
    last_manual: datetime | None = None  # the latest nurse's set: next obs due counts from it
    device_at: datetime | None = None
    device_msg_id: str | None = None
    feed_alert: str | None = None


@dataclass(slots=True)
class _Row:
    """An observation waiting for its score in this batch."""

    item: Observation
    arrival: Arrival
    received: datetime
    patient: _Patient
    scored: ObservationSet
    updates: dict[str, _Value]
    device: bool


_encode = msgspec.json.Encoder().encode


class OnlineScorer:
    """Per-patient state and the rules above; one instance per service."""

    def __init__(self, charts: ChartSet, settings: OnlineSettings | None = None) -> None:
        self.charts = charts
        self.settings = settings or OnlineSettings()
        self._beds: dict[tuple[str, str], str] = {}
        self._patients: dict[str, _Patient] = {}
        self._bed_time: dict[tuple[str, str], datetime] = {}
        self._seen: dict[str, datetime] = {}
        self._alert_owner: dict[str, str] = {}  # open alert_id → patient_id
        self._ranks = {
            chart.id: {level.id: rank for rank, level in enumerate(chart.escalation.levels)}
            for chart in charts.charts.values()
        }
        prefix = self.settings.prefix
        self.deadletter_topic = f"{prefix}surveillance/deadletter"
        self._prefix = prefix

    # -- state ------------------------------------------------------------------------------

    @property
    def patients(self) -> int:
        """Patients in a bed."""
        return len(self._patients)

    def patient_in(self, ward: str, bed: str) -> str | None:
        """The patient id in a bed, if any."""
        return self._beds.get((ward, bed))

    def restore(self, state: StoredState) -> None:
        """Resume from the store: placements, levels alerted, open alerts, recent msg_ids."""
        for record in sorted(state.placements, key=lambda r: r.time):
            context = msgspec.convert(record.context, Context)
            self._place(record.ward, record.bed, context, record.time)
        for score_record in state.latest_scores:
            patient = self._patients.get(score_record.patient_id)
            if patient is None:
                continue
            result = score_record.result
            rank = self._ranks.get(result["chart"], {}).get(result["level"], -1)
            patient.alerted_rank = rank if self._alerts(result["response"]) else -1
            patient.alerted_red = frozenset(result.get("single_parameter_triggers", ()))
            vitals = msgspec.convert(result.get("vitals", {}), Vitals)
            patient.values = _values_of(vitals, score_record.time)
            last_manual = result.get("last_manual_obs")
            if last_manual is not None:
                patient.last_manual = msgspec.convert(last_manual, datetime)
        for alert in state.open_alerts:
            patient = self._patients.get(alert.patient_id)
            if patient is None:
                continue
            event = msgspec.convert(alert.event, AlertEvent)
            patient.open_alerts[alert.alert_id] = _OpenAlert(
                kind=alert.kind,
                seq=alert.seq,
                state=alert.state,
                severity=alert.severity,
                message=alert.message,
                ward=alert.ward,
                raised_at=event.raised_at or alert.time,
                obs_msg_id=alert.obs_msg_id,
                system=event.system,
                total=event.total,
                risk=event.risk,
                by=event.by,
            )
            self._alert_owner[alert.alert_id] = alert.patient_id
            if alert.kind == "feed":
                patient.feed_alert = alert.alert_id
        now = max((r.time for r in state.placements), default=None)
        for msg_id in state.recent_msg_ids:
            self._seen[msg_id] = now or datetime.min.replace(tzinfo=self.settings.tz)

    # -- input ------------------------------------------------------------------------------

    def handle(self, arrivals: Sequence[Arrival]) -> Output:
        """Process parsed messages in arrival order."""
        out = Output()
        rows: list[_Row] = []
        overlay: dict[str, dict[str, _Value]] = {}  # this batch's device values, per patient
        for arrival in arrivals:
            item, received = arrival.item, arrival.received
            if isinstance(item, Rejected):
                self._dead_letter(out, item, received)
                continue
            if item.msg_id in self._seen:
                out.duplicates += 1
                continue
            self._seen[item.msg_id] = received
            if isinstance(item, Admission):
                self._score_rows(out, rows)  # earlier observations see the bed as it was
                rows, overlay = [], {}
                self._admission(out, item, arrival)
            elif isinstance(item, Lab):
                self._lab(out, item, arrival)
            elif isinstance(item, AlertAction):
                self._action(out, item, arrival)
            else:
                row = self._row(out, item, arrival, overlay)
                if row is not None:
                    rows.append(row)
        self._score_rows(out, rows)
        return out

    def tick(self, now: datetime) -> Output:
        """Raise `feed` alerts for silent devices; forget msg_ids older than the window."""
        out = Output()
        timeout = timedelta(seconds=self.settings.feed_timeout)
        for patient in self._patients.values():
            if (
                patient.device_at is not None
                and patient.feed_alert is None
                and now - patient.device_at >= timeout
            ):
                alert_id = f"feed-{patient.device_msg_id}"
                patient.feed_alert = alert_id
                minutes = (now - patient.device_at).total_seconds() / 60
                self._alert(
                    out,
                    patient,
                    alert_id,
                    now,
                    kind="feed",
                    severity="warning",
                    state="raised",
                    message=f"Continuous monitoring silent for {minutes:.0f} min: check the device",
                    obs_msg_id=patient.device_msg_id,
                )
        cutoff = now - timedelta(seconds=self.settings.dedupe_window)
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] >= cutoff:
                break
            del seen[oldest]
        return out

    # -- ADT and labs -----------------------------------------------------------------------

    def _admission(self, out: Output, item: Admission, arrival: Arrival) -> None:
        context, received = item.context, arrival.received
        assert context.time is not None and context.patient_id is not None  # noqa: S101, PT018
        where = (item.ward, item.bed)
        out.batch.adt.append(
            AdtRecord(
                msg_id=item.msg_id,
                time=context.time,
                received_at=received,
                ward=item.ward,
                bed=item.bed,
                patient_id=context.patient_id,
                event=context.event or "",
                context=msgspec.to_builtins(context),
            )
        )
        if (held := self._bed_time.get(where)) is not None and context.time < held:
            return  # an older ADT for this bed: kept, not applied
        if context.event == "discharge":
            current = self._beds.get(where)
            if current != context.patient_id:
                self._dead_letter(
                    out,
                    _rejected(
                        arrival,
                        "placement",
                        f"discharge of {context.patient_id} from {item.ward}/{item.bed}, "
                        f"which holds {current or 'nobody'}",
                    ),
                    received,
                )
                return
            self._discharge(out, self._patients[current], received, "patient discharged")
            self._bed_time[where] = context.time
            return
        occupant = self._beds.get(where)
        if occupant is not None and occupant != context.patient_id:
            self._discharge(out, self._patients[occupant], received, "bed reassigned")
        self._place(item.ward, item.bed, context, context.time)

    def _place(self, ward: str, bed: str, context: Context, when: datetime) -> None:
        patient_id = context.patient_id
        assert patient_id is not None  # noqa: S101 - ADT always names the patient
        context = msgspec.structs.replace(context, ward=ward, bed=bed)
        patient = self._patients.get(patient_id)
        if patient is None:
            patient = _Patient(context=context, ward=ward, bed=bed, since=when)
            self._patients[patient_id] = patient
        else:
            self._beds.pop((patient.ward, patient.bed), None)  # a transfer: the old bed empties
            patient.context, patient.ward, patient.bed = context, ward, bed
        self._beds[(ward, bed)] = patient_id
        self._bed_time[(ward, bed)] = when

    def _discharge(self, out: Output, patient: _Patient, now: datetime, why: str) -> None:
        for alert_id, held in list(patient.open_alerts.items()):
            self._alert(
                out,
                patient,
                alert_id,
                now,
                kind=held.kind,
                severity=held.severity,
                state="resolved",
                message=held.message,
                obs_msg_id=held.obs_msg_id,
                by="system",
                reason=why,
            )
        self._beds.pop((patient.ward, patient.bed), None)
        assert patient.context.patient_id is not None  # noqa: S101
        del self._patients[patient.context.patient_id]

    def _lab(self, out: Output, item: Lab, arrival: Arrival) -> None:
        lab, received = item.lab, arrival.received
        if self._beds.get((item.ward, item.bed)) != lab.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, lab.patient_id), received)
            return
        out.batch.labs.append(
            LabRecord(
                msg_id=lab.msg_id,
                time=lab.time,
                received_at=received,
                ward=item.ward,
                bed=item.bed,
                patient_id=lab.patient_id,
                test=lab.test,
                value=lab.value,
                unit=lab.unit,
            )
        )

    def _misplaced(self, item: Observation | Lab, arrival: Arrival, patient_id: str) -> Rejected:
        current = self._beds.get((item.ward, item.bed))
        if current is None:
            return _rejected(
                arrival,
                "no-context",
                f"no patient is admitted to {item.ward}/{item.bed} (no ADT message yet, or "
                f"discharged): {patient_id}'s message cannot be scored",
            )
        return _rejected(
            arrival,
            "placement",
            f"{item.ward}/{item.bed} holds {current}, but the message is for {patient_id}",
        )

    # -- observations -----------------------------------------------------------------------

    def _row(
        self,
        out: Output,
        item: Observation,
        arrival: Arrival,
        overlay: dict[str, dict[str, _Value]],
    ) -> _Row | None:
        obs, received = item.obs, arrival.received
        patient_id = self._beds.get((item.ward, item.bed))
        if patient_id != obs.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, obs.patient_id), received)
            return None
        patient = self._patients[patient_id]
        updates = _values_of(obs.vitals, obs.time)
        mine = overlay.setdefault(patient_id, {})  # what earlier rows of this batch add
        merged = _merge({**patient.values, **mine}, updates)
        mine.update({key: merged[key] for key in updates})
        if obs.source == "manual":
            return _Row(item, arrival, received, patient, obs, updates, device=False)
        snapshot = msgspec.structs.replace(obs, vitals=self._snapshot(merged, obs.time))
        return _Row(item, arrival, received, patient, snapshot, updates, device=True)

    def _snapshot(self, values: Mapping[str, _Value], at: datetime) -> Vitals:
        fresh: dict[str, Any] = {}
        freshness = self.settings.freshness
        for key, value in values.items():
            if (at - value.time).total_seconds() <= freshness.get(key, 0.0):
                fresh.update(value.values)
        return Vitals(**fresh)

    def _score_rows(self, out: Output, rows: list[_Row]) -> None:
        if not rows:
            return
        results = score_batch(
            [(row.scored, row.patient.context) for row in rows], self.charts, tz=self.settings.tz
        )
        refused: set[int] = set()  # patients with a refused reading in this batch
        for row, batch_result in zip(rows, results, strict=True):
            patient, result = row.patient, batch_result
            if row.device and id(patient) in refused:
                # An earlier reading of this batch was refused but was merged into this one.
                row.scored = msgspec.structs.replace(
                    row.scored,
                    vitals=self._snapshot(_merge(patient.values, row.updates), row.scored.time),
                )
                try:
                    result = score(row.scored, patient.context, self.charts, tz=self.settings.tz)
                except InvalidObservation as exc:
                    result = exc
            if isinstance(result, InvalidObservation):
                refused.add(id(patient))
                self._dead_letter(
                    out, _rejected(row.arrival, result.code, str(result)), row.received
                )
                continue
            self._scored(out, row, result)

    def _scored(self, out: Output, row: _Row, result: ScoreResult) -> None:
        patient, item = row.patient, row.item
        patient.values = _merge(patient.values, row.updates)
        if not row.device:
            if patient.last_manual is None or result.time > patient.last_manual:
                patient.last_manual = result.time
        else:
            result = self._due_from_last_set(patient, result)
        if row.device:
            patient.device_at, patient.device_msg_id = row.received, item.msg_id
            if patient.feed_alert is not None:
                self._alert(
                    out,
                    patient,
                    patient.feed_alert,
                    row.received,
                    kind="feed",
                    severity="info",
                    state="resolved",
                    message="Resolved: continuous monitoring is sending again",
                )
                patient.feed_alert = None
        obs = item.obs
        out.batch.observations.append(
            ObservationRecord(
                msg_id=obs.msg_id,
                time=obs.time,
                received_at=row.received,
                ward=item.ward,
                bed=item.bed,
                patient_id=obs.patient_id,
                channel=item.channel,
                source=obs.source,
                vitals=msgspec.to_builtins(obs.vitals),
                not_recorded=dict(obs.not_recorded),
                ignored=list(item.ignored),
            )
        )
        payload = _encode(result)
        out.batch.scores.append(
            ScoreRecord(
                obs_msg_id=result.obs_msg_id,
                time=result.time,
                patient_id=result.patient_id,
                ward=item.ward,
                bed=item.bed,
                system=result.system,
                chart=result.chart,
                total=result.total,
                risk=result.risk,
                complete=result.complete,
                result=msgspec.json.decode(payload),
            )
        )
        out.publications.append(
            Publication(f"{self._prefix}wards/{item.ward}/beds/{item.bed}/score", payload, True)
        )
        self._maybe_alert(out, row, result)

    def _due_from_last_set(self, patient: _Patient, result: ScoreResult) -> ScoreResult:
        """A continuous patient's snapshot: the next full set is due the current level's
        interval after the last nurse's set (or after admission, before any), not after this
        reading, which would push the due time on with every device message."""
        basis = patient.last_manual or patient.since
        due = None
        if result.next_obs_due is not None:
            due = basis + (result.next_obs_due - result.time)
        return msgspec.structs.replace(
            result, next_obs_due=due, last_manual_obs=patient.last_manual
        )

    def _alerts(self, response: str) -> bool:
        return response in self.settings.alert_responses

    def _maybe_alert(self, out: Output, row: _Row, result: ScoreResult) -> None:
        patient = row.patient
        rank = self._ranks[result.chart][result.level]
        red = frozenset(result.single_parameter_triggers)
        alerting = self._alerts(result.response)
        higher = alerting and (rank > patient.alerted_rank or bool(red - patient.alerted_red))
        if not higher:
            patient.pending = None
            if result.complete and rank < patient.alerted_rank:
                patient.alerted_rank = rank if alerting else -1
                patient.alerted_red = red
            return
        if row.device:
            if patient.pending is None:
                patient.pending = (rank, red, result.time)
                if self.settings.device_persistence > 0:
                    return
            else:
                low, common, since = patient.pending
                patient.pending = (min(low, rank), common & red, since)
                held = (result.time - since).total_seconds()
                if held < self.settings.device_persistence:
                    return
            rank, red, _ = patient.pending
            patient.pending = None
            if not (rank > patient.alerted_rank or red - patient.alerted_red):
                return
        patient.alerted_rank = max(rank, patient.alerted_rank)
        patient.alerted_red = patient.alerted_red | red
        complete = "" if result.complete else f"; incomplete, missing {', '.join(result.missing)}"
        source = "" if not row.device else " (continuous monitoring)"
        triggers = f"; {', '.join(sorted(red))} at 3" if red else ""
        self._alert(
            out,
            patient,
            f"score-{result.obs_msg_id}",
            row.received,
            kind="score",
            severity=result.response,
            state="raised",
            message=(
                f"{result.system} {result.total} ({result.risk}): {result.response} response"
                f"{source}{triggers}{complete}"
            ),
            obs_msg_id=result.obs_msg_id,
            result=result,
        )

    def _alert(
        self,
        out: Output,
        patient: _Patient,
        alert_id: str,
        now: datetime,
        *,
        kind: str,
        severity: str,
        state: str,
        message: str,
        obs_msg_id: str | None = None,
        result: ScoreResult | None = None,
        by: str | None = None,
        reason: str | None = None,
        via: str | None = None,
        action_msg_id: str | None = None,
    ) -> None:
        """Publish and store the alert's next event; keep it open unless `state` is resolved."""
        assert patient.context.patient_id is not None  # noqa: S101
        held = patient.open_alerts.get(alert_id)
        if held is None:
            held = _OpenAlert(
                kind=kind,
                seq=0,
                state=state,
                severity=severity,
                message=message,
                ward=patient.ward,
                raised_at=now,
                obs_msg_id=obs_msg_id,
                system=None if result is None else result.system,
                total=None if result is None else result.total,
                risk=None if result is None else result.risk,
            )
        held.seq += 1
        held.state, held.ward = state, patient.ward
        if by is not None and state != "resolved":
            held.by = by
        if state == "resolved":
            patient.open_alerts.pop(alert_id, None)
            self._alert_owner.pop(alert_id, None)
        else:
            patient.open_alerts[alert_id] = held
            self._alert_owner[alert_id] = patient.context.patient_id
        event = AlertEvent(
            alert_id=alert_id,
            patient_id=patient.context.patient_id,
            ward=patient.ward,
            bed=patient.bed,
            time=now,
            kind=kind,
            severity=severity,
            state=state,
            message=message,
            obs_msg_id=obs_msg_id,
            seq=held.seq,
            system=held.system,
            total=held.total,
            risk=held.risk,
            raised_at=held.raised_at,
            by=by,
            reason=reason,
            via=via,
            action_msg_id=action_msg_id,
        )
        payload = _encode(event)
        out.publications.append(Publication(f"{self._prefix}wards/{patient.ward}/alerts", payload))
        out.batch.alerts.append(
            AlertRecord(
                alert_id=alert_id,
                seq=held.seq,
                time=now,
                ward=patient.ward,
                bed=patient.bed,
                patient_id=event.patient_id,
                kind=kind,
                severity=severity,
                state=state,
                message=message,
                obs_msg_id=obs_msg_id,
                event=msgspec.json.decode(payload),
            )
        )

    def _action(self, out: Output, item: AlertAction, arrival: Arrival) -> None:
        """A person acknowledges or resolves an alert; a command that does not apply is a
        dead letter saying why (so it is seen, never silently dropped)."""
        command, received = item.command, arrival.received
        owner = self._alert_owner.get(item.alert_id)
        patient = self._patients.get(owner) if owner is not None else None
        held = patient.open_alerts.get(item.alert_id) if patient is not None else None
        if patient is None or held is None or item.ward not in (held.ward, patient.ward):
            why = (
                f"no open alert {item.alert_id!r} on ward {item.ward!r}: unknown, already "
                f"resolved, or on another ward; nothing was changed"
            )
            self._dead_letter(out, _rejected(arrival, "unknown-alert", why), received)
            return
        if item.action == "ack" and held.state == "acknowledged":
            why = f"alert {item.alert_id!r} is already acknowledged (by {held.by or 'someone'})"
            self._dead_letter(out, _rejected(arrival, "alert-state", why), received)
            return
        self._alert(
            out,
            patient,
            item.alert_id,
            received,
            kind=held.kind,
            severity=held.severity,
            state="acknowledged" if item.action == "ack" else "resolved",
            message=held.message,
            obs_msg_id=held.obs_msg_id,
            by=command.by.strip(),
            reason=command.reason.strip() if command.reason else None,
            via=command.via,
            action_msg_id=command.msg_id,
        )

    # -- dead letters -----------------------------------------------------------------------

    def _dead_letter(self, out: Output, item: Rejected, received: datetime) -> None:
        letter = item.dead_letter(received)
        payload = _encode(letter)
        out.dead_letters += 1
        out.publications.append(Publication(self.deadletter_topic, payload))
        out.batch.dead_letters.append(
            DeadLetterRecord(
                digest=digest(item.topic, item.payload),
                time=received,
                topic=item.topic,
                error=item.error,
                reason=item.reason,
                payload=letter.payload,
                encoding=letter.encoding,
                msg_id=item.msg_id,
            )
        )


def digest(topic: str, payload: bytes) -> str:
    """A dead letter's key: the same message refused twice is stored once."""
    return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


def _values_of(vitals: Vitals, at: datetime) -> dict[str, _Value]:
    """A reading's vitals by snapshot key (a vital, or its group), each stamped `at`."""
    values: dict[str, _Value] = {}
    for key, value in msgspec.structs.asdict(vitals).items():
        if value is None:
            continue
        group = _GROUP_OF.get(key, key)
        values.setdefault(group, _Value({}, at)).values[key] = value
    return values


def _merge(held: Mapping[str, _Value], updates: Mapping[str, _Value]) -> dict[str, _Value]:
    merged = dict(held)
    for key, value in updates.items():
        old = merged.get(key)
        if old is None or old.time <= value.time:
            merged[key] = value
    return merged


def _rejected(arrival: Arrival, error: str, reason: str) -> Rejected:
    msg_id = None if isinstance(arrival.item, Rejected) else arrival.item.msg_id
    return Rejected(arrival.topic, arrival.payload, error, reason, msg_id)
