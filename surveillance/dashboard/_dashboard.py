"""The dashboard: every measure per ward and hospital, per period, with its SPC chart and its
equity table; a pure function of the store's rows (`compute_dashboard`), and its JSON and CSV.

The page (`/dashboard`) and the monthly report render the `Dashboard` object; the command line
prints it (`surveillance dashboard`).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from surveillance.dashboard._groups import (
    DIMENSIONS,
    NEEDS,
    Period,
    PeriodSpan,
    period_spans,
    span_of,
)
from surveillance.dashboard._items import ADMISSIONS, dashboard_items, mask_needs, overlap_micros
from surveillance.dashboard._measures import MEASURE_IDS, MEASURES, NOT_AVAILABLE, Measure
from surveillance.dashboard._stats import Moments, clustered, rate_interval, widest, wilson
from surveillance.dashboard._suppress import SUPPRESSED, Layout, Relation
from surveillance.spc import Point, SpcError, xmr_chart
from surveillance.store import (
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
)

HOSPITAL: Final = "hospital"
ALL: Final = "all"
Shown = float | str | None
"""A shown value: a number, `*` (suppressed) or None (nothing to show: no denominator)."""


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One period of a measure on one scope, with the period's admissions and patient-days
    beside it, and its SPC chart point (None when the period has no value or no chart)."""

    period: str
    start: datetime
    end: datetime
    partial: bool
    numerator: float
    denominator: float
    value: float | None
    admissions: int
    patient_days: float
    mean: float | None = None
    lpl: float | None = None
    upl: float | None = None
    point_type: str | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class EquityRow:
    """One group of one equity dimension, over the whole window, suppressed as shown."""

    dimension: str
    group: str
    numerator: Shown
    denominator: Shown
    value: Shown
    ci_low: Shown
    ci_high: Shown
    ratio_to_hospital: Shown


@dataclass(frozen=True, slots=True)
class ScopeResult:
    """A measure on one ward (or the hospital): the window's total, the series and its SPC
    summary (`variation`, `assurance`; `spc_note` says why there is no chart), the equity
    table."""

    scope: str
    numerator: float
    denominator: float
    value: float | None
    ci_low: float | None
    ci_high: float | None
    series: list[SeriesPoint]
    variation: str | None
    assurance: str | None
    spc_note: str | None
    equity: list[EquityRow]


@dataclass(frozen=True, slots=True)
class MeasureResult:
    """A measure's definition and its results on every scope."""

    id: str
    title: str
    kind: str
    unit: str
    improvement: str
    target: float | None
    numerator: str
    denominator: str
    definition: str
    scopes: list[ScopeResult]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Every measure, as of `until`."""

    since: datetime
    until: datetime
    period: str
    timezone: str
    scopes: list[str]
    measures: list[MeasureResult]
    not_available: list[dict[str, str]] = field(default_factory=list)
    stale_patients: int = 0
    """Patients written to whose items were not yet refreshed (not counted): 0 unless a large
    backlog is being caught up (the service refreshes at most `REQUEST_REFRESH_LIMIT` before
    answering)."""
    set_aside_patients: int = 0
    """Patients whose items could not be made from their rows (not counted: the refresh set
    them aside, logged and recorded with the reason, until they are written to again)."""
    suppression: str = (
        "Equity tables: counts 1-7 are shown as * (NHS Digital), and so is any rate, interval "
        "or ratio computed from one; further cells are hidden where totals (a ward's, the "
        "hospital's, the sets due) would reveal a hidden one. Series are not suppressed."
    )

    def to_json(self) -> bytes:
        """The dashboard as one JSON document."""
        return msgspec.json.encode(self)

    def to_csv(self) -> str:
        """The dashboard's numbers as CSV: one row per series point, then per equity row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for m in self.measures:
            for s in m.scopes:
                for p in s.series:
                    writer.writerow(
                        [
                            "series", m.id, _text(s.scope), p.period, _iso(p.start), _iso(p.end),
                            "", "", _cell(p.numerator), _cell(p.denominator), _cell(p.value),
                            "", "", "", p.admissions, _cell(p.patient_days), _cell(p.mean),
                            _cell(p.lpl), _cell(p.upl), p.point_type or "", p.rule or "",
                        ]
                    )  # fmt: skip
            for s in m.scopes:
                for e in s.equity:
                    writer.writerow(
                        [
                            "equity", m.id, _text(s.scope), "", _iso(self.since), _iso(self.until),
                            e.dimension, e.group, _cell(e.numerator), _cell(e.denominator),
                            _cell(e.value), _cell(e.ci_low), _cell(e.ci_high),
                            _cell(e.ratio_to_hospital), "", "", "", "", "", "", "",
                        ]
                    )  # fmt: skip
        return out.getvalue()


CSV_COLUMNS: Final = (
    "section", "measure", "scope", "period", "start", "end", "dimension", "group", "numerator",
    "denominator", "value", "ci_low", "ci_high", "ratio_to_hospital", "admissions",
    "patient_days", "mean", "lpl", "upl", "point_type", "rule",
)  # fmt: skip


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _text(value: str) -> str:
    """A name from the input (a ward's) as a spreadsheet reads it: never a formula (OWASP: a
    cell starting with `=`, `+`, `-`, `@`, tab or carriage return is quoted with `'`)."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _cell(value: Shown) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value == int(value):
        return str(int(value))
    # Four decimals, as the JSON has them: never a rounded or exponent form (`.4g` wrote
    # 228.5347 as 228.5, and 12345.6 patient-days as 1.235e+04).
    return f"{value:.4f}".rstrip("0").rstrip(".")


def check_targets(targets: Mapping[str, float]) -> dict[str, float]:
    """The targets by measure id, checked.

    Raises:
        ValueError: an unknown measure or a target that is not a finite number.
    """
    checked = {}
    for key, value in targets.items():
        if key not in MEASURE_IDS:
            raise ValueError(
                f"target for an unknown measure {key!r} (known: {', '.join(sorted(MEASURE_IDS))})"
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"target for {key}: {value!r} is not a finite number")
        checked[key] = float(value)
    return checked


def compute_dashboard(
    rows: DashboardRows,
    *,
    since: datetime,
    until: datetime,
    period: Period,
    tz: ZoneInfo,
    wards: Collection[str] | None = None,
    targets: Mapping[str, float] | None = None,
    measures: Sequence[Measure] = MEASURES,
) -> Dashboard:
    """Every measure of `[since, until)` per ward (`wards`, default every ward with an ADT
    message before `until` or an item in the window) and the hospital, per period, read as of
    `until`, computed from `rows` (the live path: the stored one is `dashboard_from_sums` over
    `Store.dashboard_sums`, the same items summed by the store).

    Raises:
        ValueError: an empty window, an unknown period or a bad target.
    """
    items, stays = dashboard_items(rows, tz, measures)
    sums = window_sums(
        items,
        stays,
        sorted({r.ward for r in rows.adt if r.time < until} if rows.wards is None else rows.wards),
        since,
        until,
    )
    return dashboard_from_sums(
        sums, since=since, until=until, period=period, tz=tz, wards=wards, targets=targets,
        measures=measures,
    )  # fmt: skip


def cell_spec(measures: Sequence[Measure], wards: Sequence[str] | None) -> CellSpec:
    """How a store sums the equity tables of `measures` (`Store.dashboard_sums`), with the
    moments of the cells of `wards` (None: every ward) and the hospital: the same sums as
    `_tables` makes from items."""
    families: dict[str, list[str]] = defaultdict(list)
    for m in measures:
        if m.family:
            families[m.family].append(m.id)
    names = [
        (m.id, name, name == m.id)
        for m in measures
        for name in (families[m.family] if m.family else [m.id])
    ]
    rates = [
        (m.id, ADMISSIONS if m.exposure == "admissions" else PATIENT_DAYS)
        for m in measures
        if m.exposure is not None
    ]
    return CellSpec(
        names=(*names, (ADMISSIONS, ADMISSIONS, True)),
        rates=tuple(rates),
        days=PATIENT_DAYS,
        needs=NEEDS,
        no_needs=mask_needs(0)[0],
        all=ALL,
        wards=None if wards is None else tuple(wards),
    )


def window_sums(
    items: Iterable[DashboardItem],
    stays: Iterable[DashboardStay],
    wards: list[str],
    since: datetime,
    until: datetime,
) -> DashboardSums:
    """What a store gives for `[since, until)` as of `until` when it sums nothing: the items
    in the window decided before `until`, the stay pieces overlapping it (begun before it)."""
    return DashboardSums(
        wards=wards,
        items=[
            i for i in items
            if since <= i.time < until and (i.time if i.decided is None else i.decided) < until
        ],
        stays=[s for s in stays if s.start < until and (s.end is None or s.end > since)],
    )  # fmt: skip


def dashboard_from_sums(
    sums: DashboardSums,
    *,
    since: datetime,
    until: datetime,
    period: Period,
    tz: ZoneInfo,
    wards: Collection[str] | None = None,
    targets: Mapping[str, float] | None = None,
    measures: Sequence[Measure] = MEASURES,
    suppress: bool = True,
) -> Dashboard:
    """The dashboard of `[since, until)` from the window's items (`DashboardSums`, from a store
    or `window_sums`); see `compute_dashboard`. `suppress` False leaves the equity tables
    unsuppressed: for timing the rest apart (`bench/dashboard`), never to publish.

    Raises:
        ValueError: an empty window, an unknown period or a bad target.
    """
    spans = period_spans(since, until, period, tz)
    goals = check_targets(targets or {})
    every_ward = sorted(
        set(sums.wards) | {i.ward for i in sums.items} | {s.ward for s in sums.stays}
        | {r[1] for r in sums.item_sums} | {r[0] for r in sums.stay_sums}
    )  # fmt: skip
    shown_wards = every_ward if wards is None else sorted(set(wards))
    if sums.cells and sums.cell_wards is not None and set(shown_wards) - set(sums.cell_wards):
        raise ValueError(
            f"the store summed the moments of wards {sums.cell_wards}, not of {shown_wards}"
        )
    scopes = [*shown_wards, HOSPITAL]
    # Suppression is decided on the table of every ward, whichever are shown: a table of some
    # wards hiding fewer cells would let its numbers and the whole table's (or another
    # subset's) be subtracted, since the hospital is the sum of every ward.
    all_wards = sorted(set(every_ward) | set(shown_wards))
    all_scopes = [*all_wards, HOSPITAL]
    names = [*(m.id for m in measures), ADMISSIONS, PATIENT_DAYS]
    families: dict[str, list[Measure]] = defaultdict(list)
    for m in measures:
        families[m.family or m.id].append(m)
    shared = {m.id: [f.id for f in families[m.family]] for m in measures if m.family}
    tables, periods = _tables(sums, names, shared, spans, all_scopes, scopes, (since, until))
    context = {
        scope: [
            (round(a.denominator), d.denominator)
            for a, d in zip(periods[ADMISSIONS][scope], periods[PATIENT_DAYS][scope], strict=True)
        ]
        for scope in scopes
    }
    results: dict[str, MeasureResult] = {}
    layouts: dict[tuple[int, bool, str], tuple[list[_Cell], Layout]] = {}
    for family in families.values():
        for m in family:
            if m.exposure is not None:
                exposure = ADMISSIONS if m.exposure == "admissions" else PATIENT_DAYS
                _merge(tables[m.id], tables[exposure])
                for scope, series in periods[m.id].items():
                    for s, e in zip(series, periods[exposure][scope], strict=True):
                        s.denominator += e.denominator
        hidden = _suppress(family, tables, all_wards, layouts) if suppress else frozenset()
        for m in family:
            results[m.id] = _result(
                m, periods[m.id], tables[m.id], hidden, spans, scopes, context, goals.get(m.id)
            )
    return Dashboard(
        since=since,
        until=until,
        period=period,
        timezone=tz.key,
        scopes=scopes,
        measures=[results[m.id] for m in measures],
        not_available=[{"id": key, "reason": why} for key, why in NOT_AVAILABLE],
    )


PATIENT_DAYS: Final = "patient-days"
_DAY_MICROS: Final = 86_400_000_000


@dataclass(slots=True)
class _Sum:
    numerator: float = 0.0
    denominator: float = 0.0
    values: list[float] | None = None
    """A median's values, in no particular order (None: none; made only on a scope shown)."""
    patients: dict[str, list[int]] = field(default_factory=dict)
    """The window's tables only: each patient's `[numerator, denominator]` (patient-days in
    microseconds), in whole numbers."""
    exposure: _Sum | None = None
    """A rate's exposure's cell (`_merge`): each patient's denominator is theirs there too."""
    exposed: Moments | None = None
    """An exposure cell's moments of its patients' `(0, x)`, once made (`_moments`) or as the
    store summed them (`DashboardSums.cells`)."""
    moments: Moments | None = None
    """The moments of the cell's patients' `(numerator, denominator)`, as the store summed them
    (`DashboardSums.cells`); None: from `patients`."""
    correction: Moments | None = None
    """A rate cell's corrections to its exposure's moments, as the store summed them."""

    def add(self, numerator: float, denominator: float) -> None:
        self.numerator += numerator
        self.denominator += denominator

    def extend(self, values: list[float]) -> None:
        if self.values is None:
            self.values = values.copy()
        else:
            self.values.extend(values)


_Groups = tuple[str, str, str, str, int]
"""An item's `(sex, ethnicity, age, imd, needs)`."""
_Row = tuple[str, str, bool, str, str, str, str, str, int]
"""A patient's items of one measure on one ward and in one set of groups: `(measure, ward,
hospital, patient_id, sex, ethnicity, age, imd, needs)`."""
Table = dict[str, dict[tuple[str, str], _Sum]]  # scope -> (dimension, group) -> sums
Series = dict[str, list[_Sum]]  # scope -> one per period


def _tables(  # noqa: PLR0917 (one loop per source of sums, together)
    sums: DashboardSums,
    names: Sequence[str],
    shared: Mapping[str, list[str]],
    spans: list[PeriodSpan],
    scopes: Sequence[str],
    shown: Collection[str],
    window: tuple[datetime, datetime],
) -> tuple[dict[str, Table], dict[str, Series]]:
    """The window's sums of each measure (and exposure) on each scope by (dimension, group)
    and (`all`, `all`), and by period; exact whatever the order they are added in (items count
    whole numbers; stays are summed in microseconds). `shared`: the measures of a family by
    member, whose denominator each item of one adds to (`dashboard_items`). The tables are of
    every scope in `scopes` (the suppression reads every ward's); only those `shown` have
    periods and their items' values (the medians; in no particular order: only their middle counts).
    """
    since, until = window
    shown = frozenset(shown)
    cell_keys = [(ALL, ALL), *((d, g) for d, gs in DIMENSIONS.items() for g in gs)]
    tables = {
        name: {scope: {key: _Sum() for key in cell_keys} for scope in scopes} for name in names
    }
    periods = {name: {scope: [_Sum() for _ in spans] for scope in shown} for name in names}
    labels = {span.label: i for i, span in enumerate(spans)}

    def targets(ward: str, hospital: bool) -> list[str]:
        return [ward, HOSPITAL] if hospital else [ward]

    # The values (of the medians) of the scopes shown, gathered by scope and groups first: an
    # item's go to some seven cells of a scope, and many items share their groups.
    values: dict[tuple[str, str, _Groups], list[float]] = {}
    period_values: dict[tuple[str, str, int], list[float]] = {}
    groups_of = attrgetter("sex", "ethnicity", "age", "imd", "needs")

    shown_targets: dict[tuple[str, bool], tuple[str, ...]] = {}

    def gather(  # noqa: PLR0917 (an item's fields, or a value row's)
        name: str, ward: str, hospital: bool, groups: _Groups, value: float, i: int | None
    ) -> None:
        """A value of `name` on `ward` (and the hospital) in `groups` and period `i`."""
        scopes = shown_targets.get((ward, hospital))
        if scopes is None:
            scopes = tuple(s for s in targets(ward, hospital) if s in shown)
            shown_targets[ward, hospital] = scopes
        for scope in scopes:
            found = values.get((name, scope, groups))
            if found is None:
                values[name, scope, groups] = [value]
            else:
                found.append(value)
            if i is not None:
                period_values.setdefault((name, scope, i), []).append(value)

    def counts(measure: str) -> list[tuple[str, float]]:
        """The sums an item of `measure` adds to, each with the factor of its numerator (a
        family's members share its denominator; only the item's own takes its numerator)."""
        if measure not in shared:
            return [(measure, 1.0)]
        return [(name, 1.0 if name == measure else 0.0) for name in shared[measure]]

    # The window's tables are summed per patient first (`_Sum.patients`: the clustered
    # intervals), from rows of one patient's items of one measure, ward and groups: the
    # store's (`patient_sums`) or made here from the items, in whole numbers (exact).
    rows: dict[_Row, list[int]] = {}

    def count(row: _Row, numerator: float, denominator: float) -> None:
        found = rows.get(row)
        if found is None:
            rows[row] = [round(numerator), round(denominator)]
        else:
            found[0] += round(numerator)
            found[1] += round(denominator)

    for item in sums.items:
        if item.measure not in tables:
            continue
        i = span_of(spans, item.time)
        for name, own in counts(item.measure):
            if item.value is not None:
                gather(name, item.ward, item.hospital, groups_of(item), item.value, i)
            if i is not None:
                series = periods[name]
                for scope in targets(item.ward, item.hospital):
                    if scope in series:
                        series[scope][i].add(item.numerator * own, item.denominator)
        count(
            (item.measure, item.ward, item.hospital, item.patient_id, item.sex, item.ethnicity,
             item.age, item.imd, item.needs),
            item.numerator, item.denominator,
        )  # fmt: skip
    for (
        measure,
        ward,
        hosp,
        patient,
        sex,
        ethnicity,
        age,
        imd,
        needs,
        num,
        den,
    ) in sums.patient_sums:
        if measure in tables:
            count((measure, ward, hosp, patient, sex, ethnicity, age, imd, needs), num, den)
    # A family's rows of one patient, ward and groups, folded first: each adds to every
    # member (its own numerator, the shared denominator), so the fan-out below is once a row.
    folded: dict[_Row, dict[str, list[int]]] = {}
    for (measure, ward, hosp, patient, sex, ethnicity, age, imd, needs), (num, den) in rows.items():
        shared_key = shared[measure][0] if measure in shared else measure
        per_name = folded.setdefault(
            (shared_key, ward, hosp, patient, sex, ethnicity, age, imd, needs), {}
        )
        for name, own in counts(measure):
            pair = per_name.get(name)
            y = num if own else 0
            if pair is None:
                per_name[name] = [y, den]
            else:
                pair[0] += y
                pair[1] += den
    for (_, ward, hosp, patient, sex, ethnicity, age, imd, needs), per_name in folded.items():
        keys = _keys(sex, ethnicity, age, imd, needs)
        scopes = targets(ward, hosp)
        for name, (y, den) in per_name.items():
            table = tables[name]
            for scope in scopes:
                cells = table[scope]
                for key in keys:
                    patients = cells[key].patients
                    pair = patients.get(patient)
                    if pair is None:
                        patients[patient] = [y, den]
                    else:
                        pair[0] += y
                        pair[1] += den
    for name in names:  # each cell's sums: its patients', exact (whole numbers)
        for cells in tables[name].values():
            for cell in cells.values():
                if cell.patients:
                    cell.numerator = float(sum(y for y, _ in cell.patients.values()))
                    cell.denominator = float(sum(x for _, x in cell.patients.values()))
    for item in sums.values:  # counted in `patient_sums`: their values only
        if item.measure in tables and item.value is not None:
            gather(
                item.measure,
                item.ward,
                item.hospital,
                groups_of(item),
                item.value,
                span_of(spans, item.time),
            )
    for row in sums.value_rows:  # as `sums.values`, the period found by the store
        measure, ward, hospital, group, value = row[0], row[1], row[2], row[3], row[9]
        if measure in tables:
            gather(measure, ward, hospital, row[4:9], value, labels[group])
    for (name, scope, groups), found in values.items():
        cells = tables[name][scope]
        for key in _keys(*groups):
            cells[key].extend(found)
    for (name, scope, i), found in period_values.items():
        periods[name][scope][i].extend(found)
    for measure, ward, hospital, dimension, group, num, den in sums.item_sums:
        if measure not in tables:
            continue
        if dimension != "period":
            raise ValueError(f"item sums by {dimension!r}: only by period (patient_sums)")
        for name, own in counts(measure):
            for scope in targets(ward, hospital):
                if scope in periods[name]:
                    periods[name][scope][labels[group]].add(num * own, den)
    micros: dict[tuple[str, tuple[str, str]], int] = defaultdict(int)
    days: dict[tuple[str, tuple[str, str]], dict[str, list[int]]] = defaultdict(dict)
    period_micros: dict[tuple[str, int], int] = defaultdict(int)

    def stayed(ward: str, patient: str, keys: tuple[tuple[str, str], ...], total: int) -> None:
        for scope in (ward, HOSPITAL):
            for key in keys:
                micros[scope, key] += total
                pair = days[scope, key].get(patient)
                if pair is None:
                    days[scope, key][patient] = [0, total]
                else:
                    pair[1] += total

    for stay in sums.stays:
        total = overlap_micros(stay.start, stay.end, since, until)
        if not total:
            continue
        keys = _keys(stay.sex, stay.ethnicity, stay.age, stay.imd, stay.needs)
        stayed(stay.ward, stay.patient_id, keys, total)
        first = span_of(spans, max(stay.start, since)) or 0
        for scope in (stay.ward, HOSPITAL):
            if scope not in shown:
                continue
            for i in range(first, len(spans)):
                span = spans[i]
                if stay.end is not None and stay.end <= span.start:
                    break
                period_micros[scope, i] += overlap_micros(
                    stay.start, stay.end, span.start, span.end
                )
    for ward, patient, sex, ethnicity, age, imd, needs, amount in sums.patient_stays:
        if amount:
            stayed(ward, patient, _keys(sex, ethnicity, age, imd, needs), amount)
    for ward, dimension, group, amount in sums.stay_sums:
        if dimension != "period":
            raise ValueError(f"stay sums by {dimension!r}: only by period (patient_stays)")
        for scope in (ward, HOSPITAL):
            period_micros[scope, labels[group]] += amount
    for (scope, key), amount in micros.items():
        if scope in tables[PATIENT_DAYS]:
            cell = tables[PATIENT_DAYS][scope][key]
            cell.denominator = amount / _DAY_MICROS
            cell.patients = days[scope, key]
    for (scope, i), amount in period_micros.items():
        if scope in periods[PATIENT_DAYS]:
            periods[PATIENT_DAYS][scope][i].denominator = amount / _DAY_MICROS
    _summed_cells(sums.cells, tables)
    return tables, periods


def _summed_cells(rows: Iterable[tuple[Any, ...]], tables: Mapping[str, Table]) -> None:
    """The equity tables' cells as the store summed them (`DashboardSums.cells`): each cell's
    sums, and its moments where asked for; whole numbers, so the same as from `patients`."""
    # Each cell's sums are added up in its own fields, in whole numbers: set to 0 when first
    # met (the cells by id, not to allocate a key a row), made floats at the end.
    summed: dict[int, _Sum] = {}
    needs_of = lru_cache(maxsize=None)(lambda mask: mask_needs(int(mask)))  # for this call
    for kind, name, ward, dimension, group, n, nx, y, x, yy, xy, xx in rows:
        if name not in tables:
            continue
        scope = HOSPITAL if ward is None else ward
        cells = tables[name].get(scope)
        if cells is None:
            continue
        if kind == "s":
            for g in needs_of(group) if dimension == "needs" else (group,):
                cell = cells[dimension, g]
                if id(cell) in summed:
                    cell.numerator += y
                    cell.denominator += x
                else:
                    summed[id(cell)] = cell
                    cell.numerator, cell.denominator = y, x
        elif kind == "m":  # with the cell's sums
            cell = cells[dimension, group]
            cell.moments = Moments(n, y, x, yy, xy, xx)
            cell.exposed = Moments(nx, 0, x, 0, 0, xx)
            summed[id(cell)] = cell
            cell.numerator, cell.denominator = y, x
        elif kind == "r":
            cells[dimension, group].correction = Moments(n, y, x, yy, xy, xx)
        else:
            raise ValueError(f"summed cells: unknown kind {kind!r}")
    days = {id(cell) for cells in tables.get(PATIENT_DAYS, {}).values() for cell in cells.values()}
    for key, cell in summed.items():
        cell.numerator = float(cell.numerator)
        cell.denominator = (
            cell.denominator / _DAY_MICROS if key in days else float(cell.denominator)
        )


@lru_cache(maxsize=65_536)
def _keys(sex: str, ethnicity: str, age: str, imd: str, needs: int) -> tuple[tuple[str, str], ...]:
    """The cells an item or stay of these groups counts in (few combinations: cached)."""
    return (
        (ALL, ALL), ("sex", sex), ("ethnicity", ethnicity), ("age", age), ("imd", imd),
        *(("needs", g) for g in mask_needs(needs)),
    )  # fmt: skip


def _merge(table: Table, exposure: Table) -> None:
    """A rate's numerator sums take the denominators of its exposure's (and, for the clustered
    intervals, its patients' exposure: `_moments`)."""
    for scope, cells in table.items():
        for key, cell in cells.items():
            other = exposure[scope][key]
            cell.denominator += other.denominator
            cell.exposure = other


Key = tuple[str, str, str, str]  # (measure id or "den", scope, dimension, group)


_Cell = tuple[int, str, str, str]
"""An equity table's cell by its name's number (`_layout`), scope, dimension and group."""


def _suppress(
    family: Sequence[Measure],
    tables: Mapping[str, Mapping[str, Mapping[tuple[str, str], _Sum]]],
    wards: Sequence[str],
    layouts: dict[tuple[int, bool, str], tuple[list[_Cell], Layout]],
) -> frozenset[Key]:
    """The hidden cells of a family's equity tables (numerators of each measure, and the
    shared denominator), with every relation a reader could add up (`_layout`); `wards`: every
    ward (the hospital is their sum). `layouts`: those made so far in this call, by shape (the
    same for every family of one size and kind; filled in)."""
    hidden: set[Key] = set()
    names = [*(m.id for m in family), "den", "not"]
    size = len(family)
    proportion = size == 1 and family[0].kind == "proportion"
    first, last = tables[family[0].id], tables[family[-1].id]
    for dimension, groups in DIMENSIONS.items():
        shape = (size, proportion, dimension)
        if shape not in layouts:
            layouts[shape] = _layout(size, proportion, dimension, groups, wards)
        cells, layout = layouts[shape]
        values = []
        for name, s, _, g in cells:
            key = (ALL, ALL) if g == ALL else (dimension, g)
            if name < size:
                values.append(tables[family[name].id][s][key].numerator)
            elif name == size:  # the denominator: the last member's, as each has it
                values.append(last[s][key].denominator)
            else:  # a proportion's "not": denominator - numerator
                values.append(last[s][key].denominator - first[s][key].numerator)
        hidden.update((names[cells[i][0]], *cells[i][1:]) for i in layout.hidden(values))
    return frozenset(hidden)


def _layout(
    size: int, proportion: bool, dimension: str, groups: Sequence[str], wards: Sequence[str]
) -> tuple[list[_Cell], Layout]:
    """The cells (in order) and relations of a family's equity table of `dimension`: the
    numerators of its `size` measures (names 0 to `size` - 1), the shared denominator (name
    `size`) and, for one proportion, its "not" cells (name `size` + 1)."""
    den, rest = size, size + 1
    scopes = [*wards, HOSPITAL]
    groups_all = (*groups, ALL)
    # Each measure's cells, each beside the denominator's (made once, where first met).
    cells = list(
        dict.fromkeys(
            (name, s, dimension, g)
            for measure in range(size)
            for s in scopes
            for g in groups_all
            for name in (measure, den)
        )
    )
    unpublished: list[_Cell] = []
    if size == 1 and proportion:
        unpublished = [(rest, s, dimension, g) for s in scopes for g in groups_all]
        cells += unpublished
    always = [k for k in cells if k[3] == ALL and k[0] != rest]

    def relations() -> Iterator[Relation[_Cell]]:  # made one at a time: read once
        for name in (*range(size), den):
            for s in scopes:
                yield (name, s, dimension, ALL), [(name, s, dimension, g) for g in groups]
            if wards:
                for g in groups_all:
                    yield (name, HOSPITAL, dimension, g), [(name, w, dimension, g) for w in wards]
        if size > 1:  # the family's numerators add up to the denominator
            for s in scopes:
                for g in groups_all:
                    yield (den, s, dimension, g), [(name, s, dimension, g) for name in range(size)]
        elif proportion:
            # A proportion's numerator is at most its denominator: a reader who finds a
            # denominator of 0 knows its numerator is 0, and subtracts. Said as the relation
            # den = numerator + "not" (the rest, never shown).
            for s in scopes:
                for g in groups_all:
                    yield (den, s, dimension, g), [(0, s, dimension, g), (rest, s, dimension, g)]

    return cells, Layout.of(cells, relations(), always, unpublished)


def _value(m: Measure, total: _Sum) -> float | None:
    if m.kind == "median":
        return _median(total.values) if total.values else None
    if total.denominator <= 0:
        return None
    return m.per * total.numerator / total.denominator


def _median(values: list[float]) -> float:
    """`statistics.median` of `values` (the middle one, or the mean of the middle two, the
    same float), found by partition instead of a sort: a hospital's year of a measure is some
    70,000 values, in each of its cells."""
    half = len(values) // 2
    if len(values) % 2:
        return float(np.partition(np.array(values, dtype=float), half)[half])
    middle = np.partition(np.array(values, dtype=float), (half - 1, half))
    return (float(middle[half - 1]) + float(middle[half])) / 2


def _moments(total: _Sum) -> Moments:
    """The moments of the cell's patients' `(numerator, denominator)`, a rate's denominator
    its exposure's; a patient counting nothing in the cell (0 over 0) is not one of its
    clusters. A rate's are its exposure's (made once, shared by every rate of it) corrected by
    the patients with an event: most patients have none."""
    if total.exposure is None:
        if total.moments is not None:
            return total.moments
        return Moments.of((y, x) for y, x in total.patients.values() if y or x)
    exposure = total.exposure
    if exposure.exposed is None:
        exposure.exposed = Moments.of((0, x) for _, x in exposure.patients.values() if x)
    base = exposure.exposed
    if total.correction is not None:
        c = total.correction
        return Moments(
            base.n + c.n, base.y + c.y, base.x + c.x, base.yy + c.yy, base.xy + c.xy,
            base.xx + c.xx,
        )  # fmt: skip
    n, y, x, yy, xy, xx = base.n, 0, base.x, 0, 0, base.xx
    for patient, (a, b) in total.patients.items():
        found = exposure.patients.get(patient)
        before = 0 if found is None else found[1]
        if not before:
            if not (a or b):
                continue
            n += 1
        both = b + before
        x += b
        xx += both * both - before * before
        y += a
        yy += a * a
        xy += a * both
    return Moments(n, y, x, yy, xy, xx)


def _interval(m: Measure, total: _Sum) -> tuple[float | None, float | None]:
    """A window cell's 95 % interval: the union of the item-level one (Wilson's, or the exact
    Poisson / Byar's on the count) and the one clustered by patient (`clustered`: one patient's
    items are not independent), which needs 2 or more patients. None for a median (its items'
    values are shown as they are) or no denominator."""
    if total.denominator <= 0 or m.kind == "median":
        return None, None
    moments = _moments(total)
    if m.kind == "proportion":
        low, high = wilson(round(total.numerator), round(total.denominator))
        return widest((100 * low, 100 * high), clustered(moments, 100.0, cap=100.0))
    unit = float(_DAY_MICROS) if m.exposure == "patient-days" else 1.0
    current = rate_interval(round(total.numerator), total.denominator, m.per)
    return widest(current, clustered(moments, m.per, unit))


def _result(  # noqa: PLR0917 (one private call site)
    m: Measure,
    periods: Mapping[str, list[_Sum]],
    table: Mapping[str, Mapping[tuple[str, str], _Sum]],
    hidden: frozenset[Key],
    spans: list[PeriodSpan],
    scopes: list[str],
    context: Mapping[str, list[tuple[int, float]]],
    target: float | None,
) -> MeasureResult:
    out = []
    hospital = _value(m, table[HOSPITAL][ALL, ALL])  # a median is costly: once
    for scope in scopes:
        per_period = periods[scope]
        total = table[scope][ALL, ALL]
        low, high = _interval(m, total)
        series, variation, assurance, note = _series(m, spans, per_period, context[scope], target)
        out.append(
            ScopeResult(
                scope=scope,
                numerator=_round(total.numerator),
                denominator=_round(total.denominator),
                value=_round(hospital if scope == HOSPITAL else _value(m, total)),
                ci_low=_round(low),
                ci_high=_round(high),
                series=series,
                variation=variation,
                assurance=assurance,
                spc_note=note,
                equity=_equity(m, table[scope], scope, hidden, hospital),
            )
        )
    return MeasureResult(
        id=m.id,
        title=m.title,
        kind=m.kind,
        unit=m.unit,
        improvement=m.improvement,
        target=target,
        numerator=m.numerator,
        denominator=m.denominator,
        definition=m.definition,
        scopes=out,
    )


def _series(
    m: Measure,
    spans: list[PeriodSpan],
    sums: list[_Sum],
    context: list[tuple[int, float]],
    target: float | None,
) -> tuple[list[SeriesPoint], str | None, str | None, str | None]:
    values = [_value(m, s) for s in sums]
    charted = [Point(span.label, v) for span, v in zip(spans, values, strict=True) if v is not None]
    chart_points: dict[str, Any] = {}
    variation = assurance = note = None
    if len(charted) < 2:
        note = f"not charted: {len(charted)} period(s) with a value (2 or more needed)"
    else:
        try:
            chart = xmr_chart(charted, improvement=m.improvement, target=target)
        except SpcError as exc:
            note = f"not charted: {exc}"
        else:
            chart_points = {p.x: p for p in chart.points}
            variation, assurance = chart.variation, chart.assurance
    series = []
    for span, s, value, (adm, days) in zip(spans, sums, values, context, strict=True):
        p = chart_points.get(span.label) if value is not None else None
        series.append(
            SeriesPoint(
                period=span.label,
                start=span.start,
                end=span.end,
                partial=span.partial,
                numerator=_round(s.numerator),
                denominator=_round(s.denominator),
                value=_round(value),
                admissions=adm,
                patient_days=_round(days),
                mean=None if p is None else _round(p.mean),
                lpl=None if p is None else _round(p.lpl),
                upl=None if p is None else _round(p.upl),
                point_type=None if p is None else p.point_type,
                rule=None if p is None else p.rule,
            )
        )
    return series, variation, assurance, note


def _equity(
    m: Measure,
    table: Mapping[tuple[str, str], _Sum],
    scope: str,
    hidden: frozenset[Key],
    hospital: float | None,
) -> list[EquityRow]:
    rows = []
    for dimension, groups in DIMENSIONS.items():
        for group in groups:
            cell = table[dimension, group]
            n_hidden = (m.id, scope, dimension, group) in hidden
            d_hidden = ("den", scope, dimension, group) in hidden
            value: Shown
            low: Shown
            high: Shown
            ratio: Shown
            if n_hidden or d_hidden:  # its interval not even computed
                value = low = high = ratio = SUPPRESSED
            else:
                own = value = _value(m, cell)
                low, high = _interval(m, cell)
                ratio = None if own is None or not hospital else own / hospital
            rows.append(
                EquityRow(
                    dimension=dimension,
                    group=group,
                    numerator=SUPPRESSED if n_hidden else _round(cell.numerator),
                    denominator=SUPPRESSED if d_hidden else _round(cell.denominator),
                    value=_shown(value),
                    ci_low=_shown(low),
                    ci_high=_shown(high),
                    ratio_to_hospital=_shown(ratio),
                )
            )
    return rows


def _shown(value: float | str | None) -> Shown:
    return value if isinstance(value, str) else _round(value)


def _round(value: float | None) -> Any:
    if value is None:
        return None
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded
