"""The online scorer: patients' state, scores and alerts from a stream of ingested messages.

Pure: no I/O and no clock. The service hands it what ingest parsed, with the time it arrived,
and gets back what to publish and what to store (`Output`); `tick(now)` finds feeds that
fell silent and observations overdue, and escalates what nobody has acknowledged. Every input
ends somewhere visible: a score, an ADT change, a lab, a clinical event, or a dead letter with
its reason;
repeats of a `msg_id` are counted and go nowhere.

How a patient is scored (README, "The live pipeline"):
- A nurse's set (`source` manual) is scored as the set it is.
- A continuous device's reading (`monitor`, `wearable`) joins the patient's rolling
  snapshot (`_snapshot`) and the snapshot is scored.
- A reading that cannot be scored (an implausible value, say) is refused and never joins
  the snapshot.

This class is the facade: placement (ADT), dedupe, dead letters, batching and the state kept
for restarts. What deserves an alert is decided by the rules (`surveillance.online.rules`,
one module per kind: score, overdue, feed, sepsis, AKI; plans shape the ladders), which return
decisions; the scorer applies them to the `AlertDesk`, where each alert climbs its ladder
until someone acknowledges it. A discharge resolves the patient's open alerts.

Clinical events (CONTRACT §9: rapid response calls, arrests, ICU admissions, deaths, harms)
are outcomes, not observations: they are checked (the bed's patient, their time) and stored,
and change no score and no alert. Not even a death or an arrest stands an alert down: an
event names its patient in a message no person confirms on screen, and one keyed to the
wrong patient must not silence a living patient's alerts; the ADT discharge that follows a
death resolves them, as every discharge does. An event may come after its patient left the
bed (deaths and ICU transfers are often recorded after the ADT message): it is still taken
for that bed within `event_grace` of their leaving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from ingest import (
    DEAD_LETTER_TOPIC,
    Admission,
    AlertAction,
    EscalationPlan,
    EventReport,
    Lab,
    Observation,
    PlanUpdate,
    Rejected,
    identity_verified,
    score_topic,
)
from scoring import (
    ChartSet,
    Context,
    Creatinine,
    InvalidObservation,
    ObservationSet,
    ScoreResult,
    Vitals,
    score,
    score_batch,
)
from surveillance.online import _corrections as corrections
from surveillance.online import _records as records
from surveillance.online._decisions import Decision, Escalate, Note, Raise, Resolve, Upgrade
from surveillance.online._desk import SYSTEM, AlertDesk, Output, Publication
from surveillance.online._flood import FloodGate
from surveillance.online._intake import (
    content_digest,
    digest,
    nearest_fold,
    rejected,
    span,
    time_problem,
)
from surveillance.online._lifecycle import LifecycleError
from surveillance.online._model import ModelGuard, with_learned
from surveillance.online._patient import Patient
from surveillance.online._settings import Arrival, OnlineSettings
from surveillance.online._snapshot import (
    Value,
    corrected_ids,
    fresh_vitals,
    merge_values,
    not_over_manual,
    values_of,
)
from surveillance.online.rules import aki, feed, model, overdue, plans, sepsis
from surveillance.online.rules.score import ScoreRule
from surveillance.risk import Risk
from surveillance.store import AcceptedRecord, StateRecord, StoredState


@dataclass(slots=True)
class _Pending:
    """This batch's observations waiting to be scored together, and what they add."""

    rows: list[_Row] = field(default_factory=list)
    overlay: dict[str, dict[str, Value]] = field(default_factory=dict)  # device values
    ids: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Row:
    """An observation waiting for its score in this batch."""

    item: Observation
    arrival: Arrival
    received: datetime
    patient: Patient
    scored: ObservationSet
    updates: dict[str, Value]
    device: bool
    digest: str = ""
    corrects: tuple[str, ...] = ()  # a correction: the msg_ids of the readings it replaces
    spared: tuple[str, ...] = ()  # a correction: the nurse's sets of its time it left alone


_encode = msgspec.json.Encoder().encode


class OnlineScorer:
    """Per-patient state and the rules; one instance per service.

    `risk`: the learned deterioration risk (issue 15), asked for an estimate with every score
    that is not late, told of outcomes, departures and the clock; behind a `ModelGuard`, so
    that nothing it does (an exception, a bad answer) stops scoring or alerting. It never
    changes a score, a response, a ladder or another rule's alert: its estimate is added to
    the score's payload (`learned_risk`), and only with `model_alerts` does it raise alerts,
    of its own kind (`rules.model`). None: no learned risk.
    """

    def __init__(
        self, charts: ChartSet, settings: OnlineSettings | None = None, risk: Risk | None = None
    ) -> None:
        self.charts = charts
        self.settings = settings or OnlineSettings()
        self.model: ModelGuard | None = None
        if risk is not None:
            self.use_model(risk)
        self._beds: dict[tuple[str, str], str] = {}
        self._patients: dict[str, Patient] = {}
        self._bed_time: dict[tuple[str, str], datetime] = {}
        self._seen: dict[str, tuple[str, datetime]] = {}  # msg_id → (content digest, received)
        self._dirty: set[str] = set()  # patients whose state changed since it was last kept
        self._dirty_beds: set[tuple[str, str]] = set()
        self._gone: dict[str, datetime] = {}  # discharged patients: their discharge's time
        self._dirty_gone: set[str] = set()
        # The bed each patient last left (discharge, transfer, bed given to another) and when:
        # clinical events recorded after the ADT message are still taken for that bed.
        self._left: dict[str, tuple[str, str, datetime]] = {}
        self._dirty_left: set[str] = set()
        self.flood = FloodGate(
            per_minute=self.settings.flood_per_minute, burst=2 * self.settings.flood_per_minute
        )
        self.desk = AlertDesk(self.settings.ladders, self.settings.prefix)
        self._ranks = {
            chart.id: {level.id: rank for rank, level in enumerate(chart.escalation.levels)}
            for chart in charts.charts.values()
        }
        self._score_rule = ScoreRule(self.settings, self._ranks)
        prefix = self.settings.prefix
        self.deadletter_topic = prefix + DEAD_LETTER_TOPIC
        self._prefix = prefix

    def use_model(self, risk: Risk | None) -> None:
        """Ask `risk` from now on (None: no learned risk)."""
        settings = self.settings
        self.model = (
            None
            if risk is None
            else ModelGuard(risk, shadow=not settings.model_alerts, learn=settings.model_learn)
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def patients(self) -> int:
        """Patients in a bed."""
        return len(self._patients)

    def patient_in(self, ward: str, bed: str) -> str | None:
        """The patient id in a bed, if any."""
        return self._beds.get((ward, bed))

    def restore(self, state: StoredState, now: datetime | None = None) -> None:
        """Resume from the store: the scorer's state as the last committed batch left it,
        and the msg_ids accepted recently (remembered from `now`, the service's clock)."""
        if state.scorer_state:
            self._restore_state(state.scorer_state)
        else:
            self._restore_from_records(state)
        remembered: dict[str, tuple[str, datetime]] = {}
        if not state.scorer_state:  # a store from before digests were kept
            if now is None:  # no clock here: the latest placement is the latest time known
                now = max(
                    (r.time for r in state.placements), default=datetime.min.replace(tzinfo=UTC)
                )
            for msg_id in state.recent_msg_ids - state.accepted.keys():
                remembered[msg_id] = ("", now)  # any content repeats
        remembered.update(state.accepted)
        # Oldest first, as a running scorer holds them: `_forget` stops at the first id still
        # within the window, so ids in any other order (a store's rows come unordered; an id
        # accepted again after it was forgotten keeps its old place in a dict) would be
        # remembered longer after a restart than without one, and a repeat of one refused.
        for msg_id, entry in sorted(remembered.items(), key=lambda item: item[1][1]):
            self._seen[msg_id] = entry

    def unknown_ids(self, arrivals: Sequence[Arrival]) -> list[str]:
        """The msg_ids of `arrivals` not in the dedupe memory (the service looks them up in
        the store, which remembers every id ever accepted)."""
        seen = self._seen
        return [
            a.item.msg_id
            for a in arrivals
            if not isinstance(a.item, Rejected) and a.item.msg_id not in seen
        ]

    def remember(self, accepted: Mapping[str, tuple[str, datetime]], now: datetime) -> None:
        """Ids accepted long ago, found in the store: a message reusing one is a repeat or a
        `conflict`, never a silent overwrite of the stored records (remembered from `now`)."""
        for msg_id, (key, _) in accepted.items():
            self._seen.setdefault(msg_id, (key, now))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The whole state as data, by key (what `restore` takes back as `scorer_state`)."""
        self._dirty.update(self._patients)
        self._dirty_beds.update(self._bed_time)
        self._dirty_gone.update(self._gone)
        self._dirty_left.update(self._left)
        out = Output()
        self._keep_state(out, datetime.min.replace(tzinfo=self.settings.tz))
        return {
            r.key: msgspec.json.decode(r.state) for r in out.batch.states if r.state is not None
        }

    def _touch(self, patient: Patient) -> None:
        self._dirty.add(patient.id)

    def _keep_state(self, out: Output, now: datetime) -> None:
        """Add the state of every patient and bed changed since the last call to the batch,
        so it is committed with the records that changed it (a restart then resumes exactly
        where the last committed batch left off)."""
        self._dirty.update(record.patient_id for record in out.batch.alerts)
        if not (self._dirty or self._dirty_beds or self._dirty_gone or self._dirty_left):
            return
        for patient_id in sorted(self._dirty):
            patient = self._patients.get(patient_id)
            state = None
            if patient is not None:
                state = patient.snapshot(self.desk.of_patient(patient_id))
            out.batch.states.append(StateRecord(f"patient:{patient_id}", state, now))
        for ward, bed in sorted(self._dirty_beds):
            held = self._bed_time.get((ward, bed))
            bed_state = None if held is None else _encode({"time": held})
            out.batch.states.append(StateRecord(f"bed:{ward}/{bed}", bed_state, now))
        for patient_id in sorted(self._dirty_gone):
            gone = self._gone.get(patient_id)
            gone_state = None if gone is None else _encode({"time": gone})
            out.batch.states.append(StateRecord(f"gone:{patient_id}", gone_state, now))
        for patient_id in sorted(self._dirty_left):
            left = self._left.get(patient_id)
            left_state = None
            if left is not None:
                left_state = _encode({"ward": left[0], "bed": left[1], "time": left[2]})
            out.batch.states.append(StateRecord(f"left:{patient_id}", left_state, now))
        self._dirty_left.clear()
        self._dirty.clear()
        self._dirty_beds.clear()
        self._dirty_gone.clear()

    def _restore_state(self, rows: Mapping[str, Mapping[str, Any]]) -> None:
        for key, row in rows.items():
            kind, _, name = key.partition(":")
            if kind == "bed":
                ward, _, bed = name.partition("/")
                self._bed_time[(ward, bed)] = msgspec.convert(row["time"], datetime)
            elif kind == "gone":
                self._gone[name] = msgspec.convert(row["time"], datetime)
            elif kind == "left":
                when = msgspec.convert(row["time"], datetime)
                self._left[name] = (str(row["ward"]), str(row["bed"]), when)
            elif kind == "patient":
                patient, alerts = Patient.restore(row)
                self._patients[name] = patient
                self._beds[(patient.ward, patient.bed)] = name
                for alert in alerts:
                    self.desk.adopt(alert)

    def _restore_from_records(self, state: StoredState) -> None:
        """Rebuild from the records of a store written before the scorer's state was kept:
        placements, levels alerted, open alerts (timers and holds are not recoverable)."""
        for record in sorted(state.placements, key=lambda r: r.time):
            context = msgspec.convert(record.context, Context)
            self._place(record.ward, record.bed, context, record.time)
        for score_record in state.latest_scores:
            patient = self._patients.get(score_record.patient_id)
            if patient is None:
                continue
            result = msgspec.json.decode(score_record.result)
            rank = self._ranks.get(result["chart"], {}).get(result["level"], -1)
            alerting = result["response"] in self.settings.alert_responses
            patient.alerted_rank = rank if alerting else -1
            patient.alerted_red = frozenset(result.get("single_parameter_triggers", ()))
            vitals = msgspec.convert(result.get("vitals", {}), Vitals)
            patient.values = values_of(vitals, score_record.time)
            last_manual = result.get("last_manual_obs")
            if last_manual is not None:
                patient.last_manual = msgspec.convert(last_manual, datetime)
            due = result.get("next_obs_due")
            interval = result.get("obs_interval_minutes")
            if due is not None and interval is not None:
                patient.due = msgspec.convert(due, datetime)
                patient.interval = timedelta(minutes=interval)
            patient.prompts = frozenset(result.get("prompts", ()))
        for plan_record in state.plans:
            held = self._patients.get(plan_record.patient_id)
            if held is not None:
                doc = msgspec.convert(plan_record.plan, EscalationPlan)
                held.plan = None if doc.ceiling is None and doc.alert_from is None else doc
        for lab in state.labs:
            held = self._patients.get(lab.patient_id)
            if held is not None and lab.test == "creatinine":
                held.creatinine.append(Creatinine(lab.time, lab.value))
        for held in self._patients.values():
            held.creatinine.sort(key=lambda r: r.time)
        self.desk.restore([a for a in state.open_alerts if a.patient_id in self._patients])
        for alert in self.desk.alerts.values():
            patient = self._patients[alert.patient_id]
            if alert.kind == "feed":
                patient.feed_alert = alert.alert_id
            elif alert.kind == "overdue":
                patient.overdue_alert = alert.alert_id
            elif alert.kind == "score" and alert.rank is None:  # the level it alerted
                # From its severity, not the latest score (which may be lower, within the
                # hysteresis): a rise after the restart must never "upgrade" it downwards.
                alert.rank = max(patient.alerted_rank, self._rank_of(alert.system, alert.severity))
                patient.alerted_rank = alert.rank

    def _rank_of(self, system: str | None, severity: str) -> int:
        """The highest level rank whose response is `severity` on the charts of `system`
        (-1 if none)."""
        return max(
            (
                level.rank
                for chart in self.charts.charts.values()
                if chart.system == system
                for level in chart.escalation.levels
                if level.response == severity
            ),
            default=-1,
        )

    # -- input ------------------------------------------------------------------------------

    def handle(self, arrivals: Sequence[Arrival]) -> Output:
        """Process parsed messages in the order the broker delivered them.

        Observations are scored together (`score_batch`) until a message of another kind
        comes, which first sees them scored: within a patient, inputs take effect in delivery
        order. No message can stop the scorer: one whose handling raises becomes a dead letter
        (`internal`) with the error, and the rest go on.
        """
        out = Output()
        pending = _Pending()
        if arrivals:
            self._forget(arrivals[0].received)
        for arrival in arrivals:
            try:
                self._one(out, arrival, pending)
            except Exception as error:  # one message must never stop the rest
                self._internal(out, arrival, error)
        self._score_rows(out, pending)
        if arrivals:
            self._keep_state(out, arrivals[-1].received)
        return out

    def _one(self, out: Output, arrival: Arrival, pending: _Pending) -> None:
        item, received = arrival.item, arrival.received
        if isinstance(item, Rejected):
            self._dead_letter(out, item, received)
            return
        msg_id = item.msg_id
        if msg_id in pending.ids:  # a repeat within the batch: is the first one accepted?
            self._score_rows(out, pending)
        key = content_digest(item)
        seen = self._seen.get(msg_id)
        if seen is not None:
            if seen[0] in (key, ""):  # "": remembered without its digest (an older store)
                out.duplicates += 1
                return
            why = (
                f"msg_id {msg_id!r} was already accepted at {seen[1].isoformat()} with "
                "other content; an id names one message, so this one was not used"
            )
            self._dead_letter(out, rejected(arrival, "conflict", why), received)
            return
        if isinstance(item, Observation):
            item = nearest_fold(item, received)
        problem = time_problem(self.settings, item, received)
        if problem is not None:
            self._dead_letter(out, rejected(arrival, "time", problem), received)
            return
        if isinstance(item, Observation):
            row = self._row(out, item, arrival, pending.overlay)
            if row is not None:
                row.digest = key
                pending.rows.append(row)
                pending.ids.add(msg_id)
            return
        self._score_rows(out, pending)  # earlier observations take effect first
        refused = out.dead_letters
        if isinstance(item, Admission):
            self._admission(out, item, arrival)
        elif isinstance(item, Lab):
            self._lab(out, item, arrival)
        elif isinstance(item, AlertAction):
            self._action(out, item, arrival)
        elif isinstance(item, EventReport):
            self._event(out, item, arrival)
        else:
            self._plan(out, item, arrival)
        if out.dead_letters == refused:
            self._accept(out, msg_id, key, received)

    def _accept(self, out: Output, msg_id: str, key: str, received: datetime) -> None:
        """Remember an accepted message (only accepted ones: a refused id may come again,
        corrected), within the dedupe memory's size."""
        seen = self._seen
        seen[msg_id] = (key, received)
        out.batch.accepted.append(AcceptedRecord(msg_id, key, received))
        while len(seen) > self.settings.dedupe_max:
            del seen[next(iter(seen))]

    def set_aside(self, arrival: Arrival, deaths: int) -> Output:
        """Quarantine a message the service died handling `deaths` times: a dead letter
        (`internal`), never handled."""
        out = Output()
        why = (
            f"quarantined: the service stopped {deaths} times while handling this message "
            "(a hang, memory or a crash); it was set aside so that scoring goes on; please "
            "report it"
        )
        self._dead_letter(out, rejected(arrival, "internal", why), arrival.received)
        return out

    def _internal(self, out: Output, arrival: Arrival, error: Exception) -> None:
        """A message whose handling failed: set aside as a dead letter with the error."""
        why = (
            f"the service could not handle this message ({type(error).__name__}: {error}); "
            "it was set aside so that scoring goes on; please report it"
        )
        self._dead_letter(out, rejected(arrival, "internal", why[:2000]), arrival.received)

    def tick(self, now: datetime) -> Output:
        """What the clock does: silent devices and late observations raise alerts, unanswered
        alerts escalate; msg_ids older than the window are forgotten."""
        out = Output()
        if self.model is not None:
            self.model.mature(now)
        for patient in self._patients.values():
            self._decide(out, patient, now, feed.on_tick(self.settings, patient, now))
            if self.settings.overdue_alerts:
                found = overdue.on_tick(self.settings, patient, now, self.desk.alerts)
                self._decide(out, patient, now, found)
        self.desk.tick(out, now)
        self._forget(now)
        horizon = now - timedelta(seconds=self.settings.max_age)
        for patient_id in [p for p, t in self._gone.items() if t < horizon]:
            del self._gone[patient_id]  # an ADT older than that is refused by its time anyway
            self._dirty_gone.add(patient_id)
        grace = now - timedelta(seconds=self.settings.event_grace)
        for patient_id in [p for p, (_, _, t) in self._left.items() if t < grace]:
            del self._left[patient_id]  # past the grace: their bed's events are refused
            self._dirty_left.add(patient_id)
        for flooded in self.flood.due(now):
            summary = {
                "topic": flooded.topic,
                "count": flooded.count,
                "since": flooded.since,
                "until": now,
                "last_reason": flooded.last_reason,
            }
            why = (
                f"{flooded.count} more refused message(s) on this topic since "
                f"{flooded.since.isoformat()} were counted, not kept (more than "
                f"{self.settings.flood_per_minute:g} a minute); the last: {flooded.last_reason}"
            )
            item = Rejected(flooded.topic, _encode(summary), "flood", why[:2000])
            self._keep_dead_letter(out, item, now)
        self._keep_state(out, now)
        return out

    def _forget(self, now: datetime) -> None:
        """Forget msg_ids that arrived more than `dedupe_window` before `now` (the service's
        clock, whatever the messages' own times say), oldest first."""
        cutoff = now - timedelta(seconds=self.settings.dedupe_window)
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest][1] >= cutoff:
                break
            del seen[oldest]

    # -- alerts -----------------------------------------------------------------------------

    def _decide(
        self, out: Output, patient: Patient, now: datetime, decisions: Sequence[Decision]
    ) -> None:
        """Apply the rules' decisions about the patient to the desk, in order."""
        desk = self.desk
        for decision in decisions:
            if isinstance(decision, Raise):
                facts = decision.facts
                desk.raise_alert(
                    out,
                    now,
                    alert_id=decision.alert_id,
                    patient_id=patient.id,
                    ward=patient.ward,
                    bed=patient.bed,
                    kind=decision.kind,
                    severity=decision.severity,
                    message=facts.message,
                    obs_msg_id=facts.obs_msg_id,
                    system=facts.system,
                    total=facts.total,
                    risk=facts.risk,
                    rank=decision.rank,
                    plan=plans.plan_of(patient, decision.chart, self._ranks),
                    scored_at=facts.scored_at,
                    triggers=facts.triggers,
                )
                continue
            held = desk.alerts.get(decision.alert_id)
            if held is None:  # closed meanwhile (stood down by a person): nothing to change
                continue
            if isinstance(decision, Upgrade):
                desk.upgrade(
                    out,
                    held,
                    now,
                    severity=decision.severity,
                    facts=decision.facts,
                    note=decision.note,
                    rank=decision.rank,
                    plan=plans.plan_of(patient, decision.chart, self._ranks),
                )
            elif isinstance(decision, Note):
                desk.note(out, held, now, decision.note, decision.facts)
            elif isinstance(decision, Resolve):
                desk.resolve(out, held, now, by=SYSTEM, reason=decision.reason)
            elif isinstance(decision, Escalate):
                desk.escalate(out, held, now)

    def _action(self, out: Output, item: AlertAction, arrival: Arrival) -> None:
        """A person acknowledges or resolves an alert; a command that does not apply is a
        dead letter saying why (so it is seen, never silently dropped)."""
        command, received = item.command, arrival.received
        held = self.desk.alerts.get(item.alert_id)
        patient = self._patients.get(held.patient_id) if held is not None else None
        if held is None or patient is None or item.ward not in (held.ward, patient.ward):
            why = (
                f"no open alert {item.alert_id!r} on ward {item.ward!r}: unknown, already "
                f"resolved, or on another ward; nothing was changed"
            )
            self._dead_letter(out, rejected(arrival, "unknown-alert", why), received)
            return
        if command.severity is not None and command.severity != held.severity:
            why = (
                f"alert {item.alert_id!r} is {held.severity} now, not {command.severity} as "
                f"{command.by.strip()!r} saw it (raised again since): nothing was changed; "
                "look at it again and act on what it is now"
            )
            self._dead_letter(out, rejected(arrival, "alert-changed", why), received)
            return
        who = {"via": command.via, "action": command.msg_id}
        identity, by = command.identity, command.by.strip()
        if identity is not None and not identity_verified(
            self.settings.action_key, item.alert_id, item.action, command
        ):
            # Any identity the broker lets publish actions (a pager gateway) could name any
            # clinician: an identity not signed by a wallboard server is not believed.
            identity, by = None, f"{by} (identity not verified)"
        try:
            if item.action == "ack":
                self.desk.acknowledge(out, held, received, by=by, identity=identity, **who)
                self._score_rule.acknowledged(patient, held, received)
            else:
                reason = (command.reason or "").strip()
                # A stood-down feed or overdue alert stays the patient's until its cause is
                # gone (the device sends, a set is taken): not raised again meanwhile.
                self.desk.resolve(
                    out,
                    held,
                    received,
                    by=by,
                    reason=reason,
                    identity=identity,
                    **who,
                )
        except LifecycleError as error:
            why = f"alert {item.alert_id!r} is {error}"
            self._dead_letter(out, rejected(arrival, error.code, why), received)

    def _plan(self, out: Output, item: PlanUpdate, arrival: Arrival) -> None:
        """A patient's escalation plan: kept (the audit), then in force for new alerts."""
        doc, received = item.plan, arrival.received
        if self._beds.get((item.ward, item.bed)) != doc.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, doc.patient_id), received)
            return
        patient = self._patients[doc.patient_id]
        problem = plans.problem(self.settings, self.charts, patient, doc)
        if problem is not None:
            error, why = problem
            self._dead_letter(out, rejected(arrival, error, why), received)
            return
        out.batch.plans.append(records.plan_record(item.ward, item.bed, doc, received))
        if plans.apply(patient, doc):
            self._touch(patient)

    # -- ADT and labs -----------------------------------------------------------------------

    def _admission(self, out: Output, item: Admission, arrival: Arrival) -> None:
        context, received = item.context, arrival.received
        assert context.time is not None and context.patient_id is not None  # noqa: S101, PT018
        where, patient_id = (item.ward, item.bed), context.patient_id
        record = records.adt_record(item, received)
        patient = self._patients.get(patient_id)
        latest = [
            self._bed_time.get(where),  # the bed's latest ADT
            patient.adt_at if patient is not None else None,  # the patient's, wherever
            self._gone.get(patient_id),  # their discharge
        ]
        if any(t is not None and context.time < t for t in latest):
            out.batch.adt.append(record)
            return  # older than what is known of this bed or patient: kept, not applied
        if context.event == "discharge":
            current = self._beds.get(where)
            if current != patient_id:
                self._dead_letter(
                    out,
                    rejected(
                        arrival,
                        "placement",
                        f"discharge of {patient_id} from {item.ward}/{item.bed}, "
                        f"which holds {current or 'nobody'}",
                    ),
                    received,
                )
                return
            out.batch.adt.append(record)
            self._discharge(out, self._patients[current], received, "patient discharged")
            self._leaves(patient_id, item.ward, item.bed, context.time)
            self._bed_time[where] = context.time
            self._gone[patient_id] = context.time
            self._dirty_beds.add(where)
            self._dirty_gone.add(patient_id)
            return
        out.batch.adt.append(record)
        occupant = self._beds.get(where)
        if occupant is not None and occupant != context.patient_id:
            self._discharge(out, self._patients[occupant], received, "bed reassigned")
            self._leaves(occupant, item.ward, item.bed, context.time)
        self._place(item.ward, item.bed, context, context.time, out=out, now=received)
        if patient is None:  # new here (or back after a discharge): a first set is due
            overdue.on_admission(self.settings, self._patients[patient_id], context.time, received)

    def _place(
        self,
        ward: str,
        bed: str,
        context: Context,
        when: datetime,
        *,
        out: Output | None = None,
        now: datetime | None = None,
    ) -> None:
        """Put the patient in the bed (`out` and `now`: tell the screens their open alerts
        moved with them, so the new ward's board shows them and the old one drops them)."""
        patient_id = context.patient_id
        assert patient_id is not None  # noqa: S101 - ADT always names the patient
        context = msgspec.structs.replace(context, ward=ward, bed=bed)
        patient = self._patients.get(patient_id)
        if patient is None:
            patient = Patient(context=context, ward=ward, bed=bed, since=when)
            self._patients[patient_id] = patient
        else:
            left = (patient.ward, patient.bed)
            if self._beds.get(left) == patient_id:  # a transfer: the old bed empties
                del self._beds[left]
                self._leaves(patient_id, *left, when)
                self._bed_time[left] = max(when, self._bed_time.get(left, when))
                self._dirty_beds.add(left)
            patient.context, patient.ward, patient.bed = context, ward, bed
            self.desk.moved(patient_id, ward, bed, out, now or when)
        patient.adt_at = when
        if self._gone.pop(patient_id, None) is not None:  # back after a discharge
            self._dirty_gone.add(patient_id)
        self._beds[(ward, bed)] = patient_id
        self._bed_time[(ward, bed)] = when
        self._dirty.add(patient_id)
        self._dirty_beds.add((ward, bed))

    def _leaves(self, patient_id: str, ward: str, bed: str, when: datetime) -> None:
        """The patient left this bed at `when`: events recorded late are still theirs; the
        learned risk forgets their features."""
        self._left[patient_id] = (ward, bed, when)
        self._dirty_left.add(patient_id)
        if self.model is not None:
            self.model.leave(patient_id, when)

    def _discharge(self, out: Output, patient: Patient, now: datetime, why: str) -> None:
        for held in self.desk.of_patient(patient.id):
            self.desk.resolve(out, held, now, by=SYSTEM, reason=why)
        self._beds.pop((patient.ward, patient.bed), None)
        del self._patients[patient.id]
        self._dirty.add(patient.id)

    def _lab(self, out: Output, item: Lab, arrival: Arrival) -> None:
        lab, received = item.lab, arrival.received
        if self._beds.get((item.ward, item.bed)) != lab.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, lab.patient_id), received)
            return
        patient = self._patients[lab.patient_id]
        born = patient.context.birth_date
        if born is not None and lab.time.astimezone(self.settings.tz).date() < born:
            why = f"lab time {lab.time.isoformat()} is before the patient's birth ({born})"
            self._dead_letter(out, rejected(arrival, "time", why), received)
            return
        out.batch.labs.append(records.lab_record(item, received))
        self._touch(patient)
        if lab.test == "creatinine":
            result = Creatinine(lab.time, lab.value)
            held = self.desk.of_patient(patient.id)
            found = aki.on_creatinine(self.settings, patient, result, lab.msg_id, held)
            self._decide(out, patient, received, found)

    def _event(self, out: Output, item: EventReport, arrival: Arrival) -> None:
        """A clinical event (CONTRACT §9): the bed's patient's, or one who left that bed less
        than `event_grace` ago; stored, and nothing else (no score, no alert changes)."""
        event, received = item.event, arrival.received
        patient_id = event.patient_id
        if self._beds.get((item.ward, item.bed)) == patient_id:
            born = self._patients[patient_id].context.birth_date
        else:
            problem = self._not_left(item, received)
            if problem is not None:
                self._dead_letter(out, rejected(arrival, "placement", problem), received)
                return
            born = None  # gone: their context is no longer held
        if born is not None and event.time.astimezone(self.settings.tz).date() < born:
            why = f"event time {event.time.isoformat()} is before the patient's birth ({born})"
            self._dead_letter(out, rejected(arrival, "time", why), received)
            return
        out.batch.events.append(records.event_record(item, received))
        if self.model is not None and event.event in self.settings.model_outcomes:
            self.model.outcome(patient_id, event.time)

    def _not_left(self, item: EventReport, received: datetime) -> str | None:
        """Why an event for someone not in the bed is refused, or None if they left that bed
        within `event_grace` (of the event's time and of its arrival)."""
        event = item.event
        patient_id, where = event.patient_id, f"{item.ward}/{item.bed}"
        current = self._beds.get((item.ward, item.bed))
        holds = f"{where} holds {current}" if current else f"nobody is admitted to {where}"
        left = self._left.get(patient_id)
        grace = timedelta(seconds=self.settings.event_grace)
        if left is None or left[:2] != (item.ward, item.bed):
            return f"{holds}, but the {event.event} event is for {patient_id}"
        since = left[2]
        if event.time > since + grace or received > since + grace:
            return (
                f"{holds}; {patient_id} left it at {since.isoformat()}, more than "
                f"{span(grace.total_seconds())} (event_grace) before this {event.event} event"
            )
        return None

    def _misplaced(
        self, item: Observation | Lab | PlanUpdate, arrival: Arrival, patient_id: str
    ) -> Rejected:
        current = self._beds.get((item.ward, item.bed))
        if current is None:
            return rejected(
                arrival,
                "no-context",
                f"no patient is admitted to {item.ward}/{item.bed} (no ADT message yet, or "
                f"discharged): {patient_id}'s message cannot be scored",
            )
        return rejected(
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
        overlay: dict[str, dict[str, Value]],
    ) -> _Row | None:
        obs, received = item.obs, arrival.received
        patient_id = self._beds.get((item.ward, item.bed))
        if patient_id != obs.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, obs.patient_id), received)
            return None
        patient = self._patients[patient_id]
        born = patient.context.birth_date
        if born is not None and obs.time.astimezone(self.settings.tz).date() < born:
            why = f"observation time {obs.time.isoformat()} is before the patient's birth ({born})"
            self._dead_letter(out, rejected(arrival, "time", why), received)
            return None
        self._touch(patient)
        # A clock ahead of the service's (within max_skew) must not make its readings look
        # newer than everyone else's: a reading counts from when it arrived, at the latest.
        at = min(obs.time, received)
        manual = obs.source == "manual"
        updates = values_of(obs.vitals, at, obs.msg_id, manual=manual, taken=obs.time)
        mine = overlay.setdefault(patient_id, {})  # what earlier rows of this batch add
        held = {**patient.values, **mine}
        spared: tuple[str, ...] = ()
        if item.corrected and not manual:  # a device's correction never replaces a nurse's set
            kept = not_over_manual(held, updates, item.corrected)
            spared = tuple(sorted({m for k in updates.keys() - kept if (m := held[k].msg_id)}))
            updates = kept
        # A correction replaces the value of the same time it corrects (merge_values takes a
        # value of equal time), never a newer one; it names the readings it replaces.
        corrects = corrected_ids(held, updates, item.corrected) if item.corrected else ()
        merged = merge_values(held, updates)
        mine.update({key: merged[key] for key in updates})
        if obs.source == "manual":
            row = _Row(item, arrival, received, patient, obs, updates, device=False)
        else:
            vitals = fresh_vitals(merged, at, self.settings.freshness)
            snapshot = msgspec.structs.replace(obs, vitals=vitals)
            row = _Row(item, arrival, received, patient, snapshot, updates, device=True)
        row.corrects, row.spared = corrects, spared
        return row

    def _score_rows(self, out: Output, pending: _Pending) -> None:
        """Score the batch's waiting observations together, then apply each in order."""
        rows = pending.rows
        if not rows:
            return
        pending.rows, pending.overlay, pending.ids = [], {}, set()
        results: list[ScoreResult | InvalidObservation | None]
        try:
            results = list(
                score_batch(
                    [(row.scored, row.patient.context) for row in rows],
                    self.charts,
                    tz=self.settings.tz,
                )
            )
        except Exception:  # the batch path failed: score each row on its own
            results = [None] * len(rows)
        refused: set[int] = set()  # patients with a refused reading in this batch
        for row, result in zip(rows, results, strict=True):
            try:
                self._apply_row(out, row, result, refused)
            except Exception as error:  # one message must never stop the rest
                refused.add(id(row.patient))
                self._internal(out, row.arrival, error)

    def _apply_row(
        self,
        out: Output,
        row: _Row,
        result: ScoreResult | InvalidObservation | None,
        refused: set[int],
    ) -> None:
        patient = row.patient
        again = row.device and id(patient) in refused
        if again:
            # An earlier reading of this batch was refused but was merged into this one.
            merged = merge_values(patient.values, row.updates)
            vitals = fresh_vitals(merged, row.scored.time, self.settings.freshness)
            row.scored = msgspec.structs.replace(row.scored, vitals=vitals)
        if result is None or again:
            try:
                result = score(row.scored, patient.context, self.charts, tz=self.settings.tz)
            except InvalidObservation as exc:
                result = exc
        if isinstance(result, InvalidObservation):
            refused.add(id(patient))
            self._dead_letter(out, rejected(row.arrival, result.code, str(result)), row.received)
            return
        self._scored(out, row, result)
        self._accept(out, row.item.msg_id, row.digest, row.received)

    def _scored(self, out: Output, row: _Row, result: ScoreResult) -> None:
        patient, item, received = row.patient, row.item, row.received
        self._touch(patient)
        # Late data (older than the patient's latest reading of the same kind) is stored and
        # charted, but changes neither the board's latest score nor what is alerted. Times are
        # taken no later than arrival, so a clock running ahead cannot make others "late".
        at = min(result.time, received)
        if row.device:
            late = patient.device_obs_at is not None and at < patient.device_obs_at
        else:
            late = patient.last_manual is not None and at < patient.last_manual
        patient.values = merge_values(patient.values, row.updates)
        if not row.device:
            if not late:
                patient.last_manual = at
                self._decide(out, patient, received, overdue.on_set(self.settings, patient, result))
        else:
            result = self._due_from_last_set(patient, result)
            result = msgspec.structs.replace(result, measured=item.obs.vitals)  # what to plot
            if not late:
                patient.device_obs_at = at
            # A correction (a value someone checked, at the central station or in the record,
            # or a forged one) is no sign that the device is connected and sending now: only
            # the device's own readings close its `feed` alert and restart its silence timer.
            if not corrections.only_corrections(item):
                self._decide(
                    out, patient, received, feed.on_reading(patient, item.msg_id, received)
                )
        if not late:
            overdue.on_due(patient, result)
        out.batch.observations.append(records.observation_record(item, received))
        payload = _encode(result)
        if item.corrected:
            payload = corrections.marked(payload, row.corrects)
        stored = len(out.batch.scores)
        out.batch.scores.append(records.score_record(item, result, payload))
        held = self.desk.of_patient(patient.id)
        wrong = corrections.raised_by(held, item, row.corrects, row.spared)
        if late:
            self._decide(out, patient, received, corrections.notes(wrong, item, result))
            return
        topic = score_topic(self._prefix, item.ward, item.bed)
        published = len(out.publications)
        out.publications.append(Publication(topic, payload, True))
        held = self.desk.of_patient(patient.id)
        # A correction was checked by a person (HL7 C, FHIR corrected: verified): it counts at
        # once, as a nurse's set does, not only after `device_persistence` like an artefact.
        decided = self._score_rule.on_score(
            patient, result, held, device=row.device, now=received, corrected=bool(item.corrected)
        )
        self._decide(out, patient, received, decided)
        self._decide(out, patient, received, corrections.notes(wrong, item, result))
        held = self.desk.of_patient(patient.id)
        self._decide(out, patient, received, sepsis.on_score(self.settings, patient, result, held))
        # The learned risk comes last: the chart's payload is encoded and its alerts decided
        # before the model sees the result, so nothing it does can change them.
        if self.model is None:
            return
        estimate = self.model.estimate(result, patient.context, item.obs.source)
        if estimate is None:
            return
        learned, encoded = estimate
        payload = with_learned(payload, encoded)
        out.publications[published] = Publication(topic, payload, True)
        out.batch.scores[stored] = records.score_record(item, result, payload)
        if self.settings.model_alerts:
            held = self.desk.of_patient(patient.id)
            found = model.on_estimate(self.settings, patient, learned, result, held)
            self._decide(out, patient, received, found)

    def _due_from_last_set(self, patient: Patient, result: ScoreResult) -> ScoreResult:
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

    # -- dead letters -----------------------------------------------------------------------

    def _dead_letter(self, out: Output, item: Rejected, received: datetime) -> None:
        out.dead_letters += 1
        if not self.flood.allow(item.topic, f"{item.error}: {item.reason}", received):
            return  # counted; summarised by `tick` as a `flood` dead letter
        self._keep_dead_letter(out, item, received)

    def _keep_dead_letter(self, out: Output, item: Rejected, received: datetime) -> None:
        letter = item.dead_letter(received)
        out.publications.append(Publication(self.deadletter_topic, _encode(letter)))
        key = digest(item.topic, item.payload)
        out.batch.dead_letters.append(records.dead_letter_record(key, letter, received))
