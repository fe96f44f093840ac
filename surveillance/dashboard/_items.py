"""Every patient's dashboard items and stay pieces, as the store keeps them; pure.

`dashboard_items(rows, tz)` makes, from every row of some patients (all of each patient's: the
items are made as of infinity), the `DashboardItem`s of every measure and the `DashboardStay`
pieces the patient-days come from, each with the patient's equity groups as recorded at its
time. The live dashboard (`compute_dashboard`) and the stored one (`Store.dashboard_sums` over
what the refresh wrote) both count these, so the two agree by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from surveillance.dashboard._facts import Facts, Stay, facts, person_at
from surveillance.dashboard._groups import NEEDS, UNKNOWN_PERSON, Person, age_group
from surveillance.dashboard._measures import MEASURES, Item, Measure, admissions
from surveillance.store import DashboardItem, DashboardRows, DashboardStay

ADMISSIONS: Final = "admissions"
"""The measure name of the admissions exposure items (shared by every rate per admission)."""
_AGE_CUTS: Final = (0, 18, 45, 65, 75, 85)
"""The ages at which the age band changes (0: birth, before which it is not known)."""


def needs_mask(needs: Sequence[str]) -> int:
    """The recorded needs as a bitmask of `NEEDS` (bit i: `NEEDS[i]`; 0: none recorded)."""
    return sum(1 << i for i, need in enumerate(NEEDS) if need in needs)


def mask_needs(mask: int) -> tuple[str, ...]:
    """The need groups of a bitmask (`needs_mask`'s inverse; "none recorded" for 0)."""
    found = tuple(need for i, need in enumerate(NEEDS) if mask >> i & 1)
    return found or ("none recorded",)


def dashboard_items(
    rows: DashboardRows, tz: ZoneInfo, measures: Sequence[Measure] = MEASURES
) -> tuple[list[DashboardItem], list[DashboardStay]]:
    """The items of every measure (and the admissions) and the stay pieces of the patients of
    `rows`, as of infinity; `tz` gives each item's local day (its age band). Items of a
    family's measures (`Measure.family`) only where they count in the numerator."""
    known = facts(rows)
    items: list[DashboardItem] = []
    for m in measures:
        # A family's numerators add up to its shared denominator (each case is in exactly one
        # numerator): only its items with a numerator are kept, and each member's denominator
        # is the family's (`dashboard_from_sums`). A third of the rows of the sets due.
        kept = (i for i in m.items(known, []) if m.family is None or i.numerator)
        items.extend(_stored(m.id, i, known, tz) for i in kept)
    items.extend(_stored(ADMISSIONS, i, known, tz) for i in admissions(known))
    stays = [piece for stay in known.stays for piece in _pieces(stay, known, tz)]
    return items, stays


def _person(known: Facts, patient_id: str, moment: datetime) -> Person:
    return person_at(known.persons.get(patient_id, ()), moment) or UNKNOWN_PERSON


def _stored(measure: str, item: Item, known: Facts, tz: ZoneInfo) -> DashboardItem:
    person = _person(known, item.patient_id, item.time)
    return DashboardItem(
        patient_id=item.patient_id,
        measure=measure,
        time=item.time,
        decided=item.decided,
        ward=item.ward,
        hospital=item.hospital,
        numerator=item.numerator,
        denominator=item.denominator,
        value=item.value,
        sex=person.sex,
        ethnicity=person.ethnicity,
        age=age_group(person.birth_date, item.time.astimezone(tz).date()),
        imd=person.imd,
        needs=needs_mask(person.needs),
    )


def _pieces(stay: Stay, known: Facts, tz: ZoneInfo) -> Iterator[DashboardStay]:
    """The stay cut wherever the patient's groups change: at each admission or transfer
    within it (the record in force changes) and at the local midnight their age band does."""
    history = known.persons.get(stay.patient_id, ())
    cuts = {stay.start}
    cuts.update(t for t, _ in history if _inside(t, stay.start, stay.end))
    for _, person in history:
        cuts.update(t for t in _age_cuts(person.birth_date, tz) if _inside(t, stay.start, stay.end))
    bounds: list[datetime | None] = [*sorted(cuts), stay.end]
    for start, end in itertools.pairwise(bounds):
        assert start is not None  # noqa: S101 (only the last bound may be open)
        person = _person(known, stay.patient_id, start)
        yield DashboardStay(
            patient_id=stay.patient_id,
            ward=stay.ward,
            start=start,
            end=end,
            sex=person.sex,
            ethnicity=person.ethnicity,
            age=age_group(person.birth_date, start.astimezone(tz).date()),
            imd=person.imd,
            needs=needs_mask(person.needs),
        )


def _inside(t: datetime, start: datetime, end: datetime | None) -> bool:
    return start < t and (end is None or t < end)


def _age_cuts(birth_date: str | None, tz: ZoneInfo) -> Iterator[datetime]:
    """The local midnights at which `age_group(birth_date, day)` changes."""
    if birth_date is None:
        return
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        return
    for years in _AGE_CUTS:
        year = born.year + years
        if year > date.max.year - 1:
            return
        try:
            day = born.replace(year=year)
        except ValueError:  # 29 February in a common year: the birthday counts from 1 March
            day = date(year, 3, 1)
        if day.year < 2:
            continue
        local = datetime(day.year, day.month, day.day, tzinfo=tz)
        yield local.astimezone(UTC)


_MICROSECOND: Final = timedelta(microseconds=1)


def overlap_micros(start: datetime, end: datetime | None, lo: datetime, hi: datetime) -> int:
    """Microseconds of `[start, end)` (end None: open) within `[lo, hi)`. In UTC: Python
    subtracts two times of one `tzinfo` on the wall clock, an hour out across a change of the
    clocks (a window from local midnight to local midnight, say)."""
    first = max(start, lo).astimezone(UTC)
    last = (hi if end is None else min(end, hi)).astimezone(UTC)
    return (last - first) // _MICROSECOND if first < last else 0
