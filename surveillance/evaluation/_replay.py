"""The replay behind `surveillance evaluate` (CONTRACT §11): recordings offline, in event time,
through the service's own scorer, and the figures of how well the chart scores predicted
their outcomes.

`replay` feeds each recording (a fresh `OnlineScorer` per file, so files are separate
hospitals) every message as the service would have received it, the message's own time as its
arrival (`received`), and keeps what the scorer produced: score records, the observations'
sources, the §9 events it accepted, the patients' ADT context and their stays.
`evaluate` labels each score and computes the figures (`surveillance._metrics`).

Decisions (README, "surveillance evaluate"):
- Outcome: a patient's composite outcome starts at their first event of the `--outcome`
  kinds; later events of theirs belong to it (an arrest, then ICU an hour later, is one
  deterioration), and their observations from its start on are left out. Events come from the
  recording's §9 event messages (as the scorer accepted them); a recording without them (its
  header says `"events": false`, or it holds none) uses `simulation/truth`'s outcomes
  (`icu-transfer` as `icu-admission`, `rapid-response-call` as `rrt-call`).
- Observations made while the patient's escalation plan sets a ceiling of care (any
  `ceiling`, until a plan without one) are left out, as the issue asks; the simulators publish
  no plans yet, so this changes nothing in their recordings.
- Observations: nurses' sets only by default (`source` manual, as the published figures count
  charted sets); `include_devices` adds the scored snapshots of monitors and wearables, which
  are many times more numerous and would otherwise decide every figure.
- The threshold: NEWS2 total ≥ 5 (the published comparator); PEWS and the maternity chart have
  no such single total, so theirs is the chart's own call for a response beyond the bedside
  nurse (the responses the service alerts on, `DEFAULT_ALERT_RESPONSES`).
- Patient-days: time in a bed, from admission (or transfer in) to discharge or the end of the
  recording; a system's patient-days are those of the patients it scored.
- Groups: from the patient's first ADT context: sex (CONTRACT §2 codes), ethnicity group
  (the NHS ethnic category's five ONS groups), age band at admission and IMD quintile; a field
  the feed did not give is "unknown". Counts 1-7 and every figure derived from them are `"*"`.
- The learned model (`model`, when one is given): the replay builds the scorer without one and
  calls it on each scorer result with the patient's latest ADT context and the observation's
  source, as the service does (device snapshots too, at most every `estimate_interval`); it
  is told each patient's outcome from the same events that label the observations (or
  truth, as above; a recording whose header does not say tells it the first of either) and
  their discharges, and learns with delayed labels as it goes unless frozen. A judged
  observation without an estimate of its own (a device snapshot between estimates) carries the
  patient's latest. At the end of each file what has matured is learned and the rest dropped
  (censored): each file is a hospital of its own.
- Stored (`sink`, `surveillance evaluate --store`): what the scorer made of each batch, as
  the service would have stored it (`history`), without its own bookkeeping; its clock does
  not run (no overdue or feed alert, no escalation). With `answer_alerts` simulated staff
  (`Staff`) acknowledge and resolve alerts in event time, so that stored alerts are the
  episodes a ward would see; the figures are the same either way.
- The model's threshold: the one whose alert episodes per 100 patient-days come closest to
  NEWS2 >= 5's on the same observations (`threshold_for_rate`); the groups use that same
  threshold.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec

from ingest import Admission, PlanUpdate, alert_action_topic, parse
from scoring import ChartSet, Context, ScoreResult, completed_years
from simulators import TRUTH_TOPIC, Message, read_meta, read_recording, respond
from surveillance.evaluation._metrics import (
    AtThreshold,
    Series,
    at_threshold,
    auprc,
    auroc,
    brier,
    calibration,
    label,
    per_100,
    threshold_for_rate,
)
from surveillance.online import DEFAULT_ALERT_RESPONSES, Arrival, OnlineScorer, OnlineSettings
from surveillance.risk import RiverRisk
from surveillance.store import AlertRecord, Batch

__all__ = [
    "DEFAULT_OUTCOME",
    "NEWS2_THRESHOLD",
    "SYSTEMS",
    "Replayed",
    "evaluate",
    "history",
    "replay",
    "suppress",
]

DEFAULT_OUTCOME: Final = ("icu-admission", "cardiac-arrest", "death")
NEWS2_THRESHOLD: Final = 5
SYSTEMS: Final = (("news2", "NEWS2"), ("pews", "PEWS"), ("mews", "MEWS"))
SMALL: Final = range(1, 8)  # counts suppressed in groups
TRUTH_NAMES: Final = {"icu-transfer": "icu-admission", "rapid-response-call": "rrt-call"}
DEVICE_SOURCES: Final = frozenset({"monitor", "wearable"})
BATCH: Final = 256
STAFF_SPAN: Final = 600.0
"""With simulated staff answering alerts: the longest span of event time (seconds) scored
together, so that an alert is answered at most this long after a later message of the batch
was handled (the answer keeps its own time)."""
HOUR: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Scored:
    """One score the scorer produced."""

    patient: str
    hours: float
    system: str
    total: int
    alert: bool
    probability: float | None = None
    """The learned risk's latest estimate for the patient at this observation."""


@dataclass(slots=True)
class Replayed:
    """What the replay of one or more recordings kept."""

    scored: list[Scored] = field(default_factory=list)
    contexts: dict[str, Context] = field(default_factory=dict)  # first ADT context
    admitted: dict[str, float] = field(default_factory=dict)  # hours, when in a bed
    days: dict[str, float] = field(default_factory=dict)  # patient-days so far
    onsets: dict[str, float] = field(default_factory=dict)  # outcome start, hours
    ceilings: dict[str, list[list[float]]] = field(default_factory=dict)  # [start, end] hours
    outcome_source: dict[str, str] = field(default_factory=dict)  # file → events | truth
    include_devices: bool = False
    device_snapshots_left_out: int = 0
    model: dict[str, Any] | None = None  # the model's description, when one was run


class _Response(msgspec.Struct):
    response: str = ""


_response = msgspec.json.Decoder(_Response)
_result = msgspec.json.Decoder(ScoreResult)


def replay(
    paths: Sequence[Path],
    charts: ChartSet,
    outcome: Collection[str] = DEFAULT_OUTCOME,
    *,
    include_devices: bool = False,
    progress: Callable[[Iterable[Message], Path], Iterable[Message]] | None = None,
    model: RiverRisk | None = None,
    sink: Callable[[Batch], None] | None = None,
    answer_alerts: bool = False,
) -> Replayed:
    """Replay `paths` through the online scorer in event time; `progress` may wrap each
            file's messages (a progress bar); `model` is the learned risk to run beside the scores
            (it learns as it goes unless it was loaded frozen); `sink` is given, in order, the records
            the scorer made of each batch (`history`: what a store keeps of them). The scorer's clock
        (`tick`) does not run, as for the figures: no overdue or silent-feed alert, no escalation
        (with nobody acknowledging a simulated alert, its ladder's reminders would be most of what was
        stored). `answer_alerts`: simulated staff acknowledge and resolve the scorer's alerts in
    event time (`Staff`), as the demo's responders do, for a store whose alert measures mean
    something; it changes no figure of `evaluate`."""
    into = Replayed(include_devices=include_devices)
    for index, path in enumerate(paths):
        messages: Iterable[Message] = read_recording(path)
        if progress is not None:
            messages = progress(messages, path)
        tag = f"{index}:" if len(paths) > 1 else ""
        _replay_one(
            into, path, tag, messages,
            charts=charts, outcome=outcome, include_devices=include_devices, model=model,
            sink=sink, answer_alerts=answer_alerts,
        )  # fmt: skip
    if model is not None:
        into.model = model.describe()
    return into


def _replay_one(
    into: Replayed,
    path: Path,
    tag: str,
    messages: Iterable[Message],
    *,
    charts: ChartSet,
    outcome: Collection[str],
    include_devices: bool,
    model: RiverRisk | None = None,
    sink: Callable[[Batch], None] | None = None,
    answer_alerts: bool = False,
) -> None:
    settings = OnlineSettings()
    staff = Staff(int(read_meta(path).get("seed", 0))) if answer_alerts else None
    scorer = OnlineScorer(charts, settings)  # without a learned risk: the model runs beside it
    events: dict[str, float] = {}
    truth: dict[str, float] = {}
    saw_events = False
    end = 0.0
    latest_time = datetime.fromtimestamp(0, UTC)
    chunk: list[Arrival] = []
    told = read_meta(path).get("events")  # which outcomes the model is told of (None: both)
    context_now: dict[str, Context] = {}  # each patient's latest ADT context
    estimate: dict[str, float] = {}  # each patient's latest estimate

    def tell(patient: str, when: datetime) -> None:
        if model is not None:
            model.outcome(patient, when)

    def flush() -> None:
        out = scorer.handle(chunk)
        chunk.clear()
        if sink is not None:
            sink(history(out.batch))
        if staff is not None:
            staff.page(out.batch.alerts)
        sources = {o.msg_id: o.source for o in out.batch.observations}
        for s in out.batch.scores:
            source = sources.get(s.obs_msg_id, "manual")
            if model is not None and s.system == "NEWS2":
                result = _result.decode(s.result)
                context = context_now.get(s.patient_id) or Context(patient_id=s.patient_id)
                risk = model.estimate(result, context, source)
                if risk is not None:
                    estimate[s.patient_id] = risk.probability
            if source in DEVICE_SOURCES and not include_devices:
                into.device_snapshots_left_out += 1
                continue
            if s.system == "NEWS2":
                alert = s.total >= NEWS2_THRESHOLD
            else:
                alert = _response.decode(s.result).response in DEFAULT_ALERT_RESPONSES
            into.scored.append(
                Scored(
                    tag + s.patient_id,
                    _hours(s.time),
                    s.system,
                    s.total,
                    alert,
                    estimate.get(s.patient_id) if s.system == "NEWS2" else None,
                )
            )
        for e in out.batch.events:
            if e.event in outcome:
                key = tag + e.patient_id
                events[key] = min(events.get(key, float("inf")), _hours(e.time))
                if told is not False:
                    tell(e.patient_id, e.time)
        if model is not None:
            model.mature(latest_time)

    for message in messages:
        if staff is not None:  # the scorer's alerts are answered within STAFF_SPAN
            if chunk and message.time - chunk[0].received.timestamp() >= STAFF_SPAN:
                flush()
            if staff.next_due() < message.time:
                flush()  # pages the alerts of the messages before, and answers those due
                chunk.extend(staff.due(message.time))  # handled in order, before this message
        now = message.time / HOUR
        end = max(end, now)
        when = datetime.fromtimestamp(message.time, UTC)
        latest_time = max(latest_time, when)
        if message.topic == TRUTH_TOPIC:
            record = msgspec.json.decode(message.payload)
            if record.get("kind") == "outcome":
                kind = TRUTH_NAMES.get(record["event"], record["event"])
                if kind in outcome:
                    key = tag + record["patient_id"]
                    truth[key] = min(truth.get(key, float("inf")), now)
                    if told is not True and model is not None:
                        flush()  # the observations before it are estimated first
                        tell(record["patient_id"], when)
            continue
        if message.topic.endswith("/event"):
            saw_events = True
        item = parse(message.topic, message.payload, tz=settings.tz, freshness=settings.freshness)
        if isinstance(item, Admission):
            if model is not None:
                flush()  # the observations before it are estimated in the old context
                patient_id = item.context.patient_id
                if patient_id is not None:
                    if item.context.event == "discharge":
                        context_now.pop(patient_id, None)
                        estimate.pop(patient_id, None)
                        model.leave(patient_id, when)
                    else:
                        context_now[patient_id] = item.context
            _placement(into, tag, item.context, now)
        elif isinstance(item, PlanUpdate):
            _ceiling(into, tag + item.plan.patient_id, item.plan.ceiling, _hours(item.plan.time))
        chunk.append(
            Arrival(item, message.topic, message.payload, datetime.fromtimestamp(message.time, UTC))
        )
        if len(chunk) >= BATCH:
            flush()
    flush()
    if model is not None:
        model.end_recording(datetime.fromtimestamp(end * HOUR, UTC))
    for patient, since in into.admitted.items():
        if patient.startswith(tag):
            into.days[patient] = into.days.get(patient, 0.0) + max(0.0, end - since) / 24
    for patient in [p for p in into.admitted if p.startswith(tag)]:
        del into.admitted[patient]
    use_events = read_meta(path).get("events", saw_events)
    into.outcome_source[str(path)] = "events" if use_events else "truth"
    for patient, onset in (events if use_events else truth).items():
        into.onsets[patient] = onset


class _Page(msgspec.Struct):
    state: str
    notify: str | None = None
    upgraded_at: str | None = None


_page = msgspec.json.Decoder(_Page)


class Staff:
    """Simulated staff who answer alerts in a replay, as the demo's responders
    (`simulators.respond`) do over MQTT: each alert's page (its raise, or an upgrade that pages
    anew) is acknowledged 0.5-10 minutes later by whoever it notified (15 % never are: they
    wait for a resolution that does not come), then resolved 5-30 minutes after that; a
    patient still scoring is then alerted anew. Seeded: the same recording, the same answers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (a simulation, not cryptography)
        self.actions: list[tuple[float, int, str, bytes]] = []  # (time, order, topic, payload)
        self.paged: set[tuple[str, str | None]] = set()
        self.n = 0

    def page(self, alerts: Iterable[AlertRecord]) -> None:
        """Schedule the answers to these alert events."""
        for a in alerts:
            event = _page.decode(a.event)
            key = (a.alert_id, event.upgraded_at)
            if event.state == "resolved" or key in self.paged:
                continue
            self.paged.add(key)
            response = respond(event.notify, self.rng)
            if response.ack_after is None:
                continue
            acked = a.time.timestamp() + response.ack_after
            self._act(acked, a, "ack", response.by, None)
            self._act(acked + response.resolve_after, a, "resolve", response.by, response.reason)

    def _act(self, at: float, a: AlertRecord, action: str, by: str, reason: str | None) -> None:
        self.n += 1
        command = {
            "msg_id": f"staff-{self.n}-{a.alert_id}-{action}",
            "time": datetime.fromtimestamp(at, UTC),
            "by": by,
            "via": "simulated-staff",
            **({"reason": reason} if reason is not None else {}),
        }
        topic = alert_action_topic("", a.ward, a.alert_id, action)
        heapq.heappush(self.actions, (at, self.n, topic, msgspec.json.encode(command)))

    def next_due(self) -> float:
        """When the next action is due (infinity: none is)."""
        return self.actions[0][0] if self.actions else math.inf

    def due(self, until: float) -> Iterator[Arrival]:
        """The actions timed before `until` (epoch seconds), in time order."""
        while self.actions and self.actions[0][0] < until:
            at, _, topic, payload = heapq.heappop(self.actions)
            yield Arrival(parse(topic, payload), topic, payload, datetime.fromtimestamp(at, UTC))


def history(batch: Batch) -> Batch:
    """What a store keeps of the scorer's records as the patients' history: ADT, observations,
    labs, scores, alert events, clinical events, plans and dead letters; not the service's own
    bookkeeping (the outbox of messages to publish, the scorer's state, the dedupe memory),
    which belongs to a running service, not to a replay."""
    return Batch(
        adt=batch.adt,
        observations=batch.observations,
        labs=batch.labs,
        scores=batch.scores,
        alerts=batch.alerts,
        dead_letters=batch.dead_letters,
        plans=batch.plans,
        events=batch.events,
    )


def _placement(into: Replayed, tag: str, context: Context, hours: float) -> None:
    if context.patient_id is None:
        return
    patient = tag + context.patient_id
    into.contexts.setdefault(patient, context)
    if context.event == "discharge":
        since = into.admitted.pop(patient, None)
        if since is not None:
            into.days[patient] = into.days.get(patient, 0.0) + max(0.0, hours - since) / 24
    else:
        into.admitted.setdefault(patient, hours)


def _ceiling(into: Replayed, patient: str, ceiling: str | None, hours: float) -> None:
    """A plan with a ceiling of care opens an interval, one without closes it."""
    spans = into.ceilings.setdefault(patient, [])
    is_open = bool(spans) and spans[-1][1] == math.inf
    if ceiling is not None and not is_open:
        spans.append([hours, math.inf])
    elif ceiling is None and is_open:
        spans[-1][1] = hours


def _under_ceiling(spans: Sequence[Sequence[float]], hours: float) -> bool:
    return any(start <= hours < end for start, end in spans)


def _hours(when: datetime) -> float:
    return when.timestamp() / HOUR


# -- figures ---------------------------------------------------------------------------------


def evaluate(replayed: Replayed, horizon: float, outcome: Sequence[str]) -> dict[str, Any]:
    """The JSON object of CONTRACT §11 (`model` null when no model was run)."""
    patients = set(replayed.days) | {s.patient for s in replayed.scored}
    overall = _block(replayed, patients, horizon)
    model: dict[str, Any] | None = None
    threshold: float | None = None
    if replayed.model is not None:
        news2 = overall.get("news2") or {}
        target = (news2.get("at_threshold") or {}).get("alerts_per_100_patient_days")
        model, threshold = _model(replayed, patients, horizon, target, None)
        if model is not None:
            model["about"] = replayed.model
    result: dict[str, Any] = {
        "horizon_hours": horizon,
        "outcome": list(outcome),
        "outcome_source": replayed.outcome_source,
        "observations_used": "nurses' sets and device snapshots"
        if replayed.include_devices
        else "nurses' sets (device snapshots left out)",
        "device_snapshots_left_out": replayed.device_snapshots_left_out,
        **overall,
        "model": model,
        "notes": [
            "model: the learned risk on the NEWS2 observations (adults); its threshold gives the "
            "alert episodes per 100 patient-days closest to NEWS2 >= 5's; calibration slope and "
            "intercept by logistic recalibration (intercept with the slope held at 1)"
            if replayed.model is not None
            else "model: none was run (surveillance evaluate --model PATH, or the shipped one)",
            "alerts are episodes: runs of consecutive observations at or above the threshold",
            "thresholds: NEWS2 total >= 5; PEWS and MEWS: the chart's call for a response "
            "beyond the bedside nurse (the service's score alerts)",
        ],
    }
    groups: dict[str, dict[str, Any]] = {}
    for dimension, key in GROUPINGS:
        values: dict[str, set[str]] = {}
        for patient in patients:
            values.setdefault(key(replayed.contexts.get(patient)), set()).add(patient)
        groups[dimension] = {
            value: suppress(
                {
                    **_block(replayed, members, horizon),
                    **(
                        {"model": _model(replayed, members, horizon, None, threshold)[0]}
                        if threshold is not None
                        else {}
                    ),
                }
            )
            for value, members in sorted(values.items())
        }
    result["by_group"] = groups
    return result


def _block(replayed: Replayed, patients: set[str], horizon: float) -> dict[str, Any]:
    days = sum(replayed.days.get(p, 0.0) for p in patients)
    events = sum(1 for p in patients if p in replayed.onsets)
    kept_total = 0
    systems: dict[str, Any] = {}
    for name, system in SYSTEMS:
        figures = _system(replayed, patients, system, horizon)
        systems[name] = figures
        if figures is not None:
            kept_total += figures["observations"]
    return {
        "observations": kept_total,
        "patients": len(patients),
        "patient_days": round(days, 3),
        "events": events,
        "events_per_100_patient_days": _round(per_100(events, days)),
        **systems,
    }


def _system(
    replayed: Replayed, patients: set[str], system: str, horizon: float
) -> dict[str, Any] | None:
    rows: dict[str, list[Scored]] = {}
    for s in replayed.scored:
        if s.system == system and s.patient in patients:
            rows.setdefault(s.patient, []).append(s)
    if not rows:
        return None
    scores: list[float] = []
    labels: list[bool] = []
    series: list[Series] = []
    for patient, own in rows.items():
        own.sort(key=lambda s: s.hours)
        onset = replayed.onsets.get(patient)
        kept, positive = label([s.hours for s in own], onset, horizon)
        spans = replayed.ceilings.get(patient, ())
        mine = [
            (s, p)
            for s, k, p in zip(own, kept, positive, strict=True)
            if k and not _under_ceiling(spans, s.hours)
        ]
        scores.extend(s.total for s, _ in mine)
        labels.extend(p for _, p in mine)
        series.append(
            Series(
                [s.hours for s, _ in mine],
                [s.alert for s, _ in mine],
                onset,
                replayed.days.get(patient, 0.0),
            )
        )
    at = at_threshold(series, horizon)
    return {
        "observations": len(scores),
        "outcome_observations": sum(labels),
        "patients": len(rows),
        "patient_days": round(at.patient_days, 3),
        "events": at.events,
        "events_per_100_patient_days": _round(per_100(at.events, at.patient_days)),
        "auroc": _round(auroc(scores, labels)),
        "auprc": _round(auprc(scores, labels)),
        "at_threshold": _at(system, at),
    }


def _model(
    replayed: Replayed,
    patients: set[str],
    horizon: float,
    target: float | None,
    threshold: float | None,
) -> tuple[dict[str, Any] | None, float | None]:
    """The learned risk's figures on the NEWS2 observations of `patients`, at `threshold`, or
    at the one matching `target` alert episodes per 100 patient-days when it is None."""
    rows: dict[str, list[Scored]] = {}
    without = 0
    for s in replayed.scored:
        if s.system == "NEWS2" and s.patient in patients:
            if s.probability is None:
                without += 1
            else:
                rows.setdefault(s.patient, []).append(s)
    if not rows:
        return None, threshold
    probabilities: list[float] = []
    labels: list[bool] = []
    series: list[tuple[list[float], list[float], float | None, float]] = []
    for patient, own in rows.items():
        own.sort(key=lambda s: s.hours)
        onset = replayed.onsets.get(patient)
        kept, positive = label([s.hours for s in own], onset, horizon)
        spans = replayed.ceilings.get(patient, ())
        mine = [
            (s, p)
            for s, k, p in zip(own, kept, positive, strict=True)
            if k and not _under_ceiling(spans, s.hours)
        ]
        probabilities.extend(s.probability for s, _ in mine if s.probability is not None)
        labels.extend(p for _, p in mine)
        series.append(
            (
                [s.hours for s, _ in mine],
                [s.probability for s, _ in mine if s.probability is not None],
                onset,
                replayed.days.get(patient, 0.0),
            )
        )
    if threshold is None:
        if target is None:
            return None, None
        found = threshold_for_rate(series, horizon, target)
        if found is None:
            return None, None
        threshold, at = found
    else:
        at = at_threshold(
            (Series(t, [p >= threshold for p in e], o, d) for t, e, o, d in series), horizon
        )
    slope, intercept = calibration(probabilities, labels)
    figures = _at("NEWS2", at)
    figures["threshold"] = round(threshold, 6)
    return {
        "observations": len(probabilities),
        "observations_without_estimate": without,
        "outcome_observations": sum(labels),
        "patients": len(rows),
        "patient_days": round(at.patient_days, 3),
        "events": at.events,
        "auroc": _round(auroc(probabilities, labels)),
        "auprc": _round(auprc(probabilities, labels)),
        "brier": _round(brier(probabilities, labels)),
        "calibration_slope": _round(slope),
        "calibration_intercept": _round(intercept),
        "mean_probability": _round(
            sum(probabilities) / len(probabilities) if probabilities else None
        ),
        "outcome_rate": _round(sum(labels) / len(labels) if labels else None),
        "at_news2_alert_rate": figures,
    }, threshold


def _at(system: str, at: AtThreshold) -> dict[str, Any]:
    return {
        "threshold": f"{system} >= {NEWS2_THRESHOLD}" if system == "NEWS2" else "alert response",
        "alerts": at.alerts,
        "true_alerts": at.true_alerts,
        "alert_observations": at.alert_observations,
        "detected": at.detected,
        "alerts_per_100_patient_days": _round(at.alerts_per_100_patient_days),
        "alert_observations_per_100_patient_days": _round(
            per_100(at.alert_observations, at.patient_days)
        ),
        "sensitivity": _round(at.sensitivity),
        "ppv": _round(at.ppv),
        "nne": _round(at.nne),
        "median_lead_time_hours": _round(at.median_lead_time_hours),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# -- groups ----------------------------------------------------------------------------------

UNKNOWN: Final = "unknown"
SEX: Final = {"1": "male", "2": "female", "9": "indeterminate", "X": "not known"}
ETHNIC_GROUPS: Final = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
    "Z": "not stated",
    "99": "not known",
}
AGE_BANDS: Final = ((0, "0-15"), (16, "16-39"), (40, "40-64"), (65, "65-79"), (80, "80+"))


def _sex(context: Context | None) -> str:
    return UNKNOWN if context is None or context.sex is None else SEX.get(context.sex, UNKNOWN)


def _ethnicity(context: Context | None) -> str:
    if context is None or context.ethnicity is None:
        return UNKNOWN
    return ETHNIC_GROUPS.get(context.ethnicity, UNKNOWN)


def _age(context: Context | None) -> str:
    if context is None or context.birth_date is None or context.time is None:
        return UNKNOWN
    years = completed_years(context.birth_date, context.time.date())
    band = UNKNOWN
    for lowest, name in AGE_BANDS:
        if years >= lowest:
            band = name
    return band


def _imd(context: Context | None) -> str:
    if context is None or context.imd_decile is None:
        return UNKNOWN
    return f"Q{(context.imd_decile + 1) // 2}"


GROUPINGS: Final[tuple[tuple[str, Callable[[Context | None], str]], ...]] = (
    ("sex", _sex),
    ("ethnicity", _ethnicity),
    ("age_band", _age),
    ("imd_quintile", _imd),
)

_COUNTS: Final = (
    "observations",
    "outcome_observations",
    "patients",
    "events",
    "observations_without_estimate",
)
_DEPENDS: Final[Mapping[str, tuple[str, ...]]] = {
    "patient_days": ("patients",),
    "events_per_100_patient_days": ("events",),
    "auroc": ("outcome_observations", "negatives"),
    "auprc": ("outcome_observations", "negatives"),
    "brier": ("outcome_observations", "negatives"),
    "calibration_slope": ("outcome_observations", "negatives"),
    "calibration_intercept": ("outcome_observations", "negatives"),
    "mean_probability": ("observations",),
    "outcome_rate": ("outcome_observations", "negatives"),
}
_AT_KEYS: Final = ("at_threshold", "at_news2_alert_rate")
_AT_COUNTS: Final = ("alerts", "true_alerts", "alert_observations", "detected")
_AT_DEPENDS: Final[Mapping[str, tuple[str, ...]]] = {
    "alerts_per_100_patient_days": ("alerts",),
    "alert_observations_per_100_patient_days": ("alert_observations",),
    "sensitivity": ("events", "detected"),
    "ppv": ("alerts", "true_alerts"),
    "nne": ("alerts", "true_alerts"),
    "median_lead_time_hours": ("detected",),
}


def suppress(block: Mapping[str, Any]) -> dict[str, Any]:
    """A group's figures with every count of 1-7, and every figure derived from one, as "*"
    (a figure that could not be computed stays null)."""
    counts = {k: block[k] for k in _COUNTS if isinstance(block.get(k), int)}
    if "observations" in counts and "outcome_observations" in counts:
        counts["negatives"] = counts["observations"] - counts["outcome_observations"]
    out: dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, Mapping) and key in _AT_KEYS:
            inner = {**counts, **{k: value[k] for k in _AT_COUNTS}}
            out[key] = {
                k: "*"
                if v is not None
                and _small(inner, (k,) if k in _AT_COUNTS else _AT_DEPENDS.get(k, ()))
                else v
                for k, v in value.items()
            }
        elif isinstance(value, Mapping):
            out[key] = suppress(value)
        elif key in _COUNTS:
            out[key] = "*" if value in SMALL else value
        else:
            out[key] = "*" if value is not None and _small(counts, _DEPENDS.get(key, ())) else value
    return out


def _small(counts: Mapping[str, int], keys: Iterable[str]) -> bool:
    return any(counts.get(k, 0) in SMALL for k in keys)
