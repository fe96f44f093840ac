"""The online scorer: patients' state, scores and alerts from a stream of ingested messages.

Pure: no I/O and no clock. The service hands it what ingest parsed, with the time it arrived,
and gets back what to publish and what to store (`Output`); `tick(now)` finds feeds that
fell silent and observations overdue, and escalates what nobody has acknowledged. Every input ends somewhere visible: a score, an ADT change, a lab, or a dead
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
motion artefact does not page anyone. The level alerted falls only when complete scores have
stayed below it for `hysteresis` seconds (then an acknowledged score alert is stood down);
after an acknowledgement, a new alert at or below its level waits `quiet_after_ack` seconds.
Other kinds: `feed` (a device silent for `feed_timeout` seconds), `overdue` (the next full set
late; escalated when missed), `sepsis` (a new think-sepsis prompt), `aki` (an adult's
creatinine reaching an AKI warning stage). Every alert then lives on the `AlertDesk`
(`surveillance._alerts`): it climbs its escalation ladder until someone acknowledges it, and a
patient's escalation plan shapes that ladder. A discharge resolves the patient's open alerts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from ingest import (
    Admission,
    AlertAction,
    EscalationPlan,
    Inbound,
    Lab,
    Observation,
    PlanUpdate,
    Rejected,
)
from scoring import (
    LONDON,
    ChartSet,
    Context,
    Creatinine,
    InvalidObservation,
    ObservationSet,
    ScoreResult,
    ScoringError,
    Vitals,
    aki_stage,
    completed_years,
    obs_timing,
    score,
    score_batch,
)
from surveillance._alerts import SYSTEM, AlertDesk, OpenAlert, Output, Publication
from surveillance._flood import FloodGate
from surveillance._lifecycle import DEFAULT_LADDERS, Ladder, LifecycleError, Plan
from surveillance.store import (
    AcceptedRecord,
    AdtRecord,
    DeadLetterRecord,
    LabRecord,
    ObservationRecord,
    PlanRecord,
    ScoreRecord,
    StateRecord,
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
    # The nurse's answer to "is infection suspected?" holds until the next routine round.
    "suspected_infection": 12 * 3600.0,
}
"""Seconds a value stays in a continuous patient's snapshot (per vital, or per group)."""

AKI_LOOKBACK: Final = timedelta(days=366)
"""How far back creatinine results are kept per patient (an AKI baseline looks back a year)."""

DEFAULT_ALERT_RESPONSES: Final = frozenset({"urgent-ward", "urgent", "rapid-review", "emergency"})
"""Chart responses that call someone beyond the bedside nurse: these raise alerts."""


@dataclass(frozen=True, slots=True)
class OnlineSettings:
    """How the online scorer behaves; README, "Configuration" lists the defaults' reasons."""

    freshness: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FRESHNESS))
    device_persistence: float = 60.0
    feed_timeout: float = 300.0
    dedupe_window: float = 900.0
    dedupe_max: int = 1_000_000
    max_skew: float = 300.0
    max_age: float = 7 * 24 * 3600.0
    flood_per_minute: float = 60.0
    alert_responses: frozenset[str] = DEFAULT_ALERT_RESPONSES
    ladders: Mapping[str, Ladder] = field(default_factory=lambda: dict(DEFAULT_LADDERS))
    hysteresis: float = 3600.0
    quiet_after_ack: float = 1800.0
    overdue_alerts: bool = True
    prefix: str = ""
    tz: ZoneInfo = LONDON

    def __post_init__(self) -> None:
        unknown = set(self.freshness) - set(DEFAULT_FRESHNESS)
        if unknown:
            msg = f"freshness: unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_FRESHNESS)})"
            raise ValueError(msg)
        for name in (
            "device_persistence",
            "feed_timeout",
            "dedupe_window",
            "hysteresis",
            "quiet_after_ack",
            "max_skew",
            "max_age",
        ):
            if getattr(self, name) < 0:
                msg = f"{name} must be ≥ 0 seconds"
                raise ValueError(msg)


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
class _Patient:
    context: Context
    ward: str
    bed: str
    since: datetime
    values: dict[str, _Value] = field(default_factory=dict)
    alerted_rank: int = -1
    alerted_red: frozenset[str] = frozenset()
    pending: tuple[int, frozenset[str], datetime] | None = None
    last_manual: datetime | None = None  # the latest nurse's set: next obs due counts from it
    due: datetime | None = None  # the next full set, from the latest score
    interval: timedelta | None = None  # the latest score's monitoring interval
    overdue_alert: str | None = None
    below_since: datetime | None = None  # complete scores below the level alerted, since
    quiet_until: datetime | None = None  # after an acknowledgement: no repeat at its level
    quiet_rank: int = -1
    prompts: frozenset[str] = frozenset()  # prompts of the latest score (alerted when new)
    creatinine: list[Creatinine] = field(default_factory=list)
    plan: EscalationPlan | None = None  # the documented escalation plan, if any
    device_at: datetime | None = None
    device_msg_id: str | None = None
    feed_alert: str | None = None
    device_obs_at: datetime | None = None  # the latest device reading's own time
    adt_at: datetime | None = None  # the time of the latest ADT applied to the patient


@dataclass(slots=True)
class _Pending:
    """This batch's observations waiting to be scored together, and what they add."""

    rows: list[_Row] = field(default_factory=list)
    overlay: dict[str, dict[str, _Value]] = field(default_factory=dict)  # device values
    ids: set[str] = field(default_factory=set)


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
    digest: str = ""


_encode = msgspec.json.Encoder().encode


class OnlineScorer:
    """Per-patient state and the rules above; one instance per service."""

    def __init__(self, charts: ChartSet, settings: OnlineSettings | None = None) -> None:
        self.charts = charts
        self.settings = settings or OnlineSettings()
        self._beds: dict[tuple[str, str], str] = {}
        self._patients: dict[str, _Patient] = {}
        self._bed_time: dict[tuple[str, str], datetime] = {}
        self._seen: dict[str, tuple[str, datetime]] = {}  # msg_id → (content digest, received)
        self._dirty: set[str] = set()  # patients whose state changed since it was last kept
        self._dirty_beds: set[tuple[str, str]] = set()
        self._gone: dict[str, datetime] = {}  # discharged patients: their discharge's time
        self._dirty_gone: set[str] = set()
        self.flood = FloodGate(
            per_minute=self.settings.flood_per_minute, burst=2 * self.settings.flood_per_minute
        )
        self.desk = AlertDesk(self.settings.ladders, self.settings.prefix)
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

    def restore(self, state: StoredState, now: datetime | None = None) -> None:
        """Resume from the store: the scorer's state as the last committed batch left it,
        and the msg_ids accepted recently (remembered from `now`, the service's clock)."""
        if state.scorer_state:
            self._restore_state(state.scorer_state)
        else:
            self._restore_from_records(state)
        if not state.scorer_state:  # a store from before digests were kept
            if now is None:  # no clock here: the latest placement is the latest time known
                now = max(
                    (r.time for r in state.placements), default=datetime.min.replace(tzinfo=UTC)
                )
            for msg_id in state.recent_msg_ids - state.accepted.keys():
                self._seen[msg_id] = ("", now)  # any content repeats
        for msg_id, (key, received) in state.accepted.items():
            self._seen[msg_id] = (key, received)

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
        out = Output()
        self._keep_state(out, datetime.min.replace(tzinfo=self.settings.tz))
        return {r.key: r.state for r in out.batch.states if r.state is not None}

    def _touch(self, patient: _Patient) -> None:
        assert patient.context.patient_id is not None  # noqa: S101 - placed patients have ids
        self._dirty.add(patient.context.patient_id)

    def _keep_state(self, out: Output, now: datetime) -> None:
        """Add the state of every patient and bed changed since the last call to the batch,
        so it is committed with the records that changed it (a restart then resumes exactly
        where the last committed batch left off)."""
        self._dirty.update(record.patient_id for record in out.batch.alerts)
        if not self._dirty and not self._dirty_beds and not self._dirty_gone:
            return
        alerts: dict[str, list[OpenAlert]] = {}
        for alert in self.desk.alerts.values():
            if alert.patient_id in self._dirty:
                alerts.setdefault(alert.patient_id, []).append(alert)
        for patient_id in sorted(self._dirty):
            patient = self._patients.get(patient_id)
            state = None
            if patient is not None:
                state = {
                    "patient": msgspec.to_builtins(patient, order="deterministic"),
                    "alerts": msgspec.to_builtins(
                        alerts.get(patient_id, []), order="deterministic"
                    ),
                }
            out.batch.states.append(StateRecord(f"patient:{patient_id}", state, now))
        for ward, bed in sorted(self._dirty_beds):
            held = self._bed_time.get((ward, bed))
            bed_state = None if held is None else {"time": msgspec.to_builtins(held)}
            out.batch.states.append(StateRecord(f"bed:{ward}/{bed}", bed_state, now))
        for patient_id in sorted(self._dirty_gone):
            gone = self._gone.get(patient_id)
            gone_state = None if gone is None else {"time": msgspec.to_builtins(gone)}
            out.batch.states.append(StateRecord(f"gone:{patient_id}", gone_state, now))
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
            elif kind == "patient":
                patient = msgspec.convert(row["patient"], _Patient)
                self._patients[name] = patient
                self._beds[(patient.ward, patient.bed)] = name
                for alert in msgspec.convert(row["alerts"], list[OpenAlert]):
                    self.desk.alerts[alert.alert_id] = alert

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
            patient.alerted_rank = rank if self._alerts(result["response"]) else -1
            patient.alerted_red = frozenset(result.get("single_parameter_triggers", ()))
            vitals = msgspec.convert(result.get("vitals", {}), Vitals)
            patient.values = _values_of(vitals, score_record.time)
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
            self._dead_letter(out, _rejected(arrival, "conflict", why), received)
            return
        if isinstance(item, Observation):
            item = _nearest_fold(item, received)
        problem = self._time_problem(item, received)
        if problem is not None:
            self._dead_letter(out, _rejected(arrival, "time", problem), received)
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

    def _time_problem(self, item: Inbound, received: datetime) -> str | None:
        """Why a message's own time cannot be used, if it cannot: more than `max_skew` ahead
        of the service's clock, or more than `max_age` behind it."""
        when = _time_of(item)
        ahead = (when - received).total_seconds()
        if ahead > self.settings.max_skew:
            return (
                f"time {when.isoformat()} is {_span(ahead)} ahead of the service's clock "
                f"({received.isoformat()}); more than {_span(self.settings.max_skew)} ahead "
                "is refused (a wrong device clock would stay fresh and poison later scores)"
            )
        if -ahead > self.settings.max_age:
            return (
                f"time {when.isoformat()} is {_span(-ahead)} before the service's clock "
                f"({received.isoformat()}); more than {_span(self.settings.max_age)} old is "
                "refused (max_age)"
            )
        return None

    def set_aside(self, arrival: Arrival, deaths: int) -> Output:
        """Quarantine a message the service died handling `deaths` times: a dead letter
        (`internal`), never handled."""
        out = Output()
        why = (
            f"quarantined: the service stopped {deaths} times while handling this message "
            "(a hang, memory or a crash); it was set aside so that scoring goes on; please "
            "report it"
        )
        self._dead_letter(out, _rejected(arrival, "internal", why), arrival.received)
        return out

    def _internal(self, out: Output, arrival: Arrival, error: Exception) -> None:
        """A message whose handling failed: set aside as a dead letter with the error."""
        why = (
            f"the service could not handle this message ({type(error).__name__}: {error}); "
            "it was set aside so that scoring goes on; please report it"
        )
        self._dead_letter(out, _rejected(arrival, "internal", why[:2000]), arrival.received)

    def tick(self, now: datetime) -> Output:
        """What the clock does: silent devices and late observations raise alerts, unanswered
        alerts escalate; msg_ids older than the window are forgotten."""
        out = Output()
        timeout = timedelta(seconds=self.settings.feed_timeout)
        for patient in self._patients.values():
            if (
                patient.device_at is not None
                and patient.feed_alert is None
                and now - patient.device_at >= timeout
            ):
                minutes = (now - patient.device_at).total_seconds() / 60
                patient.feed_alert = self._raise(
                    out,
                    patient,
                    now,
                    alert_id=f"feed-{patient.device_msg_id}",
                    kind="feed",
                    severity="warning",
                    message=f"Continuous monitoring silent for {minutes:.0f} min: check the device",
                    obs_msg_id=patient.device_msg_id,
                ).alert_id
            if self.settings.overdue_alerts:
                self._overdue(out, patient, now)
        self.desk.tick(out, now)
        self._forget(now)
        horizon = now - timedelta(seconds=self.settings.max_age)
        for patient_id in [p for p, t in self._gone.items() if t < horizon]:
            del self._gone[patient_id]  # an ADT older than that is refused by its time anyway
            self._dirty_gone.add(patient_id)
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

    def _overdue(self, out: Output, patient: _Patient, now: datetime) -> None:
        """An `overdue` alert once the next full set is late; escalated once it is missed."""
        if patient.due is None or patient.interval is None:
            return
        timing = obs_timing(patient.due - patient.interval, patient.due, now)
        if patient.overdue_alert is None and timing.status in ("late", "missed"):
            patient_id = patient.context.patient_id
            over = _duration(now - patient.due)
            raised = self._raise(
                out,
                patient,
                now,
                # Unique per raise: one stood down and forgotten by a restart may come again.
                alert_id=f"overdue-{patient_id}-{patient.due:%Y%m%dT%H%M%S}-{now:%H%M%S}",
                kind="overdue",
                severity="warning",
                message=(
                    f"Observations {timing.status}: the full set due at "
                    f"{patient.due.astimezone(self.settings.tz):%H:%M} is {over} over"
                ),
            )
            patient.overdue_alert = raised.alert_id
        held = self.desk.alerts.get(patient.overdue_alert) if patient.overdue_alert else None
        if held is not None and timing.status == "missed" and held.life.rung == 0:
            self.desk.escalate(out, held, now)

    def _raise(
        self, out: Output, patient: _Patient, now: datetime, chart: str | None = None, **alert: Any
    ) -> OpenAlert:
        assert patient.context.patient_id is not None  # noqa: S101 - placed patients have ids
        return self.desk.raise_alert(
            out,
            now,
            patient_id=patient.context.patient_id,
            ward=patient.ward,
            bed=patient.bed,
            plan=self._plan_of(patient, chart),
            **alert,
        )

    def _plan_of(self, patient: _Patient, chart: str | None) -> Plan | None:
        """The patient's plan as the lifecycle applies it (its threshold as a rank of `chart`)."""
        doc = patient.plan
        if doc is None:
            return None
        rank = None
        if doc.alert_from is not None and chart is not None:
            rank = self._ranks.get(chart, {}).get(doc.alert_from)
        return Plan(ceiling=doc.ceiling, threshold_rank=rank, by=doc.by, reason=doc.reason)

    def _plan(self, out: Output, item: PlanUpdate, arrival: Arrival) -> None:
        """A patient's escalation plan: kept (the audit), then in force for new alerts."""
        doc, received = item.plan, arrival.received
        if self._beds.get((item.ward, item.bed)) != doc.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, doc.patient_id), received)
            return
        patient = self._patients[doc.patient_id]
        problem = self._plan_problem(patient, doc)
        if problem is not None:
            error, why = problem
            self._dead_letter(out, _rejected(arrival, error, why), received)
            return
        out.batch.plans.append(
            PlanRecord(
                msg_id=doc.msg_id,
                time=doc.time,
                received_at=received,
                ward=item.ward,
                bed=item.bed,
                patient_id=doc.patient_id,
                by=doc.by,
                reason=doc.reason,
                plan=msgspec.to_builtins(doc),
            )
        )
        if patient.plan is not None and doc.time < patient.plan.time:
            return  # an older plan: kept, not applied
        self._touch(patient)
        cleared = doc.ceiling is None and doc.alert_from is None
        patient.plan = None if cleared else doc

    def _plan_problem(self, patient: _Patient, doc: EscalationPlan) -> tuple[str, str] | None:
        roles = sorted(
            {r.notify for ladder in self.settings.ladders.values() for r in ladder.rungs}
        )
        if doc.ceiling is not None and doc.ceiling not in roles:
            return "invalid", f"plan ceiling {doc.ceiling!r} is no role of the ladders: {roles}"
        if doc.alert_from is not None:
            try:
                chart = self.charts.resolve(patient.context, doc.time, self.settings.tz)
            except ScoringError as error:
                return "no-chart", f"no chart for the plan's threshold: {error}"
            levels = [level.id for level in chart.escalation.levels]
            if doc.alert_from not in levels:
                why = f"plan alert_from {doc.alert_from!r} is no level of {chart.id}: {levels}"
                return "not-on-chart", why
        return None

    def _close(self, out: Output, alert_id: str | None, now: datetime, reason: str) -> None:
        """The system resolves an alert whose cause is gone (with the reason, in the audit)."""
        held = self.desk.alerts.get(alert_id) if alert_id is not None else None
        if held is not None:
            self.desk.resolve(out, held, now, by=SYSTEM, reason=reason)

    # -- ADT and labs -----------------------------------------------------------------------

    def _admission(self, out: Output, item: Admission, arrival: Arrival) -> None:
        context, received = item.context, arrival.received
        assert context.time is not None and context.patient_id is not None  # noqa: S101, PT018
        where, patient_id = (item.ward, item.bed), context.patient_id
        record = AdtRecord(
            msg_id=item.msg_id,
            time=context.time,
            received_at=received,
            ward=item.ward,
            bed=item.bed,
            patient_id=patient_id,
            event=context.event or "",
            context=msgspec.to_builtins(context),
        )
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
                    _rejected(
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
            self._bed_time[where] = context.time
            self._gone[patient_id] = context.time
            self._dirty_beds.add(where)
            self._dirty_gone.add(patient_id)
            return
        out.batch.adt.append(record)
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
            left = (patient.ward, patient.bed)
            if self._beds.get(left) == patient_id:  # a transfer: the old bed empties
                del self._beds[left]
                self._bed_time[left] = max(when, self._bed_time.get(left, when))
                self._dirty_beds.add(left)
            patient.context, patient.ward, patient.bed = context, ward, bed
            self.desk.moved(patient_id, ward, bed)
        patient.adt_at = when
        if self._gone.pop(patient_id, None) is not None:  # back after a discharge
            self._dirty_gone.add(patient_id)
        self._beds[(ward, bed)] = patient_id
        self._bed_time[(ward, bed)] = when
        self._dirty.add(patient_id)
        self._dirty_beds.add((ward, bed))

    def _discharge(self, out: Output, patient: _Patient, now: datetime, why: str) -> None:
        assert patient.context.patient_id is not None  # noqa: S101
        for held in self.desk.of_patient(patient.context.patient_id):
            self.desk.resolve(out, held, now, by=SYSTEM, reason=why)
        self._beds.pop((patient.ward, patient.bed), None)
        del self._patients[patient.context.patient_id]
        self._dirty.add(patient.context.patient_id)

    def _lab(self, out: Output, item: Lab, arrival: Arrival) -> None:
        lab, received = item.lab, arrival.received
        if self._beds.get((item.ward, item.bed)) != lab.patient_id:
            self._dead_letter(out, self._misplaced(item, arrival, lab.patient_id), received)
            return
        patient = self._patients[lab.patient_id]
        born = patient.context.birth_date
        if born is not None and lab.time.astimezone(self.settings.tz).date() < born:
            why = f"lab time {lab.time.isoformat()} is before the patient's birth ({born})"
            self._dead_letter(out, _rejected(arrival, "time", why), received)
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
        self._touch(patient)
        if lab.test == "creatinine" and self._adult(patient, lab.time):
            self._aki(out, patient, Creatinine(lab.time, lab.value), lab.msg_id, received)

    def _adult(self, patient: _Patient, at: datetime) -> bool:
        """AKI warning stages are for adults (SPEC §0.6, §4.3): not children, nor anyone
        whose age says under 18."""
        context = patient.context
        if context.cohort == "child":
            return False
        if context.birth_date is None:
            return True
        return completed_years(context.birth_date, at.astimezone(self.settings.tz).date()) >= 18

    def _aki(
        self, out: Output, patient: _Patient, result: Creatinine, msg_id: str, now: datetime
    ) -> None:
        """The AKI warning stage of a new creatinine against the patient's earlier results;
        a stage raises an `aki` alert (severity `aki-1`..`aki-3`)."""
        stage = aki_stage(result, patient.creatinine)
        patient.creatinine = _keep_year([*patient.creatinine, result], result.time)
        if stage.stage is None:
            return
        self._raise(
            out,
            patient,
            now,
            alert_id=f"aki-{msg_id}",
            kind="aki",
            severity=f"aki-{stage.stage}",
            message=f"AKI warning stage {stage.stage}: creatinine {result.value:g} µmol/L, "
            f"{stage.reason}",
            obs_msg_id=msg_id,
        )

    def _misplaced(
        self, item: Observation | Lab | PlanUpdate, arrival: Arrival, patient_id: str
    ) -> Rejected:
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
        born = patient.context.birth_date
        if born is not None and obs.time.astimezone(self.settings.tz).date() < born:
            why = f"observation time {obs.time.isoformat()} is before the patient's birth ({born})"
            self._dead_letter(out, _rejected(arrival, "time", why), received)
            return None
        self._touch(patient)
        # A clock ahead of the service's (within max_skew) must not make its readings look
        # newer than everyone else's: a reading counts from when it arrived, at the latest.
        at = min(obs.time, received)
        updates = _values_of(obs.vitals, at)
        mine = overlay.setdefault(patient_id, {})  # what earlier rows of this batch add
        merged = _merge({**patient.values, **mine}, updates)
        mine.update({key: merged[key] for key in updates})
        if obs.source == "manual":
            return _Row(item, arrival, received, patient, obs, updates, device=False)
        snapshot = msgspec.structs.replace(obs, vitals=self._snapshot(merged, at))
        return _Row(item, arrival, received, patient, snapshot, updates, device=True)

    def _snapshot(self, values: Mapping[str, _Value], at: datetime) -> Vitals:
        fresh: dict[str, Any] = {}
        freshness = self.settings.freshness
        for key, value in values.items():
            if (at - value.time).total_seconds() <= freshness.get(key, 0.0):
                fresh.update(value.values)
        return Vitals(**fresh)

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
            row.scored = msgspec.structs.replace(
                row.scored,
                vitals=self._snapshot(_merge(patient.values, row.updates), row.scored.time),
            )
        if result is None or again:
            try:
                result = score(row.scored, patient.context, self.charts, tz=self.settings.tz)
            except InvalidObservation as exc:
                result = exc
        if isinstance(result, InvalidObservation):
            refused.add(id(patient))
            self._dead_letter(out, _rejected(row.arrival, result.code, str(result)), row.received)
            return
        self._scored(out, row, result)
        self._accept(out, row.item.msg_id, row.digest, row.received)

    def _scored(self, out: Output, row: _Row, result: ScoreResult) -> None:
        patient, item = row.patient, row.item
        self._touch(patient)
        # Late data (older than the patient's latest reading of the same kind) is stored and
        # charted, but changes neither the board's latest score nor what is alerted. Times are
        # taken no later than arrival, so a clock running ahead cannot make others "late".
        at = min(result.time, row.received)
        if row.device:
            late = patient.device_obs_at is not None and at < patient.device_obs_at
        else:
            late = patient.last_manual is not None and at < patient.last_manual
        patient.values = _merge(patient.values, row.updates)
        if not row.device:
            if not late:
                patient.last_manual = at
                if patient.overdue_alert is not None:
                    when = result.time.astimezone(self.settings.tz)
                    reason = f"observations taken at {when:%H:%M}"
                    self._close(out, patient.overdue_alert, row.received, reason)
                    patient.overdue_alert = None
        else:
            result = self._due_from_last_set(patient, result)
            patient.device_at, patient.device_msg_id = row.received, item.msg_id
            if not late:
                patient.device_obs_at = at
            if patient.feed_alert is not None:
                reason = "continuous monitoring is sending again"
                self._close(out, patient.feed_alert, row.received, reason)
                patient.feed_alert = None
        if not late and result.obs_interval_minutes is not None and result.next_obs_due is not None:
            patient.due = result.next_obs_due
            patient.interval = timedelta(minutes=result.obs_interval_minutes)
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
                result=payload,
            )
        )
        if late:
            return
        out.publications.append(
            Publication(f"{self._prefix}wards/{item.ward}/beds/{item.bed}/score", payload, True)
        )
        self._maybe_alert(out, row, result)
        self._prompted(out, row, result)

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
            self._recovering(out, row, result, rank, red, alerting=alerting)
            return
        patient.below_since = None
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
        if self._quiet(out, patient, row.received, rank, result):
            return
        complete = "" if result.complete else f"; incomplete, missing {', '.join(result.missing)}"
        source = "" if not row.device else " (continuous monitoring)"
        triggers = f"; {', '.join(sorted(red))} at 3" if red else ""
        self._raise(
            out,
            patient,
            row.received,
            alert_id=f"score-{result.obs_msg_id}",
            kind="score",
            severity=result.response,
            message=(
                f"{result.system} {result.total} ({result.risk}): {result.response} response"
                f"{source}{triggers}{complete}"
            ),
            obs_msg_id=result.obs_msg_id,
            system=result.system,
            total=result.total,
            risk=result.risk,
            rank=rank,
            chart=result.chart,
        )

    def _recovering(
        self,
        out: Output,
        row: _Row,
        result: ScoreResult,
        rank: int,
        red: frozenset[str],
        *,
        alerting: bool,
    ) -> None:
        """Hysteresis on the way down: the level alerted falls only once complete scores have
        stayed below it for `hysteresis` seconds; then acknowledged score alerts are stood
        down (the cause is gone), and unacknowledged ones say so but stay open."""
        patient = row.patient
        if not (result.complete and rank < patient.alerted_rank):
            if rank >= patient.alerted_rank:
                patient.below_since = None
            return
        if patient.below_since is None:
            patient.below_since = result.time
        if (result.time - patient.below_since).total_seconds() < self.settings.hysteresis:
            return
        since = patient.below_since.astimezone(self.settings.tz)
        patient.alerted_rank = rank if alerting else -1
        patient.alerted_red = red
        patient.below_since = None
        assert patient.context.patient_id is not None  # noqa: S101
        why = (
            f"{result.system} {result.total} ({result.risk}), below the level alerted since "
            f"{since:%H:%M}"
        )
        for held in self.desk.of_patient(patient.context.patient_id):
            if held.kind != "score":
                continue
            if held.life.state == "acknowledged":
                self.desk.resolve(out, held, row.received, by=SYSTEM, reason=f"recovered: {why}")
            else:
                self.desk.note(out, held, row.received, f"{why}; still not acknowledged")

    def _quiet(
        self, out: Output, patient: _Patient, now: datetime, rank: int, result: ScoreResult
    ) -> bool:
        """After an acknowledgement, a new alert at or below its level is held back for
        `quiet_after_ack` seconds (a rise above it alerts at once); the hold is noted on the
        acknowledged alert, so the audit shows it."""
        if patient.quiet_until is None or now >= patient.quiet_until or rank > patient.quiet_rank:
            return False
        assert patient.context.patient_id is not None  # noqa: S101
        acked = [
            a
            for a in self.desk.of_patient(patient.context.patient_id)
            if a.kind == "score" and a.life.state == "acknowledged"
        ]
        if not acked:  # the acknowledged alert has closed (recovered): a new episode alerts
            return False
        until = patient.quiet_until.astimezone(self.settings.tz)
        note = (
            f"{result.system} {result.total} ({result.risk}) at "
            f"{result.time.astimezone(self.settings.tz):%H:%M}: no new alert, quiet after "
            f"acknowledgement until {until:%H:%M}"
        )
        self.desk.note(out, acked[-1], now, note)
        return True

    def _prompted(self, out: Output, row: _Row, result: ScoreResult) -> None:
        """A new "think sepsis" prompt raises a `sepsis` alert (not again while it holds, nor
        while one is open)."""
        patient = row.patient
        before, patient.prompts = patient.prompts, frozenset(result.prompts)
        if "think-sepsis" not in result.prompts or "think-sepsis" in before:
            return
        assert patient.context.patient_id is not None  # noqa: S101
        if any(a.kind == "sepsis" for a in self.desk.of_patient(patient.context.patient_id)):
            return
        severity = result.response if self._alerts(result.response) else "urgent"
        self._raise(
            out,
            patient,
            row.received,
            alert_id=f"sepsis-{result.obs_msg_id}",
            kind="sepsis",
            severity=severity,
            message=(
                f"Think sepsis: {result.system} {result.total} ({result.risk}) with known or "
                "suspected infection or its signs. Escalate; follow the sepsis pathway."
            ),
            obs_msg_id=result.obs_msg_id,
            system=result.system,
            total=result.total,
            risk=result.risk,
        )

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
            self._dead_letter(out, _rejected(arrival, "unknown-alert", why), received)
            return
        who = {"via": command.via, "action": command.msg_id}
        try:
            if item.action == "ack":
                self.desk.acknowledge(out, held, received, by=command.by.strip(), **who)
                if held.kind == "score" and self.settings.quiet_after_ack > 0:
                    quiet = timedelta(seconds=self.settings.quiet_after_ack)
                    patient.quiet_until = received + quiet
                    patient.quiet_rank = (
                        held.rank if held.rank is not None else patient.alerted_rank
                    )
            else:
                reason = (command.reason or "").strip()
                # A stood-down feed or overdue alert stays the patient's until its cause is
                # gone (the device sends, a set is taken): not raised again meanwhile.
                self.desk.resolve(out, held, received, by=command.by.strip(), reason=reason, **who)
        except LifecycleError as error:
            why = f"alert {item.alert_id!r} is {error}"
            self._dead_letter(out, _rejected(arrival, error.code, why), received)

    # -- dead letters -----------------------------------------------------------------------

    def _dead_letter(self, out: Output, item: Rejected, received: datetime) -> None:
        out.dead_letters += 1
        if not self.flood.allow(item.topic, f"{item.error}: {item.reason}", received):
            return  # counted; summarised by `tick` as a `flood` dead letter
        self._keep_dead_letter(out, item, received)

    def _keep_dead_letter(self, out: Output, item: Rejected, received: datetime) -> None:
        letter = item.dead_letter(received)
        payload = _encode(letter)
        out.publications.append(Publication(self.deadletter_topic, payload))
        out.batch.dead_letters.append(
            DeadLetterRecord(
                digest=digest(item.topic, item.payload),
                time=received,
                topic=letter.topic,
                error=letter.error,
                reason=letter.reason,
                payload=letter.payload,
                encoding=letter.encoding,
                msg_id=letter.msg_id,
                size=letter.size or 0,
                sha256=letter.sha256 or "",
                truncated=letter.truncated,
            )
        )


_canonical = msgspec.json.Encoder(order="deterministic").encode


def content_digest(item: Inbound) -> str:
    """What a message says, whatever its framing or serialisation (an HL7 message with or
    without MLLP framing, a FHIR Bundle re-serialised): the same content, the same digest."""
    return hashlib.sha256(_canonical(item)).hexdigest()


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


def _duration(span: timedelta) -> str:
    """`25 min`, `3 h 05 min`: how a nurse says how late something is."""
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _keep_year(results: list[Creatinine], now: datetime) -> list[Creatinine]:
    """A patient's creatinine results of the last year (all an AKI baseline can use)."""
    cutoff = now - AKI_LOOKBACK
    return sorted((r for r in results if r.time >= cutoff), key=lambda r: r.time)


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


def _time_of(item: Inbound) -> datetime:
    """The time a message says it is about."""
    if isinstance(item, Admission):
        assert item.context.time is not None  # noqa: S101 - the ADT parser requires it
        return item.context.time
    if isinstance(item, Observation):
        return item.obs.time
    if isinstance(item, Lab):
        return item.lab.time
    if isinstance(item, PlanUpdate):
        return item.plan.time
    return item.command.time


def _span(seconds: float) -> str:
    """`4 min`, `2 h 05 min`, `3 days`: a span of time as a person says it."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return _duration(timedelta(seconds=seconds))
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _nearest_fold(item: Observation, received: datetime) -> Observation:
    """A local time without an offset that the clocks going back made ambiguous (01:30 on
    the last Sunday of October happens twice in London) is read as the one nearer to when
    the message arrived, not always the first (which would make an hour of a monitor's
    readings look an hour old)."""
    when = item.obs.time
    if not isinstance(when.tzinfo, ZoneInfo):
        return item
    other = when.replace(fold=1 - when.fold)
    if other.utcoffset() == when.utcoffset():
        return item
    first, second = when.astimezone(UTC), other.astimezone(UTC)
    nearer = min(first, second, key=lambda t: abs((t - received).total_seconds()))
    # In UTC from here on: a time in the fold compares unequal to every other zone's (PEP 495).
    return dataclasses.replace(item, obs=msgspec.structs.replace(item.obs, time=nearer))
