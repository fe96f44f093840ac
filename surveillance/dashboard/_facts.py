"""From the store's rows to the facts the measures count; pure (the clock is `as_of`).

Everything here is read as of `as_of` (the end of the dashboard's window): what happened later
is not known, so a set not yet missed, an alert not yet acknowledged nor escalated, or a sepsis
prompt less than an hour old is *pending* and left out of its measure's denominator (never
counted as a failure nor a success).
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
    out, discharge or `as_of`; `admitted` when it began with an admission (not a transfer),
    `discharged` when it ended with a discharge (the patient left hospital)."""

    patient_id: str
    ward: str
    start: datetime
    end: datetime
    admitted: bool
    discharged: bool = False


@dataclass(frozen=True, slots=True)
class DueSet:
    """A nurse's set that fell due: due at `due` (the `next_obs_due` of the set before, taken
    on `ward`), and when it came (`timing`)."""

    due: datetime
    ward: str
    patient_id: str
    timing: Timing


@dataclass(frozen=True, slots=True)
class Spell:
    """An alert waiting for acknowledgement: from a `raised` event of an alert that was not
    waiting (its first, or one after an acknowledgement) to the next `acknowledged` event.

    `ward` and `raised` are the raise's; `severity` the latest while it waited (severities only
    rise); `escalated` whether an `escalated` event came before the acknowledgement;
    `acknowledged` the acknowledgement's time (None: none by `as_of`); `resolved` whether it
    was resolved without one."""

    alert_id: str
    kind: str
    system: str | None
    ward: str
    patient_id: str
    raised: datetime
    severity: str
    escalated: bool
    acknowledged: datetime | None
    resolved: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """What the measures count, as of `as_of`."""

    as_of: datetime
    stays: list[Stay]
    persons: dict[str, Person]
    due_sets: list[DueSet]
    spells: list[Spell]
    alerts: list[AlertRow]  # the first event of each alert
    events: list[EventRecord]
    sepsis: list[
        tuple[AlertRow, bool | None]
    ]  # each sepsis prompt, treated within 1 h (None: pending)


def facts(rows: DashboardRows, as_of: datetime) -> Facts:
    """The facts of `rows`, read as of `as_of` (rows after it are ignored)."""
    adt = [r for r in rows.adt if r.time < as_of]
    stays = stays_of(adt, as_of)
    alerts = [a for a in rows.alerts if a.time < as_of]
    events = [e for e in rows.events if e.time < as_of]
    firsts = [a for a in alerts if a.seq == 1]
    return Facts(
        as_of=as_of,
        stays=stays,
        persons=persons_of(adt),
        due_sets=due_sets([s for s in rows.nurse_sets if s.time < as_of], stays, as_of),
        spells=spells_of(alerts),
        alerts=firsts,
        events=events,
        sepsis=sepsis_outcomes([a for a in firsts if a.kind == "sepsis"], events, as_of),
    )


def stays_of(adt: Iterable[AdtRecord], as_of: datetime) -> list[Stay]:
    """Each patient's stays on wards, from their ADT messages in time order: an admission or a
    transfer to another ward starts one (a transfer within the ward keeps it), a transfer out
    or a discharge ends it; still open at `as_of`, it ends there."""
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
        Stay(p, ward, start, as_of, admitted) for p, (ward, start, admitted) in open_.items()
    )
    return stays


def persons_of(adt: Iterable[AdtRecord]) -> dict[str, Person]:
    """Each patient's equity fields, from their latest admission or transfer."""
    persons: dict[str, Person] = {}
    for record in sorted(adt, key=lambda r: (r.time, r.msg_id)):
        if record.event != "discharge":
            persons[record.patient_id] = Person.from_context(record.context)
    return persons


def due_sets(sets: Sequence[NurseSetRow], stays: Sequence[Stay], as_of: datetime) -> list[DueSet]:
    """Every nurse's set that fell due, and when it came (Redfern et al. 2018, as the scorer's
    `scoring.obs_timing` defines it for the overdue alert).

    A nurse's set taken at `T0` whose score says the next is due at `D` (`D > T0`; interval
    `I = D - T0`) makes one due set, on `T0`'s ward, in the period holding `D`. The next nurse's
    set of the patient (any ward) at `T1` makes it:
      - *on time* when `T1 < D + 0.33 I` (early counts as on time);
      - *late* when `D + 0.33 I <= T1 < D + 0.67 I`;
      - *missed* when `T1 >= D + 0.67 I`, or when no set came and the patient was still in
        hospital at `D + 0.67 I` (and `as_of` is past it).
    Not counted (not due): a set with no `next_obs_due` (or one not after it), and a due set
    whose patient left hospital (discharge) before it was missed without another set. Pending
    (not counted): no set yet and `as_of` before `D + 0.67 I`.
    """
    leaves: dict[str, list[datetime]] = defaultdict(list)
    for stay in stays:
        if stay.discharged:
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
            left = next((t for t in ends if t > taken.time), None)
            following = next((s.time for s in mine[i + 1 :] if s.time > taken.time), None)
            if following is not None and (left is None or following <= left):
                status = obs_timing(taken.time, due, following).status
                timing: Timing = (
                    "missed" if status == "missed" else "late" if status == "late" else "on-time"
                )
            else:
                horizon = min(t for t in (left, as_of) if t is not None)
                if obs_timing(taken.time, due, horizon).status != "missed":
                    continue
                timing = "missed"
            out.append(DueSet(due, taken.ward, patient, timing))
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
        severity, escalated = "", False
        for e in events:
            if e.state == "raised" and waiting is None:
                waiting, severity, escalated = e, e.severity, False
            elif waiting is None:
                continue
            elif e.state in ("raised", "escalated"):
                severity = e.severity
                escalated = escalated or e.state == "escalated"
            elif e.state in ("acknowledged", "resolved"):
                spells.append(_spell(waiting, severity, escalated, e))
                waiting = None
        if waiting is not None:
            spells.append(_spell(waiting, severity, escalated, None))
    return spells


def _spell(raised: AlertRow, severity: str, escalated: bool, end: AlertRow | None) -> Spell:
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
        resolved=end is not None and end.state == "resolved",
    )


def sepsis_outcomes(
    prompts: Sequence[AlertRow], events: Sequence[EventRecord], as_of: datetime
) -> list[tuple[AlertRow, bool | None]]:
    """Each think-sepsis prompt (a `sepsis` alert's first event at `t`) and whether a
    `sepsis-treatment` event of the same patient came at `t` or within the hour after it (its
    own time in `[t, t + 1 h]`); None (pending) when none has and `as_of` is before `t + 1 h`."""
    treated: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        if e.event == "sepsis-treatment":
            treated[e.patient_id].append(e.time)
    out: list[tuple[AlertRow, bool | None]] = []
    for prompt in prompts:
        deadline = prompt.time + SEPSIS_WINDOW
        done = any(prompt.time <= t <= deadline for t in treated.get(prompt.patient_id, ()))
        out.append((prompt, True if done else (False if as_of >= deadline else None)))
    return out
