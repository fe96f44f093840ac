"""From the store's rows to the facts the measures count; pure.

Everything here is read *as of infinity*: from every row given, with no clock. Each fact
carries when its outcome became known in event time (a set due: the next set, or the moment it
was missed; a wait for acknowledgement: its acknowledgement, escalation or resolution; a
sepsis prompt: its treatment, or the end of its hour), so that the measures can give each item
its `decided` time, and a dashboard read as of `until` keeps an item only when its outcome was
known before `until` (`Item.visible`): a set not yet missed, an alert not yet acknowledged nor
escalated, or a sepsis prompt less than an hour old is then *pending* and left out of its
measure's denominator (never counted as a failure nor a success).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from scoring import obs_timing
from surveillance.dashboard._groups import Person
from surveillance.store import AdtRecord, AlertRow, DashboardRows, EventRecord, NurseSetRow

SEPSIS_WINDOW: Final = timedelta(hours=1)
ESCALATION_SEVERITIES: Final = frozenset({"urgent", "rapid-review", "emergency"})
"""Score alerts that call for more than the ward: NEWS2 5 and above (`urgent` 5–6, `emergency`
7 and above) and the PEWS and maternity equivalents (`urgent`: medium; `rapid-review`: PEWS
high; `emergency`: MEOWS high, PEWS emergency). `urgent-ward` (NEWS2 3 in one parameter) is
not one."""

Timing = Literal["on-time", "late", "missed"]


@dataclass(frozen=True, slots=True)
class Stay:
    """A patient's time on one ward: `start` its admission or transfer in, `end` its transfer
    out or discharge (None: still there); `admitted` when it began with an admission (not a
    transfer), `discharged` when it ended with a discharge (the patient left hospital)."""

    patient_id: str
    ward: str
    start: datetime
    end: datetime | None
    admitted: bool
    discharged: bool = False


@dataclass(frozen=True, slots=True)
class DueSet:
    """A nurse's set that fell due: due at `due` (the `next_obs_due` of the set before, taken
    on `ward`), how it came (`timing`) and when that was known (`decided`: the next set's
    time, or the moment it was missed)."""

    due: datetime
    ward: str
    patient_id: str
    timing: Timing
    decided: datetime


@dataclass(frozen=True, slots=True)
class Spell:
    """An alert waiting for acknowledgement: from a `raised` event of an alert that was not
    waiting (its first, or one after an acknowledgement) to the next `acknowledged` or
    `resolved` event.

    `ward` and `raised` are the raise's; `severity` the latest while it waited (severities only
    rise); `escalated` the time of the first `escalated` event before its end (None: none);
    `acknowledged` the acknowledgement's time (None: none); `resolved` the time it was resolved
    without one (None: not); `triggered` the time of its first event at a severity that calls
    for more than the ward (`ESCALATION_SEVERITIES`: the raise, or the re-raise that upgraded
    it; None: never)."""

    alert_id: str
    kind: str
    system: str | None
    ward: str
    patient_id: str
    raised: datetime
    severity: str
    escalated: datetime | None
    acknowledged: datetime | None
    resolved: datetime | None
    triggered: datetime | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the measures count, from every row given (as of infinity)."""

    stays: list[Stay]
    persons: dict[str, list[tuple[datetime, Person]]]
    due_sets: list[DueSet]
    spells: list[Spell]
    alerts: list[AlertRow]  # the first event of each alert
    events: list[EventRecord]
    sepsis: list[tuple[AlertRow, datetime | None]]  # each sepsis prompt, treated at (None: not)


def facts(rows: DashboardRows) -> Facts:
    """The facts of `rows`, as of infinity (each with when it became known)."""
    stays = stays_of(rows.adt)
    firsts = [a for a in rows.alerts if a.seq == 1]
    return Facts(
        stays=stays,
        persons=persons_of(rows.adt),
        due_sets=due_sets(rows.nurse_sets, stays),
        spells=spells_of(rows.alerts),
        alerts=firsts,
        events=list(rows.events),
        sepsis=sepsis_outcomes([a for a in firsts if a.kind == "sepsis"], rows.events),
    )


def stays_of(adt: Iterable[AdtRecord]) -> list[Stay]:
    """Each patient's stays on wards, from their ADT messages in time order: an admission or a
    transfer to another ward starts one (a transfer within the ward keeps it), a transfer out
    or a discharge ends it; one still open has no end."""
    stays: list[Stay] = []
    open_: dict[str, tuple[str, datetime, bool]] = {}
    for record in sorted(adt, key=lambda r: (r.time, r.msg_id)):
        current = open_.get(record.patient_id)
        if record.event in ("admit", "transfer"):
            if current is not None and current[0] == record.ward and record.event == "transfer":
                continue
            if current is not None:  # a transfer out (or an admission of a placed patient)
                stays.append(
                    Stay(record.patient_id, current[0], current[1], record.time, current[2])
                )
            open_[record.patient_id] = (record.ward, record.time, record.event == "admit")
        elif record.event == "discharge" and current is not None:
            stays.append(
                Stay(record.patient_id, current[0], current[1], record.time, current[2], True)
            )
            del open_[record.patient_id]
    stays.extend(
        Stay(p, ward, start, None, admitted) for p, (ward, start, admitted) in open_.items()
    )
    return stays


def persons_of(adt: Iterable[AdtRecord]) -> dict[str, list[tuple[datetime, Person]]]:
    """Each patient's equity fields as recorded by each of their admissions and transfers, in
    time order (`person_at` picks the one in force)."""
    persons: dict[str, list[tuple[datetime, Person]]] = defaultdict(list)
    for record in sorted(adt, key=lambda r: (r.time, r.msg_id)):
        if record.event != "discharge":
            persons[record.patient_id].append((record.time, Person.from_context(record.context)))
    return dict(persons)


def person_at(history: Sequence[tuple[datetime, Person]], moment: datetime) -> Person | None:
    """The person as recorded by the latest admission or transfer at or before `moment`, else
    by the first (None: no record at all)."""
    if not history:
        return None
    found = history[0][1]
    for time, person in history:
        if time > moment:
            break
        found = person
    return found


def due_sets(sets: Sequence[NurseSetRow], stays: Sequence[Stay]) -> list[DueSet]:
    """Every nurse's set that fell due, how it came and when that was known (Redfern et al.
    2018, as the scorer's `scoring.obs_timing` defines it for the overdue alert).

    A nurse's set taken at `T0` whose score says the next is due at `D` (`D > T0`; interval
    `I = D - T0`) makes one due set, on `T0`'s ward, in the period holding `D`. The next nurse's
    set of the patient (any ward) at `T1` makes it:
      - *on time* when `T1 < D + 0.33 I` (early counts as on time);
      - *late* when `D + 0.33 I <= T1 < D + 0.67 I`;
      - *missed* when `T1 >= D + 0.67 I`, or when no set came and the patient was still in
        hospital at `D + 0.67 I`.
    Decided at `T1` when it came before `D + 0.67 I`, else at `D + 0.67 I`. Not counted (not
    due): a set with no `next_obs_due` (or one not after it), and a due set whose patient left
    hospital (discharge) before it was missed without another set.
    """
    leaves: dict[str, list[datetime]] = defaultdict(list)
    for stay in stays:
        if stay.discharged and stay.end is not None:
            leaves[stay.patient_id].append(stay.end)
    out: list[DueSet] = []
    by_patient: dict[str, list[NurseSetRow]] = defaultdict(list)
    for s in sets:
        by_patient[s.patient_id].append(s)
    for patient, mine in by_patient.items():
        mine.sort(key=lambda s: s.time)
        ends = sorted(leaves.get(patient, ()))
        for i, taken in enumerate(mine):
            due = taken.next_obs_due
            if due is None or due <= taken.time:
                continue
            missed_at = obs_timing(taken.time, due, due).missed_at
            assert missed_at is not None  # noqa: S101 (due > taken: obs_timing gives it)
            left = next((t for t in ends if t > taken.time), None)
            following = next((s.time for s in mine[i + 1 :] if s.time > taken.time), None)
            if following is not None and (left is None or following <= left):
                status = obs_timing(taken.time, due, following).status
                timing: Timing = (
                    "missed" if status == "missed" else "late" if status == "late" else "on-time"
                )
                decided = min(following, missed_at)
            else:
                if left is not None and left < missed_at:
                    continue  # gone before it was missed
                timing, decided = "missed", missed_at
            out.append(DueSet(due, taken.ward, patient, timing, decided))
    return out


def spells_of(alerts: Iterable[AlertRow]) -> list[Spell]:
    """The waits for acknowledgement of every alert (see `Spell`), from its events by seq."""
    by_alert: dict[str, list[AlertRow]] = defaultdict(list)
    for a in alerts:
        by_alert[a.alert_id].append(a)
    spells: list[Spell] = []
    for events in by_alert.values():
        events.sort(key=lambda a: a.seq)
        waiting: AlertRow | None = None
        severity, escalated, triggered = "", None, None
        for e in events:
            if e.state == "raised" and waiting is None:
                waiting, severity, escalated, triggered = e, e.severity, None, None
            elif waiting is None:
                continue
            elif e.state in ("raised", "escalated"):
                severity = e.severity
                if e.state == "escalated" and escalated is None:
                    escalated = e.time
            elif e.state in ("acknowledged", "resolved"):
                spells.append(_spell(waiting, severity, escalated, e, triggered))
                waiting = None
                continue
            if triggered is None and e.severity in ESCALATION_SEVERITIES:
                triggered = e.time
        if waiting is not None:
            spells.append(_spell(waiting, severity, escalated, None, triggered))
    return spells


def _spell(
    raised: AlertRow,
    severity: str,
    escalated: datetime | None,
    end: AlertRow | None,
    triggered: datetime | None,
) -> Spell:
    acknowledged = end.time if end is not None and end.state == "acknowledged" else None
    return Spell(
        alert_id=raised.alert_id,
        kind=raised.kind,
        system=raised.system,
        ward=raised.ward,
        patient_id=raised.patient_id,
        raised=raised.time,
        severity=severity,
        escalated=escalated,
        acknowledged=acknowledged,
        resolved=end.time if end is not None and end.state == "resolved" else None,
        triggered=triggered,
    )


def sepsis_outcomes(
    prompts: Sequence[AlertRow], events: Sequence[EventRecord]
) -> list[tuple[AlertRow, datetime | None]]:
    """Each think-sepsis prompt (a `sepsis` alert's first event at `t`) and the time of the
    first `sepsis-treatment` event of the same patient at `t` or within the hour after it (its
    own time in `[t, t + 1 h]`; None: none)."""
    treated: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        if e.event == "sepsis-treatment":
            treated[e.patient_id].append(e.time)
    out: list[tuple[AlertRow, datetime | None]] = []
    for prompt in prompts:
        deadline = prompt.time + SEPSIS_WINDOW
        times = [t for t in treated.get(prompt.patient_id, ()) if prompt.time <= t <= deadline]
        out.append((prompt, min(times) if times else None))
    return out
