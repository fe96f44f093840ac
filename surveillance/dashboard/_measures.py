"""The safety dashboard's measures: what each counts, exactly, and its direction; pure.

Each measure turns the `Facts` into `Item`s, one per thing counted, each with its time (which
period), ward, patient (which equity groups) and its part of the numerator and denominator:

- a *proportion* (shown as %): one item per case in the denominator, numerator 1 or 0;
- a *rate* (per 100 or 1,000 of its exposure): one item per event (numerator 1); its
  `exposure` gives one item per piece (denominator 1 for an admission, days for patient-days,
  split at period bounds), shared by every rate of that exposure;
- a *median* (minutes): one item per case in the denominator (numerator 0), and one more
  (numerator 1, denominator 0) with its `value`, the minutes, once it has one.

Items are made as of infinity, each with `decided`, when its outcome became known in event
time (None: at its own `time`); a dashboard as of `until` counts an item only once decided
before `until` (`Item.visible`), so that an outcome that changes (an AKI wait escalated, then
acknowledged) is two items: (0, 1) decided at the escalation and (1, 0) at the acknowledgement.

An exposure item may count on its ward but not in the hospital's total: a transfer into a ward
is an admission to that ward, not to the hospital (`hospital=False`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from surveillance.dashboard._facts import ESCALATION_SEVERITIES, SEPSIS_WINDOW, Facts, Spell
from surveillance.dashboard._groups import PeriodSpan
from surveillance.spc import Improvement

Kind = Literal["proportion", "rate", "median"]
Exposure = Literal["admissions", "patient-days"]
DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a measure counts (see the module)."""

    time: datetime
    ward: str
    patient_id: str
    numerator: float
    denominator: float
    value: float | None = None
    hospital: bool = True
    decided: datetime | None = None

    def visible(self, until: datetime) -> bool:
        """Whether the item is known as of `until` (its outcome decided before it)."""
        return (self.time if self.decided is None else self.decided) < until


@dataclass(frozen=True, slots=True)
class Measure:
    """A measure's definition.

    Attributes:
        id: its name in the output and in `--targets`.
        kind: `proportion` (value in %), `rate` (per `per` of the denominator) or `median`.
        improvement: which way is better (`surveillance.spc`).
        numerator, denominator: what each counts, in words (shown beside the value).
        definition: the exact rule, in words.
        family: measures whose numerators add up to one shared denominator (suppressed
            together: showing two would reveal the third).
        exposure: a rate's denominator (`items` then gives its numerator only): the same
            items for every rate of that exposure, summed once.
    """

    id: str
    title: str
    kind: Kind
    improvement: Improvement
    numerator: str
    denominator: str
    definition: str
    items: Callable[[Facts, list[PeriodSpan]], list[Item]]
    per: float = 100.0
    unit: str = "%"
    family: str | None = None
    exposure: Exposure | None = None


def _timing(kind: str) -> Callable[[Facts, list[PeriodSpan]], list[Item]]:
    def items(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
        return [
            Item(d.due, d.ward, d.patient_id, float(d.timing == kind), 1.0, decided=d.decided)
            for d in f.due_sets
        ]

    return items


def _ack_minutes(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    out = []
    for s in f.spells:
        if s.kind != "score":
            continue
        out.append(Item(s.raised, s.ward, s.patient_id, 0.0, 1.0))
        if s.acknowledged is not None:
            minutes = (s.acknowledged - s.raised).total_seconds() / 60
            out.append(
                Item(s.raised, s.ward, s.patient_id, 1.0, 0.0, minutes, decided=s.acknowledged)
            )
    return out


def _escalation_in_target(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    out = []
    for s in f.spells:
        if s.kind != "score" or s.severity not in ESCALATION_SEVERITIES:
            continue
        if s.escalated is not None:
            out.append(Item(s.raised, s.ward, s.patient_id, 0.0, 1.0, decided=s.escalated))
        elif s.acknowledged is not None:
            out.append(Item(s.raised, s.ward, s.patient_id, 1.0, 1.0, decided=s.acknowledged))
    return out


SENIOR_REVIEW_EVENTS: Final = frozenset({"senior-review", "rrt-call"})
"""The clinical events (CONTRACT §9 and its extension) that are a senior review: a doctor at
registrar level or above, or the outreach team (a rapid response call brings it)."""
SENIOR_REVIEW_WINDOW: Final = timedelta(hours=24)
"""A trigger with no senior review within this long was not reviewed (for its time)."""
SENIOR_REVIEW_TARGET: Final = timedelta(hours=1)
"""The companion proportion's target: reviewed within 1 hour (NICE NG51: review by a senior
clinical decision maker within 1 hour for the high risk; RCP NEWS2: an urgent review for 5-6,
an emergency one for 7 or more)."""


def _reviews(f: Facts) -> Iterator[tuple[Spell, datetime, datetime | None]]:
    """Each trigger (a score alert's wait once at severity urgent or above: from its raise at
    that severity, or from the re-raise that upgraded it), its time, and the patient's first
    senior review at or after it (None: none yet)."""
    reviewed: dict[str, list[datetime]] = {}
    for e in f.events:
        if e.event in SENIOR_REVIEW_EVENTS:
            reviewed.setdefault(e.patient_id, []).append(e.time)
    for times in reviewed.values():
        times.sort()
    for s in f.spells:
        if s.kind != "score" or s.triggered is None:
            continue
        times = reviewed.get(s.patient_id, [])
        i = bisect_left(times, s.triggered)
        yield s, s.triggered, times[i] if i < len(times) else None


def _senior_review_minutes(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    out = []
    for s, t, review in _reviews(f):
        deadline = t + SENIOR_REVIEW_WINDOW
        if review is not None and review <= deadline:
            minutes = (review - t).total_seconds() / 60
            out.append(Item(t, s.ward, s.patient_id, 1.0, 1.0, minutes, decided=review))
        else:  # none within the window: counted once it has passed, with no time
            out.append(Item(t, s.ward, s.patient_id, 0.0, 1.0, decided=deadline))
    return out


def _senior_review_in_target(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    out = []
    for s, t, review in _reviews(f):
        deadline = t + SENIOR_REVIEW_TARGET
        if review is not None and review <= deadline:
            out.append(Item(t, s.ward, s.patient_id, 1.0, 1.0, decided=review))
        else:
            out.append(Item(t, s.ward, s.patient_id, 0.0, 1.0, decided=deadline))
    return out


def _sepsis(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    return [
        Item(
            a.time, a.ward, a.patient_id, float(treated is not None), 1.0,
            decided=a.time + SEPSIS_WINDOW if treated is None else treated,
        )
        for a, treated in f.sepsis
    ]  # fmt: skip


def _aki(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
    out = []
    for s in f.spells:
        if s.kind != "aki":
            continue
        if s.escalated is not None and (s.acknowledged is None or s.escalated < s.acknowledged):
            # not acknowledged when escalated: (0, 1) then, and (1, 0) more if acknowledged
            out.append(Item(s.raised, s.ward, s.patient_id, 0.0, 1.0, decided=s.escalated))
            if s.acknowledged is not None:
                out.append(Item(s.raised, s.ward, s.patient_id, 1.0, 0.0, decided=s.acknowledged))
        elif s.acknowledged is not None:
            out.append(Item(s.raised, s.ward, s.patient_id, 1.0, 1.0, decided=s.acknowledged))
        elif s.resolved is not None:
            out.append(Item(s.raised, s.ward, s.patient_id, 0.0, 1.0, decided=s.resolved))
    return out


def admissions(f: Facts) -> list[Item]:
    """One exposure item per stay begun: an admission (counted by its ward and the hospital)
    or a transfer in (its ward only)."""
    return [Item(s.start, s.ward, s.patient_id, 0.0, 1.0, hospital=s.admitted) for s in f.stays]


def _count(
    count: Callable[[Facts], Iterable[tuple[datetime, str, str]]],
) -> Callable[[Facts, list[PeriodSpan]], list[Item]]:
    def items(f: Facts, spans: list[PeriodSpan]) -> list[Item]:
        return [Item(t, w, p, 1.0, 0.0) for t, w, p in count(f)]

    return items


def _alerts_of(kind: str) -> Callable[[Facts], Iterable[tuple[datetime, str, str]]]:
    return lambda f: ((a.time, a.ward, a.patient_id) for a in f.alerts if a.kind == kind)


def _events_of(kind: str) -> Callable[[Facts], Iterable[tuple[datetime, str, str]]]:
    return lambda f: ((e.time, e.ward, e.patient_id) for e in f.events if e.event == kind)


_OBS_DUE = (
    "nurses' sets due: each nurse's set whose score gave a next_obs_due makes one, in the "
    "period of that due time, on the ward it was taken; counted once it has come or been "
    "missed, and not when the patient left hospital before it was missed"
)
_OBS_RULE = (
    "The next nurse's set T1 against the due time D and interval I (D minus the set before): "
    "on time T1 < D + 33% of I; late D + 33% I <= T1 < D + 67% I; missed T1 >= D + 67% I, or "
    "no set by then while still in hospital (Redfern et al. 2018; scoring.obs_timing)."
)

ALERT_KINDS: Final = ("score", "overdue", "feed", "sepsis", "aki", "learned-risk")
HARMS: Final = (
    ("cardiac-arrest", "cardiac arrests (2222 calls for arrest)", "admissions"),
    ("icu-admission", "unplanned ICU or HDU admissions", "admissions"),
    ("death", "deaths", "admissions"),
    ("fall", "falls", "patient-days"),
    ("pressure-ulcer", "pressure ulcers newly acquired (any category)", "patient-days"),
)


_TIMINGS: Final[tuple[tuple[str, str, str, Improvement], ...]] = (
    ("on_time", "on-time", "on time", "increase"),
    ("late", "late", "late", "decrease"),
    ("missed", "missed", "missed", "decrease"),
)


def _measures() -> tuple[Measure, ...]:
    timing = tuple(
        Measure(
            id=f"obs_{name}",
            title=f"Observations {label}",
            kind="proportion",
            improvement=direction,
            numerator=f"sets {label}",
            denominator=_OBS_DUE,
            definition=_OBS_RULE,
            items=_timing(key),
            family="obs",
        )
        for name, key, label, direction in _TIMINGS
    )
    response = (
        Measure(
            id="ack_minutes",
            title="Time from a score alert to its acknowledgement (median)",
            kind="median",
            improvement="decrease",
            numerator="score alerts acknowledged",
            denominator="score alerts raised (each wait for acknowledgement)",
            definition=(
                "Each wait for acknowledgement of a score alert: from its raise (the alert's "
                "first event, or a raise after an acknowledgement) to the next acknowledged "
                "event, in minutes; an upgrade while waiting does not restart the clock. The "
                "median over those acknowledged by the end of the window; a wait resolved "
                "without acknowledgement, or still open, has no time (counted in the "
                "denominator only)."
            ),
            items=_ack_minutes,
            unit="minutes",
        ),
        Measure(
            id="escalation_ack_in_target",
            title="NEWS2 5+ (and PEWS, maternity equivalents) acknowledged within the ladder's time",
            kind="proportion",
            improvement="increase",
            numerator="acknowledged before the ladder's next rung",
            denominator=(
                "waits for acknowledgement of score alerts of severity urgent, rapid-review or "
                "emergency, once acknowledged or escalated"
            ),
            definition=(
                "A wait counts as within target when it was acknowledged with no escalated "
                "event before the acknowledgement (the escalation ladder in force, plans "
                "included, had not yet called its next rung); outside target when an escalated "
                "event came first. Waits resolved without acknowledgement or escalation (stood "
                "down, discharged) and waits still open and not escalated are not counted. A "
                "ladder of one rung (PEWS emergency: 2222 at once) never escalates, so any "
                "acknowledgement is within target."
            ),
            items=_escalation_in_target,
        ),
        Measure(
            id="senior_review_minutes",
            title="Time from NEWS2 5+ (and PEWS, maternity equivalents) to senior review (median)",
            kind="median",
            improvement="decrease",
            numerator="triggers with a senior review within 24 hours",
            denominator=(
                "waits for acknowledgement of score alerts of severity urgent, rapid-review or "
                "emergency, once reviewed or 24 hours old"
            ),
            definition=(
                "Each trigger (a wait for acknowledgement of a score alert of severity urgent, "
                "rapid-review or emergency: NEWS2 5 and above and the PEWS and maternity "
                "equivalents; the clock starts when the wait reached that severity: its raise, or "
                "the re-raise that upgraded it) and the patient's first "
                "senior-review or rrt-call clinical event timed at or after it (a doctor at "
                "registrar level or above, or the outreach team), in minutes. One review "
                "answers every trigger before it; a review before the trigger does not count. "
                "The median over the triggers reviewed within 24 hours; a trigger with none "
                "within 24 hours has no time (counted in the denominator only); one under 24 "
                "hours old and not yet reviewed is pending (not counted)."
            ),
            items=_senior_review_minutes,
            unit="minutes",
        ),
        Measure(
            id="senior_review_in_1h",
            title="NEWS2 5+ (and PEWS, maternity equivalents) with a senior review within 1 hour",
            kind="proportion",
            improvement="increase",
            numerator="triggers with a senior review within 1 hour",
            denominator=(
                "waits for acknowledgement of score alerts of severity urgent, rapid-review or "
                "emergency, once reviewed or an hour old"
            ),
            definition=(
                "The triggers of senior_review_minutes with a senior-review or rrt-call event "
                "of the patient in [trigger, trigger + 1 h] (RCP NEWS2: an urgent review by a "
                "clinician competent in acute illness for 5-6, an emergency one, by critical "
                "care outreach, for 7+; NICE NG51: a senior review within 1 hour for the high "
                "risk). One under an hour old without a review is pending (not counted)."
            ),
            items=_senior_review_in_target,
        ),
        Measure(
            id="sepsis_treated_1h",
            title="Think-sepsis prompts followed by sepsis treatment within 1 hour",
            kind="proportion",
            improvement="increase",
            numerator="prompts with a sepsis-treatment event within 1 hour",
            denominator="think-sepsis prompts (sepsis alerts raised), once an hour has passed",
            definition=(
                "Each sepsis alert (its first event at t) and a sepsis-treatment clinical event "
                "of the same patient timed in [t, t + 1 h]. Treatment recorded before the "
                "prompt does not count. A prompt less than an hour old without treatment is "
                "pending (not counted)."
            ),
            items=_sepsis,
        ),
        Measure(
            id="aki_acknowledged",
            title="AKI alerts acknowledged",
            kind="proportion",
            improvement="increase",
            numerator="AKI alert waits acknowledged",
            denominator="AKI alert waits acknowledged, resolved, or escalated",
            definition=(
                "Each wait for acknowledgement of an aki alert (stage raise or upgrade after "
                "an acknowledgement): acknowledged by the end of the window, or not (resolved "
                "without acknowledgement, or escalated and still unacknowledged); an open wait "
                "not yet escalated is pending."
            ),
            items=_aki,
        ),
    )
    noise = tuple(
        Measure(
            id=f"alerts_{kind.replace('-', '_')}_per_100_patient_days",
            title=f"{kind} alerts per 100 patient-days",
            kind="rate",
            improvement="decrease",
            numerator=f"{kind} alerts raised (first event)",
            denominator="patient-days (occupied bed-days)",
            definition=(
                f"Alerts of kind {kind} whose first event falls in the period, on the ward of "
                "that event, per 100 patient-days (time in a bed, split at period bounds)."
            ),
            items=_count(_alerts_of(kind)),
            exposure="patient-days",
            unit="per 100 patient-days",
        )
        for kind in ALERT_KINDS
    )
    harms = tuple(
        Measure(
            id=f"{event.replace('-', '_')}_per_1000_{'admissions' if by == 'admissions' else 'bed_days'}",
            title=f"{label.capitalize()} per 1,000 {'admissions' if by == 'admissions' else 'bed-days'}",
            kind="rate",
            improvement="decrease",
            numerator=f"{event} events (CONTRACT §9)",
            denominator=(
                "admissions (hospital: admissions; ward: admissions and transfers in)"
                if by == "admissions"
                else "occupied bed-days (patient-days)"
            ),
            definition=(
                f"{event} clinical events timed in the period, on the ward they were recorded "
                f"for, per 1,000 {'admissions' if by == 'admissions' else 'occupied bed-days'} "
                "(NHS convention: cardiac arrests, ICU admissions and deaths per 1,000 "
                "admissions; falls and pressure ulcers per 1,000 bed-days)."
            ),
            items=_count(_events_of(event)),
            exposure="admissions" if by == "admissions" else "patient-days",
            per=1000.0,
            unit=f"per 1,000 {'admissions' if by == 'admissions' else 'bed-days'}",
        )
        for event, label, by in HARMS
    )
    return (*timing, *response, *noise, *harms)


MEASURES: Final = _measures()
MEASURE_IDS: Final = frozenset(m.id for m in MEASURES)

NOT_AVAILABLE: Final[tuple[tuple[str, str], ...]] = ()
"""Measures issue 16 asks for that the store cannot give yet, with why (none now: time to
senior review comes from `senior-review` clinical events)."""
