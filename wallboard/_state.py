"""What the wallboard shows, built from the broker's messages: pure, no I/O, no clock.

`WardBoard.apply` takes one MQTT message (topic and payload) and returns the changes it makes,
one per bed whose view changed, numbered per ward (`seq`), plus one per alert event for the
outreach stream (numbered across wards). Snapshots and changes are plain JSON-able values, so
the server only encodes them.

What a ward board may show is decided here, once (issue 14, "privacy by construction"): the
patient's initials, cohort, age band, SpO2 scale and chart; never the patient id nor the birth
date (not even its year), in any bed, score, plan or alert view of a snapshot or a change, nor
on the outreach stream; never the equity fields of CONTRACT §2 (`sex`, `ethnicity`,
`imd_decile`) nor `gestation_weeks` / `postnatal_days`. Those are never even decoded: the
payload structs below name only the fields used, and unknown fields are ignored, so a field
added to a payload later is not shown until someone decides it may be. The patient id and birth
date are decoded (to follow a patient between beds), kept in the board, and given only by
`occupant` (the patient view's history API, behind login and audited). Where a page needs to
tell one occupant of a bed from the next, the view carries `placement`: an opaque token, a keyed
hash (HMAC-SHA-256 under the board's own random key) of ward, bed and patient id, which cannot
be turned back into the id nor linked across beds, wards or servers.

A score's learned estimate (`learned_risk`, issue 15) is shown with it, marked as an estimate:
only its probability, horizon, reasons, model name and whether it is in shadow are decoded
(`_Learned`); one that cannot be read is left out and counted (`rejected["learned-risk"]`),
never taking the chart's score down with it; a reason naming the patient's id is dropped.

Messages arrive out of order (retained messages of every bed on each reconnection, QoS 1
repeats), so every rule below is idempotent and decided by the messages' own `time`:
- ADT: an event older than the last one applied to that bed, or than the last one seen for that
  patient, is ignored. Discharge empties the bed; admit or transfer of a patient into a bed takes
  them out of the bed they were in (in any ward).
- Scores are kept per patient: one older than the patient's latest is ignored, and a score is
  shown only on the bed of its patient (a score for someone else is held for that bed until
  its patient is admitted there, so a score that arrives before its ADT is not lost).
- Alerts: the latest event per `alert_id`; `resolved` closes it, and a later-delivered older
  event of a closed alert does not reopen it.

An open alert is shown on the bed of its patient; an alert whose patient is not in a bed of the
ward (discharged, or not yet admitted) stays on the bed it was raised for, so an open alert is
never hidden. Views are rebuilt for every bed of the affected wards and compared with what was
last sent, so a message that changes nothing (a retained message delivered again) emits
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeAlias

import msgspec

from scoring import Initials, obs_timing

JSON: TypeAlias = dict[str, Any]
AwareDatetime: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]
NonEmpty: TypeAlias = Annotated[str, msgspec.Meta(min_length=1)]

MEMORY = 100_000
"""How many discharged patients and resolved alerts are remembered (to refuse late repeats)."""

_TOPIC = re.compile(r"wards/([^/]+)/(?:beds/([^/]+)/(adt|score|plan)|(alerts))")


class _Adt(msgspec.Struct, kw_only=True, frozen=True):
    """The shown part of an ADT message (CONTRACT §2); the other fields are not decoded."""

    event: Literal["admit", "transfer", "discharge"]
    patient_id: NonEmpty
    time: AwareDatetime | None = None
    cohort: Literal["adult", "child", "maternity"] | None = None
    birth_date: date | None = None
    age_band: Literal["0-11m", "1-4y", "5-12y", "13+y"] | None = None
    spo2_scale: Literal[1, 2] = 1
    chart: str | None = None
    initials: Initials | None = None


class _Learned(msgspec.Struct, kw_only=True, frozen=True):
    """The learned risk's estimate with a score (issue 15): all the boards show of it."""

    probability: Annotated[float, msgspec.Meta(ge=0, le=1)]
    horizon_hours: Annotated[float, msgspec.Meta(gt=0)]
    reasons: list[Annotated[str, msgspec.Meta(max_length=200)]] = msgspec.field(
        default_factory=list
    )
    model: Annotated[str, msgspec.Meta(max_length=200)] = ""
    shadow: bool = True


_NULL = msgspec.Raw(b"null")


class _Score(msgspec.Struct, kw_only=True, frozen=True):
    """A score result (CONTRACT §4 and the README's extensions), read leniently.

    The contract's core is required; the extensions default, so a contract-only scorer is
    shown too; unknown fields are ignored. Vitals are a plain mapping, so a vital sign added
    later does not make the whole result unreadable.
    """

    patient_id: NonEmpty
    time: AwareDatetime
    system: str
    chart: str
    total: int
    risk: str
    complete: bool
    ward: str | None = None
    bed: str | None = None
    obs_msg_id: str | None = None
    parameters: dict[str, int] = msgspec.field(default_factory=dict)
    missing: list[str] = msgspec.field(default_factory=list)
    monitoring: str | None = None
    next_obs_due: AwareDatetime | None = None
    response: str | None = None
    level: str | None = None
    clinical_response: str | None = None
    spo2_scale: int | None = None
    single_parameter_triggers: list[str] = msgspec.field(default_factory=list)
    triggers: list[str] = msgspec.field(default_factory=list)
    prompts: list[str] = msgspec.field(default_factory=list)
    queries: list[str] = msgspec.field(default_factory=list)
    not_recorded: dict[str, str] = msgspec.field(default_factory=dict)
    chart_status: str | None = None
    vitals: dict[str, bool | int | float | str] | None = None
    measured: dict[str, bool | int | float | str] | None = None
    """A continuous device's reading: the vitals it measured itself (`vitals` is the merged
    snapshot scored, with values carried over from earlier readings); None when `vitals` is
    all this set measured."""
    ignored: list[str] = msgspec.field(default_factory=list)
    last_manual_obs: AwareDatetime | None = None
    obs_interval_minutes: float | None = None
    learned_risk: msgspec.Raw = _NULL
    """The learned estimate (issue 15), read on its own (`_score_view`): one that cannot be
    read must not take the chart's score down with it."""


class _Alert(msgspec.Struct, kw_only=True, frozen=True):
    """An alert event (CONTRACT §5); `kind` and `severity` are open sets, so plain strings.

    What raised it (optional, from the scorer): `system`, `total` and `risk` of the score,
    `scored_at` the time of the observation set that raised it (or last raised it higher),
    `triggers` its red single parameters; an alert re-raised higher in the same episode keeps
    its `alert_id` and says `previous_severity` and how many `upgrades`.
    """

    alert_id: NonEmpty
    ward: str
    time: AwareDatetime
    kind: str
    severity: str
    state: Literal["raised", "acknowledged", "resolved", "escalated"]
    patient_id: str | None = None
    bed: str | None = None
    message: str = ""
    obs_msg_id: str | None = None
    seq: int | None = None
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    raised_at: AwareDatetime | None = None
    rung: int | None = None
    notify: str | None = None
    renotified: int | None = None
    by: str | None = None
    reason: str | None = None
    via: str | None = None
    action_msg_id: str | None = None
    note: str | None = None
    plan: str | None = None
    scored_at: AwareDatetime | None = None
    triggers: list[str] | None = None
    previous_severity: str | None = None
    upgrades: int | None = None
    upgraded_at: AwareDatetime | None = None


class _Plan(msgspec.Struct, kw_only=True, frozen=True):
    """A patient's escalation plan (README, "Escalation plans"), shown on their bed."""

    patient_id: NonEmpty
    time: AwareDatetime
    by: str
    reason: str
    ceiling: str | None = None
    alert_from: str | None = None


_ADT = msgspec.json.Decoder(_Adt)
_PLAN = msgspec.json.Decoder(_Plan)
_SCORE = msgspec.json.Decoder(_Score)
_ALERT = msgspec.json.Decoder(_Alert)
_LEARNED = msgspec.json.Decoder(_Learned)


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one stream: a bed's new view, or an alert's new event.

    Attributes:
        ward: the ward's stream, or None for the outreach stream (alerts across wards).
        seq: the stream's sequence number; strictly increasing, first change 1.
        key: the bed (ward stream) or the `alert_id` (outreach stream).
        data: the bed's whole view after the change (as in `snapshot`), or the alert's latest
            event with `open` (false once resolved). Shared with snapshots: read only.
    """

    ward: str | None
    seq: int
    key: str
    data: JSON


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was not used: the topic, a short code and the decoder's reason.

    Never the payload: it may hold patient data, and this goes to logs and `/healthz`.
    """

    topic: str
    code: str
    reason: str


@dataclass(slots=True)
class _Bed:
    patient: _Adt | None = None
    adt_time: datetime | None = None
    pending: _Score | None = None  # latest score on this bed's topic for someone not in it
    plan: _Plan | None = None  # the latest plan on this bed's topic
    placement: str = ""  # the opaque token of `patient` in this bed (`WardBoard._placement`)


@dataclass(slots=True)
class _Ward:
    beds: dict[str, _Bed] = field(default_factory=dict)
    alerts: dict[str, tuple[_Alert, JSON]] = field(default_factory=dict)  # open, and view
    views: dict[str, JSON] = field(default_factory=dict)  # last view sent, by bed
    seq: int = 0
    order: list[str] | None = None  # beds in natural order, kept until a bed is added

    def sorted_beds(self) -> list[str]:
        if self.order is None:
            self.order = sorted(self.beds, key=_natural)
        return self.order


@dataclass(slots=True)
class _Patient:
    ward: str
    bed: str
    score: _Score | None = None
    score_view: JSON | None = None
    previous: _Score | None = None  # the score before `score`, for the trend


class WardBoard:
    """The live state of every ward, bed and open alert, built from MQTT messages.

    Attributes:
        rejected: invalid messages, counted by code (`topic`, `empty`, `payload`, `mismatch`).
        ignored: valid messages that changed nothing by rule, by reason (`stale-adt`,
            `stale-score`, `other-patient`, `stale-alert`, `closed-alert`).
        last_rejection: the latest invalid message's topic and reason, for `/healthz`.
    """

    def __init__(self, *, prefix: str = "", key: bytes | None = None) -> None:
        """Read topics under `prefix` (put verbatim before `wards/`, e.g. `"site1/"`).

        `key`: the secret the `placement` tokens are keyed with (default: random, this board's
        own; give one only to compare two boards' views in tests).
        """
        self._prefix = prefix
        self._key = key if key is not None else secrets.token_bytes(32)
        self._wards: dict[str, _Ward] = {}
        self._patients: dict[str, _Patient] = {}  # placed patients, by patient_id
        self._patient_time: dict[str, datetime] = {}  # latest ADT time per patient
        self._closed: dict[str, datetime] = {}  # resolved alert_id → time
        self._outreach: dict[str, _Alert] = {}  # every open alert, by alert_id
        self._outreach_seq = 0
        self.rejected: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.last_rejection: Rejection | None = None
        self._now: datetime | None = None

    # ---- reading -----------------------------------------------------------------------

    def wards(self) -> list[str]:
        """The wards seen so far, in natural order (`2` before `10`)."""
        return sorted(self._wards, key=_natural)

    def seq(self, ward: str | None) -> int:
        """The latest `seq` of a ward's stream (None: the outreach stream); 0 before any."""
        if ward is None:
            return self._outreach_seq
        state = self._wards.get(ward)
        return state.seq if state is not None else 0

    def snapshot(self, ward: str) -> JSON:
        """Every bed of `ward` with patient, score, vitals, next obs due and open alerts.

        An unknown ward gives no beds and `seq` 0 (a wallboard may open before its ward's
        first message). The result is JSON-able and shares its parts with later changes: read
        only.
        """
        state = self._wards.get(ward)
        if state is None:
            return {"ward": ward, "seq": 0, "beds": []}
        shown = self._alerts_by_bed(ward, state)
        beds = [self._view(state, bed, shown.get(bed, [])) for bed in state.sorted_beds()]
        return {"ward": ward, "seq": state.seq, "beds": beds}

    def outreach_snapshot(self) -> JSON:
        """Every open alert across wards, oldest first, with the outreach stream's `seq`."""
        alerts = sorted(self._outreach.values(), key=lambda a: (a.time, a.alert_id))
        return {"seq": self._outreach_seq, "alerts": [_alert_view(a) for a in alerts]}

    def alert(self, alert_id: str) -> JSON | None:
        """The latest event of an open alert (as in the outreach snapshot), or None."""
        alert = self._outreach.get(alert_id)
        return _alert_view(alert) if alert is not None else None

    def closed(self, alert_id: str) -> bool:
        """Whether the alert was seen resolved (and is still remembered)."""
        return alert_id in self._closed

    def occupant(self, ward: str, bed: str) -> JSON | None:
        """The patient in a bed, or None if empty: what the board shows of them plus their
        identifiers (`patient_id`, `birth_date`), for the patient view's history only (it is
        behind login and audited); never put this on a ward board's stream."""
        state = self._wards.get(ward)
        place = state.beds.get(bed) if state is not None else None
        if place is None or place.patient is None:
            return None
        adt = place.patient
        return _patient_view(adt, place.placement) | {
            "patient_id": adt.patient_id,
            "birth_date": msgspec.to_builtins(adt.birth_date),
        }

    def _placement(self, ward: str, bed: str, adt: _Adt) -> str:
        """The opaque token of this patient in this bed (see the module's docstring)."""
        text = "\x00".join((ward, bed, adt.patient_id)).encode()
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()[:20]

    def stats(self) -> JSON:
        """Counts for `/healthz`: wards, beds, open alerts, rejected and ignored messages."""
        last = self.last_rejection
        return {
            "wards": len(self._wards),
            "beds": sum(len(w.beds) for w in self._wards.values()),
            "patients": len(self._patients),
            "open_alerts": len(self._outreach),
            "rejected": dict(self.rejected),
            "ignored": dict(self.ignored),
            "last_rejection": None
            if last is None
            else {"topic": last.topic, "code": last.code, "reason": last.reason},
        }

    # ---- applying ----------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Change]:
        """Move the board's clock to `now`: beds whose observations became due, late or
        missed change. Until the first tick every status is `unknown`."""
        self._now = now
        return self._diff(set(self._wards))

    def apply(self, topic: str, payload: bytes) -> list[Change]:
        """Apply one message; return the changes it made (none if invalid, stale or a repeat).

        Never raises for a bad message: it is counted in `rejected` and kept as
        `last_rejection`.
        """
        if not topic.startswith(self._prefix):
            return self._reject(topic, "topic", "not under the prefix")
        match = _TOPIC.fullmatch(topic[len(self._prefix) :])
        if match is None:
            return self._reject(topic, "topic", "not an adt, score, plan or alerts topic")
        ward, bed, kind, alerts = match.groups()
        if not payload:
            return self._reject(topic, "empty", "empty payload (a retained message cleared)")
        try:
            if alerts:
                return self._alert(topic, ward, _ALERT.decode(payload))
            if kind == "adt":
                return self._adt(ward, bed, _ADT.decode(payload))
            if kind == "plan":
                return self._plan(ward, bed, _PLAN.decode(payload))
            return self._score(topic, ward, bed, _SCORE.decode(payload))
        except msgspec.DecodeError as error:
            return self._reject(topic, "payload", decode_reason(error))

    def _reject(self, topic: str, code: str, reason: str) -> list[Change]:
        self.rejected[code] += 1
        self.last_rejection = Rejection(topic, code, reason)
        return []

    def _ward(self, ward: str) -> _Ward:
        state = self._wards.get(ward)
        if state is None:
            state = self._wards[ward] = _Ward()
        return state

    def _bed(self, ward: str, bed: str) -> _Bed:
        state = self._ward(ward)
        place = state.beds.get(bed)
        if place is None:
            place = state.beds[bed] = _Bed()
            state.order = None
        return place

    def _adt(self, ward: str, bed: str, adt: _Adt) -> list[Change]:
        place = self._bed(ward, bed)
        touched = {ward}
        pid = adt.patient_id
        if adt.time is not None:
            last = self._patient_time.get(pid)
            if (place.adt_time is not None and adt.time < place.adt_time) or (
                last is not None and adt.time < last
            ):
                self.ignored["stale-adt"] += 1
                return self._diff(touched)
            place.adt_time = adt.time
            _remember(self._patient_time, pid, adt.time)
        held = self._patients.get(pid)
        if held is not None and (adt.event == "discharge" or (held.ward, held.bed) != (ward, bed)):
            self._unplace(pid, held)
            touched.add(held.ward)
        if adt.event == "discharge":
            return self._diff(touched)
        if place.patient is not None and place.patient.patient_id != pid:
            # A new patient in an occupied bed: the one before left without a discharge.
            self._patients.pop(place.patient.patient_id, None)
        place.patient = adt
        place.placement = self._placement(ward, bed, adt)
        patient = self._patients.get(pid)
        if patient is None:
            patient = _Patient(ward, bed)
            if held is not None:  # the score follows the patient to the new bed
                patient.score, patient.score_view = held.score, held.score_view
            self._patients[pid] = patient
        pending = place.pending
        if pending is not None and pending.patient_id == pid:
            place.pending = None
            self._take_score(patient, pending)
        return self._diff(touched)

    def _plan(self, ward: str, bed: str, plan: _Plan) -> list[Change]:
        place = self._bed(ward, bed)
        if place.plan is not None and plan.time < place.plan.time:
            self.ignored["stale-plan"] += 1
            return []
        place.plan = plan
        return self._diff({ward}, only=bed)

    def _unplace(self, pid: str, held: _Patient) -> None:
        self._patients.pop(pid, None)
        old = self._wards[held.ward].beds[held.bed]
        if old.patient is not None and old.patient.patient_id == pid:
            old.patient = None

    def _score(self, topic: str, ward: str, bed: str, score: _Score) -> list[Change]:
        if (score.ward is not None and score.ward != ward) or (
            score.bed is not None and score.bed != bed
        ):
            return self._reject(topic, "mismatch", "ward or bed differs from the topic's")
        place = self._bed(ward, bed)
        patient = self._patients.get(score.patient_id)
        if (
            patient is None
            or (patient.ward, patient.bed) != (ward, bed)
            or place.patient is None
            or place.patient.patient_id != score.patient_id
        ):
            self.ignored["other-patient"] += 1
            if place.pending is None or place.pending.time <= score.time:
                place.pending = score
            return self._diff({ward}, only=bed)
        self._take_score(patient, score)
        return self._diff({ward}, only=bed)  # a score changes its own bed's view, no other

    def _take_score(self, patient: _Patient, score: _Score) -> None:
        if patient.score is not None and score.time < patient.score.time:
            self.ignored["stale-score"] += 1
            return
        if patient.score is not None and score.time > patient.score.time:
            patient.previous = patient.score
        patient.score = score
        patient.score_view = self._score_view(score)

    def _score_view(self, score: _Score) -> JSON:
        """A score result as a board shows it: without the patient id (the bed says whose),
        with its learned estimate when it has one that can be read."""
        view: JSON = msgspec.to_builtins(score, builtin_types=(msgspec.Raw,))
        del view["patient_id"]
        raw = score.learned_risk
        view["learned_risk"] = None
        if raw is _NULL or bytes(raw) == b"null":
            return view
        try:
            learned = _LEARNED.decode(raw)
        except msgspec.DecodeError as error:
            self.rejected["learned-risk"] += 1
            self.last_rejection = Rejection("score", "learned-risk", decode_reason(error))
            return view
        shown: JSON = msgspec.to_builtins(learned)
        # A reason is the model's words: one that names the patient is not for a ward board.
        shown["reasons"] = [r for r in learned.reasons[:3] if score.patient_id not in r]
        view["learned_risk"] = shown
        return view

    def _alert(self, topic: str, ward: str, alert: _Alert) -> list[Change]:
        if alert.ward != ward:
            return self._reject(topic, "mismatch", "ward differs from the topic's")
        aid = alert.alert_id
        closed = self._closed.get(aid)
        if closed is not None and alert.time <= closed:
            self.ignored["closed-alert"] += 1
            return []
        held = self._outreach.get(aid)
        if held is not None and _order(alert) < _order(held):
            self.ignored["stale-alert"] += 1
            return []
        state = self._ward(ward)
        if alert.bed is not None:
            self._bed(ward, alert.bed)
        touched = {ward}
        if held is not None and held.ward != ward:
            self._wards[held.ward].alerts.pop(aid, None)
            touched.add(held.ward)
        if alert.state == "resolved":
            self._outreach.pop(aid, None)
            state.alerts.pop(aid, None)
            _remember(self._closed, aid, alert.time)
        else:
            if alert.raised_at is None:  # a contract-only scorer: the first event seen
                first = held.raised_at or held.time if held is not None else alert.time
                alert = msgspec.structs.replace(alert, raised_at=first)
            self._outreach[aid] = alert
            state.alerts[aid] = (alert, _alert_view(alert))
        changes = self._diff(touched)
        if held is None and alert.state == "resolved":
            return changes  # never shown as open: nothing to tell the outreach stream
        self._outreach_seq += 1
        changes.append(Change(None, self._outreach_seq, aid, _alert_view(alert)))
        return changes

    # ---- views -------------------------------------------------------------------------

    def _diff(self, wards: set[str], *, only: str | None = None) -> list[Change]:
        """Rebuild every bed view of `wards` (or `only` that bed, when one ward and one bed is all a
        message can change); a change for each view that differs from the last.

        Linear in beds plus open alerts of those wards; views share the cached score and
        alert dicts, so comparing them is mostly identity checks.
        """
        changes: list[Change] = []
        for ward in sorted(wards):
            state = self._wards[ward]
            shown = self._alerts_by_bed(ward, state)
            for bed in state.sorted_beds() if only is None else [only]:
                view = self._view(state, bed, shown.get(bed, []))
                if state.views.get(bed) != view:
                    state.views[bed] = view
                    state.seq += 1
                    changes.append(Change(ward, state.seq, bed, view))
        return changes

    def _alerts_by_bed(self, ward: str, state: _Ward) -> dict[str, list[JSON]]:
        """Where each open alert of the ward is shown: its patient's bed, else its own bed."""
        shown: dict[str, list[JSON]] = {}
        for alert, view in sorted(state.alerts.values(), key=lambda a: (a[0].time, a[0].alert_id)):
            patient = self._patients.get(alert.patient_id) if alert.patient_id else None
            bed = patient.bed if patient is not None and patient.ward == ward else alert.bed
            if bed is not None:
                shown.setdefault(bed, []).append(view)
        return shown

    def _view(self, state: _Ward, bed: str, alerts: list[JSON]) -> JSON:
        adt = state.beds[bed].patient
        patient = self._patients.get(adt.patient_id) if adt is not None else None
        score = patient.score_view if patient is not None else None
        return {
            "bed": bed,
            "patient": _patient_view(adt, state.beds[bed].placement) if adt is not None else None,
            "score": score,
            "vitals": score.get("vitals") if score is not None else None,
            "next_obs_due": score.get("next_obs_due") if score is not None else None,
            "obs": self._obs_view(adt, patient),
            "plan": _plan_view(state.beds[bed].plan, adt),
            "trend": _trend_view(patient),
            "open_alerts": alerts,
        }

    def _obs_view(self, adt: _Adt | None, patient: _Patient | None) -> JSON | None:
        """When the next set is due and whether it is due, late or missed, at `now`."""
        score = patient.score if patient is not None else None
        if adt is None or score is None:
            return None
        # The set the due time counts from: the level's interval before it; for a scorer
        # that does not give the interval, the last nurse's set or the score itself.
        if score.obs_interval_minutes is not None and score.next_obs_due is not None:
            last = score.next_obs_due - timedelta(minutes=score.obs_interval_minutes)
        else:
            last = score.last_manual_obs or score.time
        now = self._now
        timing = obs_timing(last, score.next_obs_due, now if now is not None else last)
        interval = timing.interval
        return {
            "last": msgspec.to_builtins(score.last_manual_obs),
            "last_reading": msgspec.to_builtins(score.time),
            "due": msgspec.to_builtins(score.next_obs_due),
            "interval_minutes": None if interval is None else interval.total_seconds() / 60,
            "late_at": msgspec.to_builtins(timing.late_at),
            "missed_at": msgspec.to_builtins(timing.missed_at),
            "status": timing.status if now is not None else "unknown",
        }


def _patient_view(adt: _Adt, placement: str) -> JSON:
    """What a ward board may show of a patient: no id, no birth date, no equity fields."""
    return {
        "placement": placement,
        "cohort": adt.cohort,
        "age_band": adt.age_band,
        "initials": adt.initials,
        "spo2_scale": adt.spo2_scale,
        "chart": adt.chart,
        "event": adt.event,
        "since": msgspec.to_builtins(adt.time),
    }


def _plan_view(plan: _Plan | None, adt: _Adt | None) -> JSON | None:
    """The bed's plan, if it is its patient's and in force (a plan with neither a ceiling nor
    a threshold clears the one before)."""
    if plan is None or adt is None or plan.patient_id != adt.patient_id:
        return None
    if plan.ceiling is None and plan.alert_from is None:
        return None
    view: JSON = msgspec.to_builtins(plan)
    del view["patient_id"]
    return view


def _trend_view(patient: _Patient | None) -> JSON | None:
    if patient is None or patient.score is None or patient.previous is None:
        return None
    now, before = patient.score.total, patient.previous.total
    return {
        "previous_total": before,
        "previous_time": msgspec.to_builtins(patient.previous.time),
        "direction": "up" if now > before else "down" if now < before else "same",
    }


def _order(alert: _Alert) -> tuple[datetime, int]:
    """Which of two events of one alert is the later: by time, then by the alert's own `seq`
    (a re-raise, an escalation and an acknowledgement may share a time)."""
    return alert.time, alert.seq if alert.seq is not None else 0


def _alert_view(alert: _Alert) -> JSON:
    """An alert event as the boards and the outreach console show it: without the patient id
    (the ward and bed say where; the patient view, behind login, says who)."""
    view: JSON = msgspec.to_builtins(alert)
    view.pop("patient_id", None)
    view["open"] = alert.state != "resolved"
    return view


_ECHOED = "Invalid enum value"
_PATH = re.compile(r" - at `[^`]*`\Z")
"""Where msgspec says the error is: always last, never quoted (the value before it is)."""


def decode_reason(error: msgspec.DecodeError) -> str:
    """The decoder's reason, without any value it echoes from the payload (msgspec names the
    value of a field outside its enum, which could be anything, a patient id too): it goes to
    logs and `/healthz`. Everything between the words and the path is dropped, so a value that
    itself holds ` - at `` (or a newline) cannot leave a part of itself behind."""
    text = str(error)
    if not text.startswith(_ECHOED):
        return text
    path = _PATH.search(text)
    return _ECHOED + (path.group(0) if path is not None else "")


def _remember(memory: dict[str, datetime], key: str, time: datetime) -> None:
    """Record `key` at `time` (moving it to the newest end); forget the oldest beyond MEMORY."""
    memory.pop(key, None)
    memory[key] = time
    if len(memory) > MEMORY:
        del memory[next(iter(memory))]


def _natural(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key putting bed `2` before `10` and `B3` before `B12`."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )
