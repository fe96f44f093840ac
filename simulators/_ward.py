"""Simulated wards: beds, patients, nurses' rounds, devices, labs, ADT, clinical events and
ground truth.

Each bed is simulated on its own, from its own seed (`seed`, ward, bed), so a bed's stream
does not change when other beds or wards are added; the streams are then merged in time
order. Everything is a function of the configuration: no clock, no global random state.

A bed's life: a patient is admitted (or is already there at the start), follows a scenario
(`_scenarios`), is observed by nurses at the frequency their last score demands (late more
often at night and on busy shifts), may wear a device that streams a subset of vitals, has
creatinine measured in the morning, and leaves by discharge, ICU transfer or death; after
cleaning, the bed takes the next patient.

What happens to the patient is also published as the clinical events of CONTRACT §9 on
`wards/{ward}/beds/{bed}/event` (`_events`), beside the ground truth: the outcomes
(`rrt-call`, `cardiac-arrest`, `icu-admission`, `death`) at the truth's own times, an
`rrt-call` when a nurse's set calls for an emergency response and the staff escalate,
`sepsis-treatment` when a septic patient's antibiotics are given, `senior-review` when a
doctor reviews an urgent score the staff act on, and the occasional fall and pressure ulcer.
They are drawn from random streams of their own (and numbered on their own), so adding them
changed no other simulated message.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import msgspec
import numpy as np

from ingest import bed_topic
from scoring import LONDON, ChartSet, Context, InvalidObservation, ObservationSet, ScoreResult
from scoring import score as score_set
from simulators._formats import fhir_bundle, hl7v2_oru
from simulators._messages import TRUTH_TOPIC, Message, parse_time, rfc3339
from simulators._physiology import (
    HOUR,
    Baseline,
    Course,
    Effects,
    Floats,
    circadian,
    consciousness,
    distress,
    draw_baseline,
    slow_noise,
    vitals_at,
)
from simulators._population import (
    CATCHMENTS,
    INEQUITIES,
    Person,
    chronic_offsets,
    draw_frailty,
    draw_needs,
    draw_person,
    population,
    spo2_overread,
)
from simulators._scenarios import SCENARIOS, WARD_MIX, WARD_PREFIX, Scenario

Mode = Literal["manual", "continuous", "mixed"]
DEFAULT_START = "2026-11-22T07:00:00Z"
URGENT_RESPONSES = frozenset({"urgent", "rapid-review", "emergency"})
"""Score responses at or above each chart's urgent threshold (NEWS2 ≥5, PEWS medium, MEOWS medium)."""

_MIN = 60.0
_GRID = 300.0  # the slow-noise grid, seconds
_VITALS = ("resp_rate", "heart_rate", "systolic_bp", "spo2", "temperature")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate. Same configuration → same messages, byte for byte.

    Attributes:
        wards: how many wards; their kinds cycle through `ward_kinds`.
        beds: beds per ward.
        hours: simulated duration.
        mode: `manual` (nurses' rounds only), `continuous` (every patient also wears a device)
            or `mixed` (a `device_share` of patients does).
        seed: the seed everything is drawn from.
        start: simulated start, epoch seconds.
        ward_kinds: kinds of ward (`medical`, `surgical`, `children`, `maternity`).
        device_interval: seconds between device readings (1 = 1 Hz).
        device_share: in `mixed` mode, the share of patients with a device.
        fhir_share, hl7_share: shares of devices that speak FHIR R4 or HL7 v2 instead of the
            native JSON (nurses' sets are always native JSON).
        lateness: scales nurses' lateness (0: every set exactly on time, no extra checks).
        scenario: force every admission into this scenario (tests and demos).
        occupancy: the share of beds occupied at the start.
        truth: publish ground truth (scenarios and outcome events) on `simulation/truth`.
        events: publish clinical events (CONTRACT §9) on each bed's `event` topic.
        inequity: inequities to build in (`INEQUITIES`; none by default): `spo2-overread`
            (pulse oximeters over-read SpO2 for Black and Asian patients, so their NEWS2
            under-scores) and `night-escalation` (urgent scores at night acted on later).
        catchment: the stated ethnic mix (`CATCHMENTS`): `england` (Census 2021, the
            default) or `london` (a diverse catchment, Census 2021 London).
    """

    wards: int = 1
    beds: int = 30
    hours: float = 24.0
    mode: Mode = "mixed"
    seed: int = 0
    start: int = field(default_factory=lambda: parse_time(DEFAULT_START))
    ward_kinds: tuple[str, ...] = ("medical", "surgical", "children", "maternity")
    device_interval: int = 60
    device_share: float = 0.3
    fhir_share: float = 0.0
    hl7_share: float = 0.0
    lateness: float = 1.0
    scenario: str | None = None
    occupancy: float = 0.9
    truth: bool = True
    events: bool = True
    inequity: tuple[str, ...] = ()
    catchment: str = "england"

    def __post_init__(self) -> None:
        problems = []
        if self.wards < 1 or self.beds < 1:
            problems.append("--wards and --beds must be at least 1")
        if not 0 < self.hours <= 24 * 365:
            problems.append("--hours must be more than 0 and at most a year")
        if not 1 <= self.device_interval <= 3600:
            problems.append("--device-interval must be 1–3600 seconds (1 Hz at most)")
        for name in ("device_share", "fhir_share", "hl7_share", "occupancy"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name.replace('_', '-')} must be between 0 and 1")
        if self.fhir_share + self.hl7_share > 1:
            problems.append("--fhir-share and --hl7-share add up to more than 1")
        if self.lateness < 0:
            problems.append("--lateness must not be negative")
        unknown = [kind for kind in self.ward_kinds if kind not in WARD_MIX]
        if unknown or not self.ward_kinds:
            named = f"unknown ward kind {unknown[0]!r}; " if unknown else "no ward kind; "
            problems.append(f"{named}known: {', '.join(WARD_MIX)}")
        for name in self.inequity:
            if name not in INEQUITIES:
                problems.append(f"unknown inequity {name!r}; known: {', '.join(INEQUITIES)}")
        if self.catchment not in CATCHMENTS:
            problems.append(f"unknown catchment {self.catchment!r}; known: {', '.join(CATCHMENTS)}")
        if self.scenario is not None and self.scenario not in SCENARIOS:
            problems.append(f"unknown scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def end(self) -> int:
        """Simulated end, epoch seconds (exclusive)."""
        return self.start + round(self.hours * HOUR)


@dataclass(frozen=True, slots=True)
class Ward:
    """A simulated ward."""

    index: int
    name: str
    kind: str


def ward_plan(config: SimConfig) -> list[Ward]:
    """The wards: kinds in turn, named by kind and number (MED1, SURG1, PAED1, MAT1, MED2…)."""
    counts: dict[str, int] = {}
    wards = []
    for index in range(config.wards):
        kind = config.ward_kinds[index % len(config.ward_kinds)]
        counts[kind] = counts.get(kind, 0) + 1
        wards.append(Ward(index, f"{WARD_PREFIX[kind]}{counts[kind]}", kind))
    return wards


def simulate(config: SimConfig, charts: ChartSet) -> Iterator[Message]:
    """Every message of the simulation, in time order (ties: ward, bed, then bed order)."""
    streams = []
    for ward in ward_plan(config):
        loads = _shift_loads(config, ward)
        for bed in range(config.beds):
            streams.append(_Bed(config, ward, bed, loads, charts).run())
    for _, _, _, message in heapq.merge(*streams):
        yield message


def _shift_loads(config: SimConfig, ward: Ward) -> list[float]:
    """How stretched the ward's nurses are, per 12-hour shift (1 = typical)."""
    rng = np.random.default_rng([config.seed, ward.index, 1 << 20])
    shifts = math.ceil(config.hours / 12) + 2
    return [float(x) for x in rng.uniform(0.7, 1.6, shifts)]


# The oxygen ladders: (device, flow L/min, percent, SpO2 rise). Nurses step up when SpO2 is
# below target and down when above; a COPD patient is first given a face mask at 6 L/min
# (the over-oxygenation SPEC §1.2 warns of), then titrated onto a Venturi mask.
_O2 = tuple[str, float | None, float | None, float]
_AIR: _O2 = ("air", None, None, 0.0)
_LADDERS: dict[str, tuple[_O2, ...]] = {
    "adult": (_AIR, ("NP", 2.0, None, 4.0), ("FM", 5.0, None, 7.0), ("NRB", 15.0, None, 10.0)),
    "copd": (_AIR, ("V", None, 24.0, 2.5), ("V", None, 28.0, 4.0), ("FM", 6.0, None, 11.0)),
    "child": (_AIR, ("NP", 1.0, None, 3.5), ("NP", 2.0, None, 5.5), ("HF", 8.0, None, 8.0)),
}
_SUPPORT = frozenset({"on_oxygen", "oxygen_device", "oxygen_flow_lpm", "oxygen_percent"})
_TARGETS = {"adult": (94, 96), "copd": (88, 92), "child": (92, 96)}  # step up below, down above


class _Bed:
    """One bed over the whole simulation."""

    def __init__(
        self, config: SimConfig, ward: Ward, index: int, loads: list[float], charts: ChartSet
    ) -> None:
        self.config = config
        self.ward = ward
        self.bed = str(index + 1)
        self.order = ward.index * 100_000 + index
        self.loads = loads
        self.charts = charts
        self.rng = np.random.default_rng([config.seed, ward.index, index])
        # Clinical events draw from their own stream (and number their own ids), so that
        # publishing them changed nothing else the bed sends.
        self.event_rng = np.random.default_rng([config.seed, ward.index, index, _EVENT_STREAM])
        # Senior reviews draw from a stream of their own too: publishing them changed no
        # other event.
        self.review_rng = np.random.default_rng([config.seed, ward.index, index, _REVIEW_STREAM])
        self.event_ids = 0
        self.out: list[tuple[int, int, int, Message]] = []
        self.counter = 0
        self.ids = 0
        self.encode = msgspec.json.Encoder().encode

    def run(self) -> list[tuple[int, int, int, Message]]:
        config, rng = self.config, self.rng
        t = float(config.start)
        first = rng.random() < config.occupancy
        if not first:
            t += rng.uniform(0, 6 * HOUR)
        stay = 0
        while t < config.end:
            leave = _Stay(self, stay, t, already_here=first and stay == 0).run()
            t = leave + rng.uniform(1, 5) * HOUR  # cleaning, then the next admission
            stay += 1
        self.out.sort(key=lambda item: (item[0], item[2]))
        return self.out

    def emit(self, time: float, kind: str, payload: bytes, *, retain: bool = False) -> None:
        ts = int(time)
        if not self.config.start <= ts < self.config.end:
            return
        topic = TRUTH_TOPIC if kind == "truth" else bed_topic("", self.ward.name, self.bed, kind)
        self.counter += 1
        self.out.append((ts, self.order, self.counter, Message(ts, topic, payload, retain)))

    def msg_id(self, kind: str) -> str:
        self.ids += 1
        return f"{kind}-s{self.config.seed}-{self.ward.name}-{self.bed}-{self.ids}"

    def event_id(self) -> str:
        self.event_ids += 1
        return f"ev-s{self.config.seed}-{self.ward.name}-{self.bed}-{self.event_ids}"


class _Stay:
    """One patient's stay in a bed: draws the patient, then produces every message."""

    def __init__(self, bed: _Bed, number: int, arrive: float, *, already_here: bool) -> None:
        self.bed = bed
        self.rng = rng = bed.rng
        config = bed.config
        # Who the patient is comes from a stream of its own: the equity fields changed no
        # child's or woman's vital sign, and an adult's age and frailty are drawn first,
        # because frailty makes deterioration more likely (`_scenario`).
        self.person_rng = np.random.default_rng(
            [config.seed, bed.ward.index, int(bed.bed) - 1, number, _PERSON_STREAM]
        )
        self.patient_id = f"P{bed.ward.index + 1:02d}{int(bed.bed):03d}{number:03d}"
        self.already_here = already_here
        self.arrive = arrive
        self.inequity = frozenset(config.inequity)
        self.scenario: Scenario = self._scenario()
        self.cohort = self.scenario.cohort
        if self.cohort != "adult":
            self.age_months = self._age_months()
        scale2 = self.scenario.copd
        person = draw_person(
            self.person_rng,
            self.cohort,
            frailty=self.frailty,
            copd=scale2,
            catchment=config.catchment,
        )
        # Recorded needs from a stream of their own: adding them changed no other draw.
        needs_rng = np.random.default_rng(
            [config.seed, bed.ward.index, int(bed.bed) - 1, number, _NEEDS_STREAM]
        )
        needs = draw_needs(needs_rng, self.cohort, self.age_months / 12)
        self.person: Person = replace(person, needs=needs)
        self.ladder = "copd" if scale2 else ("child" if self.cohort == "child" else "adult")
        baseline = draw_baseline(
            rng,
            self.cohort,
            age_months=self.age_months,
            phase=self.scenario.phase,
            copd=scale2,
        )
        self.baseline: Baseline = _with_chronic(baseline, self.person.chronic, self.frailty)
        frailty = population()["frailty"]
        self.effects: Effects = replace(
            self.scenario.effects,
            heart_rate=self.scenario.effects.heart_rate
            * (1 - float(frailty["hr_blunting"]) * self.frailty),
        )
        self.slower = 1 + float(frailty["recovery"]) * self.frailty  # recovery half-lives
        self.reserve = 1 - float(frailty["threshold_drop"]) * self.frailty  # outcome severities
        self.course = self._course()
        self.leave = self._planned_leave()
        self.device = self._device()
        n = int((self.leave - arrive) // _GRID) + 2
        self.slow = {v: slow_noise(rng, n, _GRID) * 0.8 * self.baseline.noise[v] for v in _VITALS}
        self.o2_changes: list[tuple[float, int]] = [(arrive, 0)]
        self.context = self._context()
        self.creatinine = float(rng.normal(80 if self.cohort == "adult" else 60, 15))
        self.emergencies: list[float] = []  # nurses' sets that called for an emergency response
        self.responded_at: float | None = None  # when an urgent score was first acted on
        self.plan_until = -math.inf  # a reviewed adult's 4-hourly observations last until
        # Urgent scores a doctor reviewed: (the score's time, the delay until the treatment the
        # review started takes effect, None when the review changed only the plan or did not
        # turn the illness, and the extra wait of `night-escalation`); published as
        # `senior-review` events (`_events`).
        self.reviews: list[tuple[float, float | None, float]] = []

    # -- the patient ----------------------------------------------------------------------

    def _scenario(self) -> Scenario:
        """The scenario: forced, or drawn from the ward's mix. An adult's age and frailty are
        drawn first (from the patient's own stream), and the deteriorating scenarios are
        weighted up in the frail."""
        config, kind = self.bed.config, self.bed.ward.kind
        forced = config.scenario
        adult = SCENARIOS[forced].cohort == "adult" if forced else kind in ("medical", "surgical")
        self.frailty = 0.0
        if adult:
            self.age_months = float(np.clip(self.person_rng.normal(68, 16), 18, 99) * 12)
            self.frailty = draw_frailty(self.person_rng, self.age_months / 12)
        if forced is not None:
            return SCENARIOS[forced]
        mix = dict(WARD_MIX[kind])
        if adult:
            frailty = population()["frailty"]
            weight = max(
                0.2,
                1 + float(frailty["deterioration"]) * (self.frailty - float(frailty["reference"])),
            )
            mix = {
                name: share * (weight if SCENARIOS[name].course == "rising" else 1.0)
                for name, share in mix.items()
            }
        return SCENARIOS[str(self.rng.choice(list(mix), p=_normalised(mix.values())))]

    def _age_months(self) -> float:
        scenario, rng = self.scenario, self.rng
        if self.cohort == "child":
            if scenario.max_age_months is not None:
                return float(rng.uniform(1, scenario.max_age_months))
            band = rng.choice(4, p=[0.3, 0.3, 0.25, 0.15])
            low, high = ((1, 12), (12, 60), (60, 156), (156, 215))[band]
            return float(rng.uniform(low, high))
        if self.cohort == "maternity":
            return float(rng.uniform(18, 44) * 12)
        return float(np.clip(rng.normal(68, 16), 18, 99) * 12)

    def _course(self) -> Course:
        scenario, rng, config = self.scenario, self.rng, self.bed.config
        start = max(self.arrive, float(config.start))
        if scenario.course == "stable":
            return Course(start=start)
        if scenario.course == "recovering":
            return Course(
                start=start,
                initial=float(rng.uniform(*scenario.peak)),
                half_life=scenario.half_life_hours * HOUR * self.slower,
            )
        rise = float(rng.uniform(*scenario.rise_hours)) * HOUR
        if scenario.onset_hours is not None and not self.already_here:
            low, high = scenario.onset_hours
            onset = start + float(rng.uniform(low, high)) * HOUR
        else:
            latest = max(start + HOUR, config.end - rise - 2 * HOUR)
            onset = float(rng.uniform(start + HOUR, max(start + 1.5 * HOUR, latest)))
        return Course(
            start=start,
            onset=onset,
            rise=rise,
            peak=float(rng.uniform(*scenario.peak)),
            half_life=scenario.half_life_hours * HOUR * self.slower,
        )

    def _planned_leave(self) -> float:
        rng, config = self.rng, self.bed.config
        start = max(self.arrive, float(config.start))
        if self.scenario.course == "rising":
            leave = self.course.onset + self.course.rise + rng.uniform(24, 72) * HOUR
        elif self.already_here:
            leave = start + rng.uniform(2, 96) * HOUR
        else:
            leave = start + rng.lognormal(math.log(60), 0.6) * HOUR
        # Discharges happen in the day: move one that falls at night to the next morning.
        local = datetime.fromtimestamp(leave, LONDON)
        if not 10 <= local.hour < 19:
            morning = local.replace(hour=10, minute=0, second=0)
            if local.hour >= 19:
                morning += timedelta(days=1)
            leave = morning.timestamp() + rng.uniform(0, 8) * HOUR
        return leave

    def _device(self) -> str | None:
        config, rng = self.bed.config, self.rng
        wears = config.mode == "continuous" or (
            config.mode == "mixed" and rng.random() < config.device_share
        )
        if not wears:
            return None
        draw = rng.random()
        if draw < config.fhir_share:
            return "fhir"
        if draw < config.fhir_share + config.hl7_share:
            return "hl7v2"
        return "obs"

    def _context(self) -> Context:
        birth = self._birth_date()
        return Context(
            patient_id=self.patient_id,
            cohort=self.cohort,
            birth_date=birth,
            spo2_scale=2 if self.scenario.copd else 1,
        )

    def _birth_date(self) -> date:
        start = datetime.fromtimestamp(self.bed.config.start, UTC).date()
        return start - timedelta(days=round(self.age_months * 30.4375))

    # -- the stay -------------------------------------------------------------------------

    def run(self) -> float:
        """Produce the stay's messages; returns when the patient left the bed."""
        bed, config = self.bed, self.bed.config
        admitted = max(self.arrive, float(config.start))
        rounds = self._rounds(admitted)
        outcomes, exit_at = self._outcomes(admitted)
        leave = min(self.leave, exit_at)
        self._admit(admitted)
        for time, kind, payload in rounds:
            if time < leave:
                bed.emit(time, kind, payload)
        if self.device is not None:
            self._device_stream(admitted, min(leave, config.end))
        if self.cohort != "child":
            self._labs(admitted, min(leave, config.end))
        for time, event in outcomes:
            if time <= leave:
                self._truth(time, {"kind": "outcome", "event": event})
        if config.events:
            for time, kind, extra in self._events(admitted, leave, outcomes):
                self._event(time, kind, extra)
        if leave < config.end:
            self._adt(leave, "discharge")
        return leave

    def _admit(self, admitted: float) -> None:
        event = "admit"
        if not self.already_here and self.rng.random() < 0.3:
            event = "transfer"  # arriving from a ward or unit that is not simulated
        self._adt(admitted, event)
        onset = self.course.onset
        self._truth(
            admitted,
            {
                "kind": "scenario",
                "scenario": self.scenario.name,
                "onset": None if math.isinf(onset) else rfc3339(int(onset)),
                "frailty": round(self.frailty, 3),
                "chronic": list(self.person.chronic),
            },
        )

    def _adt(self, time: float, event: str) -> None:
        payload: dict[str, Any] = {
            "msg_id": self.bed.msg_id("adt"),
            "time": rfc3339(int(time)),
            "event": event,
            "patient_id": self.patient_id,
            "initials": initials(self.patient_id),
            "cohort": self.cohort,
            "birth_date": self.context.birth_date.isoformat() if self.context.birth_date else None,
            "spo2_scale": self.context.spo2_scale,
            "sex": self.person.sex,
            "ethnicity": self.person.ethnicity,
            "imd_decile": self.person.imd_decile,
        }
        if self.person.needs:  # CONTRACT §2: left out when none is recorded
            payload["needs"] = list(self.person.needs)
        if self.cohort == "maternity":
            if self.scenario.phase == "antenatal":
                payload["gestation_weeks"] = round(float(self.rng.uniform(24, 41)), 1)
            else:
                payload["postnatal_days"] = 0 if self.scenario.course == "rising" else 1
        self.bed.emit(time, "adt", self.bed.encode(payload), retain=True)

    def _event(self, time: float, kind: str, extra: dict[str, Any]) -> None:
        """A clinical event (CONTRACT §9), published when it happened."""
        payload = {
            "msg_id": self.bed.event_id(),
            "time": rfc3339(int(time)),
            "patient_id": self.patient_id,
            "event": kind,
            **extra,
        }
        self.bed.emit(time, "event", self.bed.encode(payload))

    def _events(
        self, admitted: float, leave: float, outcomes: list[tuple[float, str]]
    ) -> list[tuple[float, str, dict[str, Any]]]:
        """The stay's clinical events in time order: (time, kind, the optional fields)."""
        rng, cohort = self.bed.event_rng, self.cohort
        found: list[tuple[float, str, dict[str, Any]]] = []
        for time, outcome in outcomes:
            if time <= leave:
                kind = _OUTCOME_EVENTS[outcome]
                found.append((time, kind, {"by": _BY[kind].get(cohort, _BY[kind]["adult"])}))
        # The staff escalate a set that calls for an emergency response, most of the time,
        # unless a call was made within `_CALL_GAP` (one call per episode, not per set).
        calls = [t for t, kind, _ in found if kind == "rrt-call"]
        for t in self.emergencies:
            call = t + float(rng.uniform(5, 30)) * _MIN
            recent = any(abs(call - other) < _CALL_GAP for other in calls)
            if rng.random() < _ESCALATE and not recent and call < leave:
                calls.append(call)
                found.append((call, "rrt-call", {"by": _BY["rrt-call"].get(cohort, "outreach")}))
        if "sepsis" in self.scenario.name and self.responded_at is not None:
            given = self.responded_at + float(rng.uniform(20, 60)) * _MIN  # the sepsis hour
            if given < leave:
                found.append((given, "sepsis-treatment", {"by": "ward doctor"}))
        days = max(0.0, leave - admitted) / (24 * HOUR)
        old = self.age_months >= 75 * 12
        rising = self.scenario.course == "rising"
        fall_rate = _FALLS[cohort] * (1.8 if old else 1.0) * (1.5 if rising else 1.0)
        for _ in range(int(rng.poisson(fall_rate * days))):
            when = float(rng.uniform(admitted, leave))
            found.append((when, "fall", {"by": "ward nurse"}))
        if cohort == "adult":
            ulcer_rate = _PRESSURE_ULCERS * (2.0 if old else 1.0) * (2.0 if rising else 1.0)
            for _ in range(int(rng.poisson(ulcer_rate * days))):
                when = float(rng.uniform(admitted, leave))
                category = int(rng.choice(4, p=_ULCER_CATEGORIES)) + 1
                extra = {"by": "tissue viability nurse", "category": category}
                found.append((when, "pressure-ulcer", extra))
        # A senior review (registrar or above) of each urgent score the staff acted on (the
        # review comes before the treatment it starts), from the bed's review stream.
        for scored, delay, later in self.reviews:
            wait = float(self.bed.review_rng.uniform(*_REVIEW_MINUTES)) * _MIN
            if delay is not None:  # the review that started it, before it took effect
                wait = min(wait, 0.8 * delay)
            when = scored + wait + later  # night-escalation: the doctor comes later
            if when < leave:
                found.append((when, "senior-review", {"by": _REVIEWER[cohort]}))
        found.sort(key=lambda e: e[0])
        return found

    def _truth(self, time: float, fields: dict[str, Any]) -> None:
        if not self.bed.config.truth:
            return
        payload = {
            "msg_id": self.bed.msg_id("truth"),
            "time": rfc3339(int(time)),
            "patient_id": self.patient_id,
            "ward": self.bed.ward.name,
            "bed": self.bed.bed,
            **fields,
        }
        self.bed.emit(time, "truth", self.bed.encode(payload))

    # -- nurses' rounds -------------------------------------------------------------------

    def _rounds(self, admitted: float) -> list[tuple[float, str, bytes]]:
        rng, config = self.rng, self.bed.config
        if self.already_here:  # the last set was before the start: the next falls due soon
            t = admitted + rng.uniform(0, 4) * HOUR * min(1.0, config.lateness or 1.0)
        else:
            t = admitted + rng.uniform(0, 15) * _MIN
        sets: list[tuple[float, str, bytes]] = []
        end = min(self.leave, float(config.end))
        while t < end:
            payload, result, refused = self._manual_set(t)
            sets.append((t, "obs", payload))
            self._treat(t, result)
            interval = 1 * HOUR if refused else _interval(result)
            if t < self.plan_until and not refused and result.total < 7:
                interval = max(interval, _PLANNED)
            t = self._next_set(t, interval)
        return sets

    def _manual_set(self, t: float) -> tuple[bytes, ScoreResult, bool]:
        rng = self.rng
        s = self.course.at(t)
        reading = self._readings(np.array([t]), noise=0.6)
        values = {k: float(v[0]) for k, v in reading.items()}
        vitals = self._chart_vitals(values, s, t)
        not_recorded: dict[str, str] = {}
        refused = rng.random() < 0.015
        if refused:
            measured = [k for k in vitals if k not in _SUPPORT]
            not_recorded = dict.fromkeys(measured, "refused")
            vitals = {}
        elif rng.random() < 0.05:  # a partial set, with its reason
            keys = [("systolic_bp", "diastolic_bp"), ("temperature",), ("resp_rate",)]
            dropped = keys[int(rng.integers(len(keys)))]
            reason = ("asleep", "refused", "unable", "equipment unavailable")[int(rng.integers(4))]
            for key in dropped:
                if vitals.pop(key, None) is not None:
                    not_recorded[key] = reason
        elif rng.random() < 0.02:  # forgotten, no reason given
            vitals.pop("temperature", None)
        payload: dict[str, Any] = {
            "msg_id": self.bed.msg_id("obs"),
            "patient_id": self.patient_id,
            "time": rfc3339(int(t)),
            "source": "manual",
            "vitals": vitals,
        }
        if not_recorded:
            payload["not_recorded"] = not_recorded
        if "spo2" in vitals:
            self._titrate(t, vitals["spo2"])
        encoded = self.bed.encode(payload)
        obs = msgspec.json.decode(encoded, type=ObservationSet)
        try:
            result = score_set(obs, self.context, self.bed.charts)
        except InvalidObservation as exc:  # a simulator bug: say exactly what was made
            msg = f"simulated set refused by the scorer: {encoded.decode()}: {exc}"
            raise AssertionError(msg) from exc
        return encoded, result, refused

    def _chart_vitals(self, v: dict[str, float], s: float, t: float) -> dict[str, Any]:
        rng, effects = self.rng, self.effects
        device, flow, percent, _ = _LADDERS[self.ladder][self._o2_step(t)]
        rr = v["resp_rate"]
        rr_counted = 2 * round(rr / 2) if rng.random() < 0.5 else round(rr)  # digit preference
        vitals: dict[str, Any] = {"resp_rate": max(4, rr_counted), "spo2": round(v["spo2"])}
        if self.cohort == "child":
            vitals["resp_distress"] = distress(effects, s)
            vitals["oxygen_device"] = device
        else:
            vitals["on_oxygen"] = device != "air"
            if device != "air":
                vitals["oxygen_device"] = device
        if flow is not None:
            vitals["oxygen_flow_lpm"] = flow
        if percent is not None:
            vitals["oxygen_percent"] = percent
        if self.cohort == "child" and self.age_months < 60 and rng.random() < 0.4:
            vitals["bp_code"] = "NCO"  # BP not clinically indicated in a well young child
        else:
            vitals["systolic_bp"] = round(v["systolic_bp"])
            vitals["diastolic_bp"] = round(v["diastolic_bp"])
        vitals["heart_rate"] = round(v["heart_rate"])
        vitals["consciousness"] = consciousness(
            effects, s + 0.04 * float(rng.standard_normal()), acvpu=self.cohort != "child"
        )
        vitals["temperature"] = round(v["temperature"], 1)
        if self.cohort == "child":
            crt = 1 + effects.crt * s + 0.5 * float(rng.random())
            vitals["crt_seconds"] = min(8, round(crt))
            vitals["carer_question"] = self._carer(s, t)
            vitals["concern"] = _concern_level(s, rng)
        elif self.cohort == "maternity" and s > 0.6 and rng.random() < 0.5:
            vitals["concern"] = True
        return vitals

    def _carer(self, s: float, t: float) -> str:
        if self.rng.random() < 0.05:
            return "U"
        if s > 0.4 and self.course.at(t - HOUR) < s:
            return "W" if self.rng.random() < 0.7 else "S"
        if s > 0.2 and self.course.at(t - HOUR) > s:
            return "B"
        return "S"

    def _treat(self, t: float, result: ScoreResult) -> None:
        """An urgent score on a deteriorating patient gets a response, which may turn the course."""
        course, rng = self.course, self.rng
        if result.response == "emergency":  # stable but abnormal patients too: false calls
            self.emergencies.append(t)
        if (
            self.cohort == "adult"
            and result.response in URGENT_RESPONSES
            and t >= self.plan_until
            and self._not_deteriorating(t)
        ):
            # The doctor who reviews the urgent score finds a patient who is not
            # deteriorating (chronically abnormal, recovering, or responding to treatment)
            # and writes "observe 4-hourly unless NEWS2 reaches 7" for the next day (NEWS2
            # leaves the frequency to clinical judgement after review).
            self.plan_until = t + 24 * HOUR
            self._truth(t, {"kind": "review", "until": rfc3339(int(self.plan_until))})
            self.reviews.append((t, None, 0.0))
        if course.initial or course.treated_at is not None or course.peak == 0:
            return
        if result.response not in URGENT_RESPONSES:
            return
        self.responded_at = t
        if rng.random() < self.scenario.treat_probability:
            delay = rng.uniform(30, 120) * _MIN
            later = 0.0
            if "night-escalation" in self.inequity and _is_night(t):
                low, high = population()["inequity"]["night-escalation"]["delay_hours"]
                later = self.person_rng.uniform(low, high) * HOUR
            self.course = replace(course, treated_at=t + delay + later)
            self.reviews.append((t, delay, later))
        else:  # this time the response did not turn things round: a later one does
            late = _LATE_TREATMENT[0] + (_LATE_TREATMENT[1] - _LATE_TREATMENT[0]) * rng.random()
            self.course = replace(course, treated_at=t + late * HOUR)
            self.reviews.append((t, None, 0.0))

    def _not_deteriorating(self, t: float) -> bool:
        """What a reviewing doctor concludes: the patient is well at heart, recovering, or
        already responding to treatment."""
        course = self.course
        treated = course.treated_at is not None and course.treated_at <= t
        return course.at(t) < _REVIEWED_STABLE or course.initial > 0 or treated

    def _next_set(self, t: float, interval: float) -> float:
        rng, config = self.rng, self.bed.config
        on_time = t + interval
        local = datetime.fromtimestamp(on_time, LONDON)
        night = local.hour >= 22 or local.hour < 7
        loads = self.bed.loads
        load = loads[min(len(loads) - 1, int((on_time - config.start) // (12 * HOUR)))]
        minutes = interval / _MIN
        late = rng.lognormal(math.log(4 + 0.08 * minutes), 0.7) * load * (1.6 if night else 1.0)
        if rng.random() < 0.1:
            late = -rng.uniform(0, 0.08 * minutes)  # done early, with the round
        due = t + interval + late * _MIN * config.lateness
        if config.lateness > 0:  # concern: a nurse who sees the patient worsening checks early
            # (an adult's decline is seen later and less often than a child's or a mother's:
            # the adult wards' missed deteriorations, Pankhurst 2022's sensitivity of 0.46)
            concern, chance = _ADULT_CONCERN if self.cohort == "adult" else (0.45, 0.5)
            look = t + (15 + rng.exponential(60)) * _MIN
            while look < due:
                if self.course.at(look) > concern and rng.random() < chance:
                    return look
                look += rng.exponential(60) * _MIN
        return due

    def _titrate(self, t: float, spo2: int) -> None:
        """The nurse steps the oxygen ladder by the SpO2 just measured (SPEC §1.2 targets)."""
        low, high = _TARGETS[self.ladder]
        step = self._o2_step(t)
        top = len(_LADDERS[self.ladder]) - 1
        new = step
        if spo2 < low and step < top:
            new = top if self.ladder == "copd" and step == 0 else step + 1
        elif spo2 > high and step > 0 and t - self.o2_changes[-1][0] >= 2 * HOUR:
            new = step - 1  # wean, once the current step has held for a couple of hours
        if new != step:
            self.o2_changes.append((t + _MIN, new))

    def _o2_step(self, t: float) -> int:
        """The oxygen ladder step in force at `t` (`o2_changes` is in time order)."""
        return self.o2_changes[max(0, bisect_right(self.o2_changes, (t, math.inf)) - 1)][1]

    # -- devices, labs, outcomes ----------------------------------------------------------

    def _readings(self, times: Floats, *, noise: float) -> dict[str, Floats]:
        """Vitals at `times`, with measurement noise `noise` × each vital's spread."""
        rng = self.rng
        index = np.clip(
            ((times - self.arrive) // _GRID).astype(np.int64), 0, len(self.slow["spo2"]) - 1
        )
        slow = {v: self.slow[v][index] for v in _VITALS}
        change_times = np.array([c[0] for c in self.o2_changes])
        change_steps = np.array([c[1] for c in self.o2_changes])
        at = np.searchsorted(change_times, times, side="right") - 1
        steps = change_steps[np.maximum(at, 0)]
        boosts = np.array([rung[3] for rung in _LADDERS[self.ladder]])[steps]
        values = vitals_at(
            self.baseline,
            self.effects,
            s=self.course.severity(times),
            day=circadian(times),
            slow=slow,
            boost=boosts,
        )
        for vital in values:
            spread = self.baseline.noise.get(vital, self.baseline.noise["systolic_bp"])
            values[vital] = values[vital] + noise * spread * rng.standard_normal(len(times))
        if "spo2-overread" in self.inequity:  # what the oximeter reads, not the blood
            values["spo2"] = spo2_overread(values["spo2"], self.person.ethnic_group)
        values["spo2"] = np.minimum(values["spo2"], 100.0)
        values["diastolic_bp"] = np.minimum(values["diastolic_bp"], values["systolic_bp"] - 15)
        for vital, (low, high) in _LIMITS.items():
            np.clip(values[vital], low, high, out=values[vital])
        return values

    def _device_stream(self, admitted: float, until: float) -> None:
        rng, config, bed = self.rng, self.bed.config, self.bed
        step = config.device_interval
        times = np.arange(admitted + rng.uniform(0, step), until, step)
        if not len(times):
            return
        keep = np.ones(len(times), dtype=bool)
        hours = (until - admitted) / HOUR
        for _ in range(rng.poisson(0.03 * hours)):  # dropouts of a few minutes
            begin = rng.uniform(admitted, until)
            keep &= ~((times >= begin) & (times < begin + rng.uniform(2, 20) * _MIN))
        if rng.random() < 0.15 * min(1.0, hours / 24):  # the device falls silent for hours
            begin = rng.uniform(admitted, until)
            keep &= ~((times >= begin) & (times < begin + rng.uniform(1, 8) * HOUR))
        times = times[keep]
        values = self._readings(times, noise=0.8)
        n = len(times)
        motion = rng.random(n) < 0.01
        values["heart_rate"] += motion * rng.uniform(25, 60, n)
        values["spo2"] -= motion * rng.uniform(4, 15, n)
        probe_off = rng.random(n) < 0.01
        # A probe slipping off a finger reads falsely low for a minute or few before it
        # loses the signal: runs of SpO2 70–85 % (about three a day), the false alarms of
        # continuous oximetry.
        for _ in range(rng.poisson(_SLIPS_PER_DAY * hours / 24)):
            begin = rng.uniform(admitted, until)
            slip = (times >= begin) & (times < begin + rng.uniform(1, 5) * _MIN)
            values["spo2"] = np.where(slip, rng.uniform(70, 85), values["spo2"])
        zero = rng.random(n) < 0.0005  # a device that sends 0 for "no reading"
        source = "monitor" if self.cohort == "child" else "wearable"
        hr = np.rint(values["heart_rate"]).astype(np.int64).tolist()
        rr = np.rint(values["resp_rate"]).astype(np.int64).tolist()
        spo2 = np.rint(np.clip(values["spo2"], 50, 100)).astype(np.int64).tolist()
        for i, t in enumerate(times.tolist()):
            vitals: dict[str, Any] = {"heart_rate": hr[i], "resp_rate": rr[i]}
            if zero[i]:
                vitals["spo2"] = 0
            elif not probe_off[i]:
                vitals["spo2"] = spo2[i]
            msg_id = bed.msg_id(self.device or "obs")
            obs_payload = {
                "msg_id": msg_id,
                "patient_id": self.patient_id,
                "time": rfc3339(int(t)),
                "source": source,
                "vitals": vitals,
            }
            if self.device == "obs":
                bed.emit(t, "obs", bed.encode(obs_payload))
                continue
            obs = msgspec.convert(obs_payload, ObservationSet)
            device_id = f"{source}-{bed.ward.name}-{bed.bed}"
            if self.device == "fhir":
                bed.emit(t, "fhir", fhir_bundle(obs, device_id=device_id))
            else:
                payload = hl7v2_oru(obs, ward=bed.ward.name, bed=bed.bed, device_id=device_id)
                bed.emit(t, "hl7v2", payload)

    def _labs(self, admitted: float, until: float) -> None:
        """Creatinine (µmol/L): on admission, then with the morning bloods."""
        rng = self.rng
        times = [] if self.already_here else [admitted + rng.uniform(30, 90) * _MIN]
        day = datetime.fromtimestamp(admitted, LONDON).replace(hour=6, minute=0, second=0)
        while day.timestamp() < until:
            if day.timestamp() > admitted:
                times.append(day.timestamp() + rng.uniform(0, 90) * _MIN)
            day += timedelta(days=1)
        for t in sorted(times):
            if t >= until:
                continue
            injury = self.effects.creatinine * max(0.0, self.course.at(t - 6 * HOUR))
            value = self.creatinine * (1 + injury) * (1 + 0.04 * float(rng.standard_normal()))
            payload = {
                "msg_id": self.bed.msg_id("lab"),
                "patient_id": self.patient_id,
                "time": rfc3339(int(t)),
                "test": "creatinine",
                "value": round(value),
                "unit": "umol/L",
            }
            self.bed.emit(t, "labs", self.bed.encode(payload))

    def _outcomes(self, admitted: float) -> tuple[list[tuple[float, str]], float]:
        """Outcome events that follow severity with a delay; and when the patient leaves by one."""
        rng = self.rng
        if self.course.peak == 0 and not self.course.initial:
            return [], math.inf
        grid = np.arange(admitted, self.leave, _GRID)
        s = self.course.severity(grid)

        def first(threshold: float) -> float:
            above = np.flatnonzero(s >= threshold)
            return float(grid[above[0]]) if len(above) else math.inf

        events: list[tuple[float, str]] = []
        call = first(0.8) + rng.uniform(15, 45) * _MIN
        if call < math.inf:
            events.append((call, "rapid-response-call"))
        exit_at = math.inf
        # The frail go to ICU or arrest at a lower severity (`reserve`, `_population`).
        icu_at = self.scenario.icu_at * self.reserve
        arrest_at = self.scenario.arrest_at * self.reserve
        arrest = first(arrest_at) + rng.uniform(5, 45) * _MIN
        if arrest < math.inf and self.course.at(arrest) >= arrest_at - 0.2:
            events.append((arrest, "cardiac-arrest"))
            if rng.random() < 0.6:
                exit_at = arrest + rng.uniform(10, 40) * _MIN
                events.append((exit_at, "death"))
            else:
                exit_at = arrest + rng.uniform(30, 60) * _MIN
                events.append((exit_at, "icu-transfer"))
        icu = first(icu_at) + rng.uniform(90, 300) * _MIN  # review, referral, a bed
        if icu < exit_at and self.course.at(icu) >= icu_at - 0.2:
            exit_at = icu
            events = [e for e in events if e[0] < icu]
            events.append((icu, "icu-transfer"))
        events.sort()
        return [e for e in events if e[0] <= exit_at], exit_at


_EVENT_STREAM = 1 << 21
"""The last word of the seed of a bed's clinical-event stream (`_Bed.event_rng`)."""

_LATE_TREATMENT = (10.0, 24.0)
"""Hours after a first response that did not turn the illness, when a later one does (an
illness left to plateau for days would keep a patient at an emergency score for days)."""

_ADULT_CONCERN = (0.5, 0.4)
"""An adult nurse checks early when severity passes 0.5, at each look with this chance."""

_SLIPS_PER_DAY = 3.0
"""Runs of falsely low SpO2 from a slipping probe, per device-day."""

_PLANNED = 4 * HOUR
"""The observation interval a reviewing doctor sets for a patient who is not deteriorating."""

_REVIEWED_STABLE = 0.35
"""The severity below which a review finds an adult who is not deteriorating."""

_REVIEW_STREAM = 1 << 24
"""The last word of the seed of a bed's senior-review stream (`_Bed.review_rng`)."""

_PERSON_STREAM = 1 << 22
"""The last word of the seed of a patient's own stream (`_Stay.person_rng`): who they are."""

_NEEDS_STREAM = 1 << 23
"""The last word of the seed of a patient's recorded needs' stream (`population.toml`)."""


def _with_chronic(baseline: Baseline, chronic: tuple[str, ...], frailty: float) -> Baseline:
    """The resting values of a patient with these chronic conditions and this frailty
    (`population.toml`: frailty shows a little at rest, as faster breathing and lower SpO2)."""
    if not chronic and frailty == 0:
        return baseline
    offsets, noise = chronic_offsets(chronic)
    visible = population()["frailty"]["at_rest"]
    for vital, per_unit in visible.items():
        offsets[vital] = offsets.get(vital, 0.0) + float(per_unit) * frailty
    return replace(
        baseline,
        resp_rate=baseline.resp_rate + offsets.get("resp_rate", 0.0),
        heart_rate=baseline.heart_rate + offsets.get("heart_rate", 0.0),
        systolic_bp=baseline.systolic_bp + offsets.get("systolic_bp", 0.0),
        diastolic_bp=baseline.diastolic_bp + 0.55 * offsets.get("systolic_bp", 0.0),
        spo2=min(99.4, baseline.spo2 + offsets.get("spo2", 0.0)),
        noise={k: v * noise.get(k, 1.0) for k, v in baseline.noise.items()},
    )


_OUTCOME_EVENTS = {
    "rapid-response-call": "rrt-call",
    "cardiac-arrest": "cardiac-arrest",
    "death": "death",
    "icu-transfer": "icu-admission",
}
"""The ground truth's outcome names → CONTRACT §9 events."""

_BY: dict[str, dict[str, str]] = {
    "rrt-call": {"adult": "outreach", "child": "paediatric outreach", "maternity": "outreach"},
    "cardiac-arrest": {
        "adult": "resus team",
        "child": "paediatric resus team",
        "maternity": "obstetric emergency team",
    },
    "death": {"adult": "ward doctor"},
    "icu-admission": {"adult": "critical care", "child": "PICU retrieval team"},
}
"""Who records each outcome, by cohort (adult's when the cohort is not named)."""

_ESCALATE = 0.7
"""The share of emergency-response sets after which the staff call the rapid response team
(audits find the call is often not made: Ludikhuize 2012)."""

_CALL_GAP = 8 * HOUR
"""A patient still scoring an emergency response within this long of a call is already known
to the team: no second call."""

_REVIEW_MINUTES = (10.0, 90.0)
"""Minutes from an urgent score the staff act on to the senior review (a simulation parameter;
RCP NEWS2 asks for an urgent review by a clinician competent in acute illness for 5-6 and an
emergency one for 7+; audits find many take longer than an hour: NCEPOD 2005, "An Acute
Problem?"). Never after the treatment the review started."""

_REVIEWER = {
    "adult": "medical registrar",
    "child": "paediatric registrar",
    "maternity": "obstetric registrar",
}
"""Who records a senior review, by cohort."""

_FALLS = {"adult": 0.006, "maternity": 0.002, "child": 0.001}
"""Inpatient falls per patient-day (about 6.6 per 1,000 occupied bed-days in English acute
hospitals, Royal College of Physicians' National Audit of Inpatient Falls); times 1.8 at 75 or
over, 1.5 for a deteriorating patient."""

_PRESSURE_ULCERS = 0.0015
"""Newly acquired pressure ulcers per adult patient-day (of the order of 1 per 1,000
bed-days, NHS Safety Thermometer); times 2 at 75 or over, and 2 for a deteriorating patient."""

_ULCER_CATEGORIES = (0.35, 0.45, 0.15, 0.05)
"""The share of new pressure ulcers of category 1, 2, 3 and 4."""

_LIMITS = {
    "resp_rate": (4.0, 100.0),
    "heart_rate": (25.0, 240.0),
    "systolic_bp": (45.0, 250.0),
    "diastolic_bp": (20.0, 150.0),
    "spo2": (60.0, 100.0),
    "temperature": (33.0, 42.0),
}


def _interval(result: ScoreResult) -> float:
    if result.next_obs_due is None:
        return 4 * HOUR
    return (result.next_obs_due - result.time).total_seconds()


def _concern_level(s: float, rng: np.random.Generator) -> bool | str:
    if s < 0.6 or rng.random() < 0.5:
        return False
    return "high" if s > 1.1 else "medium"


def _is_night(t: float) -> bool:
    """22:00 to 07:00 hospital time."""
    hour = datetime.fromtimestamp(t, LONDON).hour
    return hour >= 22 or hour < 7


def _normalised(weights: Any) -> list[float]:
    values = [float(w) for w in weights]
    total = sum(values)
    return [w / total for w in values]


_INITIALS = "ABCDEFGHJKLMNPRSTW"
"""Letters that start most British given names and surnames (no I, O, Q, U, V, X, Y, Z)."""


def initials(patient_id: str) -> str:
    """Made-up initials for a simulated patient, from a hash of the id (not the seeded random
    stream, so adding them changed no other simulated value)."""
    digest = hashlib.sha256(patient_id.encode()).digest()
    return _INITIALS[digest[0] % len(_INITIALS)] + _INITIALS[digest[1] % len(_INITIALS)]
