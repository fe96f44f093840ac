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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from surveillance.dashboard._facts import Facts, facts
from surveillance.dashboard._groups import (
    DIMENSIONS,
    UNKNOWN_PERSON,
    Period,
    PeriodSpan,
    period_spans,
    span_of,
)
from surveillance.dashboard._measures import (
    MEASURE_IDS,
    MEASURES,
    NOT_AVAILABLE,
    Item,
    Measure,
    admissions,
    exposure_items,
    patient_days,
)
from surveillance.dashboard._stats import rate_interval, wilson
from surveillance.dashboard._suppress import SUPPRESSED, Relation, Suppression
from surveillance.spc import Point, SpcError, xmr_chart
from surveillance.store import DashboardRows

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
    """Every measure of `[since, until)` per ward (`wards`, default every ward in the rows) and
    the hospital, per period, read as of `until`.

    Raises:
        ValueError: an empty window, an unknown period or a bad target.
    """
    spans = period_spans(since, until, period, tz)
    goals = check_targets(targets or {})
    known = facts(rows, until)
    every_ward = sorted(
        {r.ward for r in rows.adt} | {a.ward for a in rows.alerts} | {s.ward for s in rows.nurse_sets}
        | {e.ward for e in rows.events}
    )  # fmt: skip
    shown_wards = every_ward if wards is None else sorted(set(wards))
    scopes = [*shown_wards, HOSPITAL]
    # Suppression is decided on the table of every ward, whichever are shown: a table of some
    # wards hiding fewer cells would let its numbers and the whole table's (or another
    # subset's) be subtracted, since the hospital is the sum of every ward.
    all_wards = sorted(set(every_ward) | set(shown_wards))
    all_scopes = [*all_wards, HOSPITAL]
    context = _context(known, spans, scopes)
    results: dict[str, MeasureResult] = {}

    def window(items: Iterable[Item]) -> list[Item]:
        return [i for i in items if since <= i.time < until]

    items = {m.id: window(m.items(known, spans)) for m in measures}
    exposures = {
        kind: window(exposure_items(kind, known, spans))
        for kind in {m.exposure for m in measures if m.exposure is not None}
    }
    exposure_tables = {k: _tally(v, all_scopes, known, tz) for k, v in exposures.items()}
    exposure_periods = {k: _periods(v, spans, scopes) for k, v in exposures.items()}
    families: dict[str, list[Measure]] = defaultdict(list)
    for m in measures:
        families[m.family or m.id].append(m)
    for family in families.values():
        tables = {m.id: _tally(items[m.id], all_scopes, known, tz) for m in family}
        periods = {m.id: _periods(items[m.id], spans, scopes) for m in family}
        for m in family:
            if m.exposure is not None:
                _merge(tables[m.id], exposure_tables[m.exposure])
                for scope, sums in periods[m.id].items():
                    for s, e in zip(sums, exposure_periods[m.exposure][scope], strict=True):
                        s.denominator += e.denominator
        hidden = _suppress(family, tables, all_wards)
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


@dataclass(slots=True)
class _Sum:
    numerator: float = 0.0
    denominator: float = 0.0
    values: list[float] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.numerator += item.numerator
        self.denominator += item.denominator
        if item.value is not None:
            self.values.append(item.value)


def _in_scope(item: Item, scope: str) -> bool:
    return item.hospital if scope == HOSPITAL else item.ward == scope


def _tally(
    items: Iterable[Item], scopes: Sequence[str], known: Facts, tz: ZoneInfo
) -> dict[str, dict[tuple[str, str], _Sum]]:
    """The window's sums of each scope by (dimension, group), and (`all`, `all`)."""
    sums: dict[str, dict[tuple[str, str], _Sum]] = {}
    for scope in scopes:
        sums[scope] = {(ALL, ALL): _Sum()}
        for dimension, groups in DIMENSIONS.items():
            for group in groups:
                sums[scope][dimension, group] = _Sum()
    cells: dict[tuple[str, Any], list[tuple[str, str]]] = {}
    for item in items:
        targets = [t for t in (item.ward, HOSPITAL if item.hospital else None) if t in sums]
        if not targets:
            continue
        day = item.time.astimezone(tz).date()
        keys = cells.get((item.patient_id, day))
        if keys is None:
            person = known.persons.get(item.patient_id, UNKNOWN_PERSON)
            keys = [(ALL, ALL)]
            keys += [(d, g) for d in DIMENSIONS for g in person.groups(d, day)]
            cells[item.patient_id, day] = keys
        for scope in targets:
            table = sums[scope]
            for key in keys:
                table[key].add(item)
    return sums


def _periods(
    items: Iterable[Item], spans: list[PeriodSpan], scopes: Sequence[str]
) -> dict[str, list[_Sum]]:
    """The sums of each scope in each period."""
    periods: dict[str, list[_Sum]] = {scope: [_Sum() for _ in spans] for scope in scopes}
    for item in items:
        i = span_of(spans, item.time)
        if i is None:
            continue
        for scope in (item.ward, HOSPITAL if item.hospital else None):
            if scope in periods:
                periods[scope][i].add(item)
    return periods


def _merge(
    table: dict[str, dict[tuple[str, str], _Sum]],
    exposure: Mapping[str, Mapping[tuple[str, str], _Sum]],
) -> None:
    """A rate's numerator sums take the denominators of its exposure's."""
    for scope, cells in table.items():
        for key, cell in cells.items():
            cell.denominator += exposure[scope][key].denominator


Key = tuple[str, str, str, str]  # (measure id or "den", scope, dimension, group)


def _suppress(
    family: Sequence[Measure],
    tables: Mapping[str, Mapping[str, Mapping[tuple[str, str], _Sum]]],
    wards: Sequence[str],
) -> frozenset[Key]:
    """The hidden cells of a family's equity tables (numerators of each measure, and the
    shared denominator), with every relation a reader could add up; `wards`: every ward (the
    hospital is their sum)."""
    hidden: set[Key] = set()
    scopes = [*wards, HOSPITAL]
    for dimension, groups in DIMENSIONS.items():
        values: dict[Key, float] = {}
        for m in family:
            for s in scopes:
                for g in (*groups, ALL):
                    cell = tables[m.id][s][(ALL, ALL) if g == ALL else (dimension, g)]
                    values[m.id, s, dimension, g] = cell.numerator
                    values["den", s, dimension, g] = cell.denominator
        names = [*(m.id for m in family), "den"]
        relations: list[Relation[Key]] = []
        for name in names:
            for s in scopes:
                relations.append(
                    ((name, s, dimension, ALL), [(name, s, dimension, g) for g in groups])
                )
            if wards:
                for g in (*groups, ALL):
                    relations.append(
                        ((name, HOSPITAL, dimension, g), [(name, w, dimension, g) for w in wards])
                    )
        unpublished: list[Key] = []
        if len(family) > 1:  # the family's numerators add up to the denominator
            for s in scopes:
                for g in (*groups, ALL):
                    relations.append(
                        (("den", s, dimension, g), [(m.id, s, dimension, g) for m in family])
                    )
        elif family[0].kind == "proportion":
            # A proportion's numerator is at most its denominator: a reader who finds a
            # denominator of 0 knows its numerator is 0, and subtracts. Said as the relation
            # den = numerator + "not" (the rest, never shown).
            m = family[0]
            for s in scopes:
                for g in (*groups, ALL):
                    rest: Key = ("not", s, dimension, g)
                    values[rest] = values["den", s, dimension, g] - values[m.id, s, dimension, g]
                    unpublished.append(rest)
                    relations.append((("den", s, dimension, g), [(m.id, s, dimension, g), rest]))
        always = [k for k in values if k[3] == ALL and k not in unpublished]
        hidden |= Suppression(values, relations, always, unpublished).hidden
    return frozenset(hidden)


def _value(m: Measure, total: _Sum) -> float | None:
    if m.kind == "median":
        return median(total.values) if total.values else None
    if total.denominator <= 0:
        return None
    return m.per * total.numerator / total.denominator


def _interval(m: Measure, total: _Sum) -> tuple[float | None, float | None]:
    if total.denominator <= 0 or m.kind == "median":
        return None, None
    if m.kind == "proportion":
        low, high = wilson(round(total.numerator), round(total.denominator))
        return 100 * low, 100 * high
    return rate_interval(round(total.numerator), total.denominator, m.per)


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
    for scope in scopes:
        per_period = periods[scope]
        total = table[scope][ALL, ALL]
        low, high = _interval(m, total)
        series, variation, assurance, note = _series(m, spans, per_period, context[scope], target)
        hospital = _value(m, table[HOSPITAL][ALL, ALL])
        out.append(
            ScopeResult(
                scope=scope,
                numerator=_round(total.numerator),
                denominator=_round(total.denominator),
                value=_round(_value(m, total)),
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
            value = _value(m, cell)
            low, high = _interval(m, cell)
            ratio = None if value is None or not hospital else value / hospital
            if n_hidden or d_hidden:
                value = low = high = ratio = SUPPRESSED  # type: ignore[assignment]
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


def _context(
    known: Facts, spans: list[PeriodSpan], scopes: list[str]
) -> dict[str, list[tuple[int, float]]]:
    """Each scope's admissions and patient-days in each period (shown beside every rate)."""
    out: dict[str, list[tuple[int, float]]] = {}
    admitted = admissions(known)
    days = patient_days(known, spans)
    for scope in scopes:
        counts = [0] * len(spans)
        totals = [0.0] * len(spans)
        for item in admitted:
            if _in_scope(item, scope) and (i := span_of(spans, item.time)) is not None:
                counts[i] += 1
        for item in days:
            if _in_scope(item, scope) and (i := span_of(spans, item.time)) is not None:
                totals[i] += item.denominator
        out[scope] = list(zip(counts, totals, strict=True))
    return out
