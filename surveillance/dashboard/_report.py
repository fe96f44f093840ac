"""The monthly "ward to board" report (issue 16 item 5): one ward's (or the hospital's) safety
measures for one calendar month, as a printable HTML document in the Making Data Count style a
board reads: a header (what, when, as of when, how to read the icons), an overview of every
measure, the month's harms, then a page per measure with its XmR chart (SVG drawn here), what
changed, the month's numerator and denominator, and the equity groups whose 95 % interval
excludes the hospital's value.

Pure: `render_report` takes the `Dashboard`s (the month's, and the trailing chart's) and
returns the document; `report_month` reads the month asked for; `build_report` chooses the
chart's window and asks a caller-given `draw` for each dashboard (the service's store, or the
command line's). Every text from the input (a ward's name, a group) is escaped.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from surveillance.dashboard._dashboard import (
    HOSPITAL,
    Dashboard,
    EquityRow,
    MeasureResult,
    ScopeResult,
    SeriesPoint,
)
from surveillance.dashboard._groups import Period

REPORT_WEEKS: Final = 20
"""The trailing chart's points by week: the whole weeks (Monday to Sunday) ending in the month."""
REPORT_MONTHS: Final = 24
"""The trailing chart's points by month, once the store holds `REPORT_MONTHLY_AFTER` months."""
REPORT_DAILY_BELOW: Final = 12
"""Weeks with data below which the chart is drawn by day, over the month itself."""
REPORT_MONTHLY_AFTER: Final = 15
"""Months with data before the chart is drawn by month (24 points) rather than by week."""
EARLIEST: Final = datetime(2, 1, 1, tzinfo=UTC)
"""No window starts before this (the dashboard reads its calendar around the window)."""

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class ReportMonth:
    """A calendar month in the hospital's time zone: `[start, end)`, and `until`, the end or
    now if the month is not over (the report is read as of `until`)."""

    label: str
    start: datetime
    end: datetime
    until: datetime
    timezone: str

    @property
    def title(self) -> str:
        """`November 2026`."""
        return _local(self.start, self.timezone).strftime("%B %Y")

    @property
    def over(self) -> bool:
        """Whether the month has ended (the report is final)."""
        return self.until >= self.end


def report_month(text: str, now: datetime, tz: ZoneInfo) -> ReportMonth:
    """The month `YYYY-MM` in `tz`, read as of `now` if it is not over.

    Raises:
        ValueError: not `YYYY-MM`, a month before 0002-01, or one that has not begun.
    """
    found = _MONTH.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"month {text[:40]!r} is not YYYY-MM (e.g. 2026-11)")
    year, number = int(found[1]), int(found[2])
    if not 1 <= number <= 12:
        raise ValueError(f"month {text!r}: {number} is not a month (01 to 12)")
    if year < 2:
        raise ValueError(f"month {text!r}: the dashboard's calendar starts in 0002")
    if year > 9997:
        raise ValueError(f"month {text!r}: the dashboard's calendar ends in 9997")
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    start, end = _midnight(first, tz), _midnight(following, tz)
    if start >= now:
        raise ValueError(
            f"month {text!r} has not begun yet (it is {now.astimezone(tz):%Y-%m-%d %H:%M} now)"
        )
    return ReportMonth(f"{year:04d}-{number:02d}", start, end, min(end, now), tz.key)


def report_weekly_window(month: ReportMonth) -> tuple[datetime, datetime]:
    """The trailing chart by week: the `REPORT_WEEKS` whole weeks (Monday to Sunday, local) ending on
    or before `month.until` (a week cut short would be a point of a few days)."""
    tz = ZoneInfo(month.timezone)
    last = month.until.astimezone(tz).date()
    monday = last - timedelta(days=last.weekday())
    since = max(_midnight(monday - timedelta(weeks=REPORT_WEEKS), tz), EARLIEST)
    return since, _midnight(monday, tz)


def report_monthly_window(month: ReportMonth) -> tuple[datetime, datetime]:
    """The trailing chart by month: the `REPORT_MONTHS` calendar months ending with the report's."""
    tz = ZoneInfo(month.timezone)
    first = month.start.astimezone(tz).date()
    index = first.year * 12 + first.month - 1 - (REPORT_MONTHS - 1)
    since = max(_midnight(date(max(index // 12, 1), index % 12 + 1, 1), tz), EARLIEST)
    return since, month.until


def _has_data(p: SeriesPoint) -> bool:
    return p.patient_days > 0 or p.admissions > 0 or p.denominator > 0


def trimmed(board: Dashboard, scope: str) -> Dashboard:
    """`board` from the first period in which `scope` has data in some measure (a chart of a
    store younger than its window starts where the store does); `board` itself when none."""
    first = min(
        (
            i
            for m in board.measures
            for s in m.scopes
            if s.scope == scope
            for i, p in enumerate(s.series)
            if _has_data(p)
        ),
        default=0,
    )
    if first == 0:
        return board
    measures = [
        replace(m, scopes=[replace(s, series=s.series[first:]) for s in m.scopes])
        for m in board.measures
    ]
    since = next((s.series[0].start for m in measures for s in m.scopes if s.series), board.since)
    return replace(board, measures=measures, since=since)


def periods_with_data(board: Dashboard, scope: str) -> int:
    """How many periods of `scope`'s series hold anything (a patient-day, an admission, a
    denominator) in any measure."""
    found: set[str] = set()
    for m in board.measures:
        for s in m.scopes:
            if s.scope == scope:
                found |= {p.period for p in s.series if _has_data(p)}
    return len(found)


Draw = Callable[[datetime, datetime, Period], Awaitable[Dashboard]]
"""The dashboard of `[since, until)` by `period`, of the report's ward and the hospital."""


async def build_report(
    draw: Draw,
    *,
    ward: str | None,
    month: ReportMonth,
    generated: datetime,
    stylesheet: str | None = None,
    css: str | None = None,
    icon: str | None = None,
) -> str:
    """The report of `ward` (None: the hospital) for `month`: the month's dashboard, and the
    chart's: by week (`report_weekly_window`); by day over the month when fewer than `REPORT_DAILY_BELOW`
    of those weeks hold data (a young store); by month (`report_monthly_window`) when the store holds
    `REPORT_MONTHLY_AFTER` months or more. Arguments as for `render_report`.

    Raises:
        ValueError: what `draw` raises for a window it cannot draw.
    """
    scope = HOSPITAL if ward is None else ward
    since, until = report_weekly_window(month)
    weeks = await draw(since, until, "week") if since < until else None
    found = 0 if weeks is None else periods_with_data(weeks, scope)
    if weeks is None or found < REPORT_DAILY_BELOW:
        # by day over the month: the same window as the month's, so it is the month's too
        board = trend = await draw(month.start, month.until, "day")
    else:
        board = await draw(month.start, month.until, "month")
        trend = weeks
        if found >= REPORT_WEEKS:
            since, until = report_monthly_window(month)
            months = await draw(since, until, "month")
            if periods_with_data(months, scope) >= REPORT_MONTHLY_AFTER:
                trend = months
    return render_report(
        board,
        trend,
        scope=scope,
        month=month,
        generated=generated,
        stylesheet=stylesheet,
        css=css,
        icon=icon,
    )


# ---- words -----------------------------------------------------------------------------------

_VARIATION: Final = {
    "common_cause": ("common", "", "Common cause — no significant change"),
    "special_cause_improvement": ("improvement", None, "Special cause — improvement"),
    "special_cause_concern": ("concern", None, "Special cause — concern"),
    "special_cause_neutral_high": ("neutral", "H", "Special cause — higher, neither better nor worse"),
    "special_cause_neutral_low": ("neutral", "L", "Special cause — lower, neither better nor worse"),
}  # fmt: skip
_ASSURANCE: Final = {
    "consistent_pass": ("improvement", "P", "Consistently passing the target"),
    "consistent_fail": ("concern", "F", "Consistently failing the target"),
    "inconsistent": ("common", "?", "Hit and miss: the target lies inside the process limits"),
}
_RULES: Final = {
    "outside-limits": "a point outside the process limits",
    "shift": "a run of 7 or more on one side of the mean",
    "trend": "7 or more rising or falling in a row",
    "two-in-three": "2 of 3 points close to a process limit",
}
_DIMENSIONS: Final = {
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "age": "Age",
    "imd": "Deprivation (IMD quintile)",
    "needs": "Recorded needs",
}
_DIRECTION: Final = {
    "increase": "higher is better",
    "decrease": "lower is better",
    "neutral": "no better direction",
}
_COLOUR: Final = {
    "common": "#6b7580",
    "improvement": "#1d6fb8",
    "concern": "#d86e00",
    "neutral": "#6f3c96",
    "none": "#9aa3ab",
}
_TARGET_COLOUR: Final = "#a3125a"
_SHAPE_WORDS: Final = {
    "common": "circle",
    "improvement": "diamond",
    "concern": "triangle",
    "neutral": "square",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | str | None, digits: int = 1) -> str:
    """A count or value for reading: `1,234`, `12.5`, `*` (suppressed) or `–` (none)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return "–"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _fixed(value: float | str | None, digits: int = 1) -> str:
    """A measured value, always with `digits` decimals (80.0, not 80)."""
    if value is None or isinstance(value, str):
        return _num(value)
    return f"{value:,.{digits}f}"


def _with_unit(value: float | str | None, m: MeasureResult) -> str:
    if value is None or isinstance(value, str):
        return _num(value)
    return f"{_fixed(value)} %" if m.unit == "%" else f"{_fixed(value)} {m.unit}"


def _title(m: MeasureResult) -> str:
    return m.title[:1].upper() + m.title[1:]


def _scope_name(scope: str) -> str:
    return "the whole hospital" if scope == HOSPITAL else f"ward {scope}"


def _local(t: datetime, zone: str) -> datetime:
    return t.astimezone(ZoneInfo(zone))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _day(d: date, rest: str = "%B %Y") -> str:
    """`1 November 2026` (`rest` formats what follows the day)."""
    return f"{d.day} {d:{rest}}"


def _moment(t: datetime, zone: str) -> str:
    local = _local(t, zone)
    return f"{_day(local.date())} {local:%H:%M}"


def _period_label(p: SeriesPoint, period: str, zone: str) -> str:
    start = _local(p.start, zone)
    if period == "month":
        return start.strftime("%b %Y")
    return f"{start.day} {start:%b}"


def _period_words(p: SeriesPoint, period: str, zone: str) -> str:
    label = _period_label(p, period, zone)
    return f"the week of {label}" if period == "week" else label


def _charted(scope: ScopeResult) -> list[SeriesPoint]:
    return [p for p in scope.series if p.point_type is not None and p.value is not None]


def variation_words(scope: ScopeResult) -> tuple[str, str, str]:
    """The variation icon of `scope`'s chart: (tone, letter, words)."""
    if scope.variation is None or scope.variation not in _VARIATION:
        return "none", "", "No SPC chart (too few periods)"
    tone, letter, words = _VARIATION[scope.variation]
    if letter is None:
        charted = _charted(scope)
        last = charted[-1] if charted else None
        higher = (
            last is not None
            and last.value is not None
            and last.mean is not None
            and last.value > last.mean
        )
        letter = "H" if higher else "L"
        words = f"{words} ({'higher' if higher else 'lower'})"
    return tone, letter, words


def assurance_words(m: MeasureResult, scope: ScopeResult) -> tuple[str, str, str]:
    """The assurance icon of `scope`'s chart against `m`'s target: (tone, letter, words)."""
    if m.target is None:
        return "none", "", "No target set"
    if scope.assurance is None or scope.assurance not in _ASSURANCE:
        return "none", "", f"Target {_num(m.target)}: not assessed (no process limits)"
    tone, letter, words = _ASSURANCE[scope.assurance]
    return tone, letter, f"{words} ({_num(m.target)})"


def what_changed(m: MeasureResult, scope: ScopeResult, period: str, zone: str) -> str:
    """One sentence: what the chart's latest point says, and by which rule."""
    if scope.spc_note:
        return f"No chart: {scope.spc_note.removeprefix('not charted: ')}."
    charted = _charted(scope)
    if not charted:
        return "No chart yet."
    last = charted[-1]
    when = _period_words(last, period, zone)
    value = _with_unit(last.value, m)
    if last.point_type == "common_cause":
        if last.lpl is None or last.upl is None:
            return (
                f"No sign of change: {when} ({value}), mean {_fixed(last.mean)}; there is no "
                "moving range to set process limits from."
            )
        return (
            f"No sign of change: {when} ({value}) is within the process limits "
            f"({_fixed(last.lpl)} to {_fixed(last.upl)}) around the mean of {_fixed(last.mean)}."
        )
    kind = _VARIATION.get(last.point_type or "", ("", "", "a special cause"))[2]
    kind = kind.removeprefix("Special cause — ").lower()
    above = last.value is not None and last.mean is not None and last.value > last.mean
    side = "above" if above else "below"
    limit = "upper" if above else "lower"
    rule = {
        "outside-limits": f"{when} ({value}) is {side} the {limit} process limit",
        "shift": (
            f"{when} ({value}) ends a run of 7 or more {period}s {side} the mean of "
            f"{_fixed(last.mean)}"
        ),
        "trend": f"{when} ({value}) ends 7 or more {period}s {'rising' if above else 'falling'} in a row",
        "two-in-three": f"{when} ({value}) is one of 2 in 3 {period}s close to the {limit} limit",
    }.get(last.rule or "", f"{when} ({value}) is a special cause")
    return f"Special cause, {kind}: {rule}."


# ---- drawings (SVG, styled by attributes: readable without the stylesheet, and in print) ----


def _shape(tone: str, cx: float, cy: float, *, hollow: bool = False, size: float = 1.0) -> str:
    """A point: common cause a circle, improvement a diamond, concern a triangle, neither a
    square (shape as well as colour); hollow for a period not over."""
    colour = _COLOUR.get(tone, _COLOUR["common"])
    paint = (
        f'fill="#fff" stroke="{colour}" stroke-width="2.5"'
        if hollow
        else f'fill="{colour}" stroke="#fff" stroke-width="1"'
    )
    cls = f'class="pt pt-{tone}{" partial" if hollow else ""}"'
    s = size
    if tone == "improvement":
        d = f"M{cx:.1f} {cy - 10 * s:.1f} L{cx + 10 * s:.1f} {cy:.1f} L{cx:.1f} {cy + 10 * s:.1f} L{cx - 10 * s:.1f} {cy:.1f} Z"
        return f'<path d="{d}" {cls} {paint}'
    if tone == "concern":
        d = f"M{cx:.1f} {cy - 10 * s:.1f} L{cx + 10 * s:.1f} {cy + 7 * s:.1f} L{cx - 10 * s:.1f} {cy + 7 * s:.1f} Z"
        return f'<path d="{d}" {cls} {paint}'
    if tone == "neutral":
        return (
            f'<rect x="{cx - 7 * s:.1f}" y="{cy - 7 * s:.1f}" width="{14 * s:.1f}" '
            f'height="{14 * s:.1f}" {cls} {paint}'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{5.5 * s:.1f}" {cls} {paint}'


def _icon(kind: str, tone: str, letter: str, words: str) -> str:
    """Making Data Count's variation or assurance icon (a ring, a small run of points, a letter)
    with its words beside it."""
    colour = _COLOUR.get(tone, _COLOUR["none"])
    ring = 'stroke-dasharray="4 3"' if tone == "none" else ""
    art = [
        f'<svg class="icon-art" viewBox="0 0 40 40" width="40" height="40" aria-hidden="true">'
        f'<circle cx="20" cy="20" r="17" fill="#fff" stroke="{colour}" stroke-width="3" {ring}/>'
    ]
    if kind == "variation" and tone != "none":
        ys = (
            [22, 18, 23, 19, 21]
            if tone == "common"
            else [27, 25, 21, 16, 12]
            if letter == "H"
            else [13, 15, 19, 24, 28]
        )
        points = " ".join(f"{9 + i * 5.5:.1f},{y}" for i, y in enumerate(ys))
        art.append(f'<polyline points="{points}" fill="none" stroke="#9aa3ab" stroke-width="1.5"/>')
        for i, y in enumerate(ys):
            dot = colour if i >= 3 and tone != "common" else _COLOUR["common"]
            art.append(f'<circle cx="{9 + i * 5.5:.1f}" cy="{y}" r="2" fill="{dot}"/>')
    if letter:
        y, size = (37, 11) if kind == "variation" else (27, 17)
        art.append(
            f'<text x="20" y="{y}" text-anchor="middle" font-size="{size}" font-weight="800" '
            f'font-family="Liberation Sans, DejaVu Sans, Arial, sans-serif" fill="{colour}">'
            f"{_e(letter)}</text>"
        )
    art.append("</svg>")
    return (
        f'<div class="icon tone-{_e(tone)}" data-kind="{_e(kind)}">{"".join(art)}'
        f'<span class="icon-words">{_e(words)}</span></div>'
    )


_W, _H = 960, 300
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 70, 24, 14, 42


def _axis_number(v: float) -> str:
    text = f"{round(v, 3):,.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _nice_step(span: float) -> float:
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next((f * power for f in (1, 2, 2.5, 5, 10) if raw <= f * power), raw or 1.0)


def chart_svg(m: MeasureResult, scope: ScopeResult, period: str, zone: str) -> str:
    """The XmR chart: points joined by a line, the mean solid, the process limits dashed, the
    target dash-dot, each point shaped and coloured by its type, a title on each in words."""
    points = scope.series
    values = [
        v
        for p in points
        for v in (p.value, p.mean, p.lpl, p.upl)
        if v is not None and math.isfinite(v)
    ]
    if m.target is not None:
        values.append(m.target)
    ceiling = 100.0 if m.unit == "%" else math.inf
    low = min(values) if values else 0.0
    high = max(values) if values else 1.0
    spread = high - low or max(abs(high) * 0.2, 1.0)
    low = max(0.0, low - spread * 0.12)
    high = min(ceiling, high + spread * 0.12)
    step = _nice_step(high - low)
    low = max(0.0, math.floor(low / step) * step)
    high = min(ceiling, math.ceil(high / step) * step)
    if high <= low:
        high = low + step
    n = len(points)
    inner = _W - _PAD_LEFT - _PAD_RIGHT

    def x(i: int) -> float:
        return _PAD_LEFT + (inner / 2 if n <= 1 else i * inner / (n - 1))

    def y(v: float) -> float:
        clamped = min(high, max(low, v))
        return _PAD_TOP + (_H - _PAD_TOP - _PAD_BOTTOM) * (1 - (clamped - low) / (high - low))

    label = f"{_title(m)}: XmR chart of {_scope_name(scope.scope)}, {n} {period}s"
    out = [
        f'<svg class="spc" viewBox="0 0 {_W} {_H}" role="img" aria-label="{_e(label)}" '
        'font-family="Liberation Sans, DejaVu Sans, Arial, sans-serif" font-size="15">'
    ]
    v = low
    while v <= high + step / 1000:
        out.append(
            f'<line x1="{_PAD_LEFT}" x2="{_W - _PAD_RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'class="grid" stroke="#e3e7eb" stroke-width="1"/>'
            f'<text x="{_PAD_LEFT - 8}" y="{y(v) + 5:.1f}" text-anchor="end" class="axis" '
            f'fill="#3d4650">{_axis_number(v)}</text>'
        )
        v += step
    every = max(1, math.ceil(n / 12))
    for i, p in enumerate(points):
        last = i == n - 1
        if (i % every == 0 and n - 1 - i >= every) or last:
            anchor = "start" if n > 1 and i == 0 else "end" if n > 1 and last else "middle"
            shift = -6 if anchor == "start" else 6 if anchor == "end" else 0
            out.append(
                f'<text x="{x(i) + shift:.1f}" y="{_H - _PAD_BOTTOM + 24}" text-anchor="{anchor}" '
                f'class="axis" fill="#3d4650">{_e(_period_label(p, period, zone))}</text>'
            )

    def path(values: Sequence[float | None], cls: str, paint: str, title: str) -> None:
        parts: list[str] = []
        for i, value in enumerate(values):
            if value is not None and math.isfinite(value):
                parts.append(f"{'L' if parts else 'M'}{x(i):.1f},{y(value):.1f}")
        if parts:
            out.append(
                f'<path d="{" ".join(parts)}" class="{cls}" fill="none" {paint}>'
                f"<title>{_e(title)}</title></path>"
            )

    limit = 'stroke="#5a6672" stroke-width="1.6" stroke-dasharray="7 5"'
    path([p.upl for p in points], "limit", limit, "upper process limit")
    path([p.lpl for p in points], "limit", limit, "lower process limit")
    path([p.mean for p in points], "mean", 'stroke="#34404c" stroke-width="2"', "mean")
    if m.target is not None:
        ty = y(m.target)
        out.append(
            f'<line x1="{_PAD_LEFT}" x2="{_W - _PAD_RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'class="target" stroke="{_TARGET_COLOUR}" stroke-width="2" '
            'stroke-dasharray="12 4 2 4"><title>target</title></line>'
            f'<text x="{_W - _PAD_RIGHT - 4}" y="{ty - 6:.1f}" text-anchor="end" '
            f'class="axis target-label" fill="{_TARGET_COLOUR}" font-weight="700">'
            f"target {_e(_num(m.target))}</text>"
        )
    path([p.value for p in points], "data", 'stroke="#7d8993" stroke-width="2"', m.title)
    for i, p in enumerate(points):
        if p.value is None:
            continue
        kind = p.point_type or "common_cause"
        tone = _VARIATION.get(kind, _VARIATION["common_cause"])[0]
        if kind == "common_cause" or p.point_type is None:
            said = "common cause"
        else:
            rule = _RULES.get(p.rule or "", p.rule or "")
            said = f"{_VARIATION[kind][2].lower()} ({rule})"
        title = (
            f"{_period_label(p, period, zone)}: {_with_unit(p.value, m)} "
            f"({_num(p.numerator)} of {_num(p.denominator)}) — {said}"
            f"{'; period not over' if p.partial else ''}"
        )
        out.append(
            _shape(tone, x(i), y(p.value), hollow=p.partial)
            + f' data-type="{_e(kind)}"><title>{_e(title)}</title>'
            + ("</path>" if tone in ("improvement", "concern") else "</rect>" if tone == "neutral" else "</circle>")
        )  # fmt: skip
    out.append("</svg>")
    return "".join(out)


# ---- the document ----------------------------------------------------------------------------


def _scope(m: MeasureResult, name: str) -> ScopeResult | None:
    return next((s for s in m.scopes if s.scope == name), None)


def _is_harm(m: MeasureResult) -> bool:
    return "_per_1000_" in m.id


def differing_groups(
    m: MeasureResult, scope: ScopeResult, hospital: float | None
) -> list[EquityRow]:
    """The equity rows whose 95 % interval excludes the hospital's value; a row with any cell
    suppressed (`*`) is never among them, so nothing of it is shown beside its neighbours."""
    if hospital is None or m.kind == "median":
        return []
    return [
        r
        for r in scope.equity
        if not any(
            isinstance(v, str) for v in (r.numerator, r.denominator, r.value, r.ratio_to_hospital)
        )
        and isinstance(r.ci_low, int | float)
        and isinstance(r.ci_high, int | float)
        and not (r.ci_low <= hospital <= r.ci_high)
    ]


def _chart_mean(scope: ScopeResult) -> float | None:
    charted = _charted(scope)
    return charted[-1].mean if charted else None


def _key() -> str:
    shapes = "".join(
        f'<li><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">'
        f"{_shape(tone, 12, 13, size=0.8)}/></svg> {words}</li>"
        for tone, words in (
            ("common", "common cause (circle): no signal"),
            ("improvement", "special cause — improvement (diamond)"),
            ("concern", "special cause — concern (triangle)"),
            ("neutral", "special cause — neither better nor worse (square)"),
        )
    )
    icons = "".join(
        _icon(kind, tone, letter, words)
        for kind, tone, letter, words in (
            ("variation", "common", "", "Common cause: no significant change"),
            ("variation", "improvement", "H", "Special cause, improvement (H higher, L lower)"),
            ("variation", "concern", "L", "Special cause, concern (H higher, L lower)"),
            ("assurance", "improvement", "P", "Consistently passing the target"),
            ("assurance", "concern", "F", "Consistently failing the target"),
            ("assurance", "common", "?", "Hit and miss: the target lies inside the limits"),
        )
    )
    return (
        '<section class="key" aria-label="How to read this report"><h2>How to read it</h2>'
        "<p>Each chart is an XmR chart (NHS England, Making Data Count): the mean (solid line), "
        "the process limits (dashed: mean ± 2.66 × the mean moving range), the target "
        "(dash-dot) when one is set. A special cause is a point outside the limits, a run of 7 "
        "on one side of the mean, 7 rising or falling, or 2 of 3 close to a limit.</p>"
        f'<ul class="shapes">{shapes}<li><svg viewBox="0 0 24 24" width="20" height="20" '
        f'aria-hidden="true">{_shape("common", 12, 13, size=0.8, hollow=True)}/></svg> '
        "a hollow point: a period not over</li></ul>"
        f'<div class="icons key-icons">{icons}</div></section>'
    )


def render_report(
    board: Dashboard,
    trend: Dashboard,
    *,
    scope: str,
    month: ReportMonth,
    generated: datetime,
    stylesheet: str | None = None,
    css: str | None = None,
    icon: str | None = None,
) -> str:
    """The report as a complete HTML document.

    Args:
        board: the month's dashboard (its window the month, by month): the month's numbers,
            harms and equity.
        trend: the trailing chart's dashboard (by week or month), ending with the month.
        scope: the ward, or `HOSPITAL`.
        month: the month reported.
        generated: when the report was made.
        stylesheet: the URL of a stylesheet to link (the served page: its CSP allows no
            `<style>`); `css`: a stylesheet's text to put in the document (a standalone file).
        icon: the URL of the page's icon (served: else the browser asks for /favicon.ico).
    """
    zone = board.timezone
    trend = trimmed(trend, scope)
    where = "Whole hospital" if scope == HOSPITAL else f"Ward {scope}"
    heading = f"{where} · {month.title}"
    last_day = _local(month.until - timedelta(microseconds=1), zone).date()
    first_day = _local(month.start, zone).date()
    trend_first = _local(trend.since, zone).date()
    trend_last = _local(trend.until - timedelta(microseconds=1), zone).date()
    n_points = len(next((s.series for m in trend.measures if (s := _scope(m, scope))), []))
    chart_span = {
        "week": " (whole weeks, Monday to Sunday)",
        "day": " (fewer than 12 weeks of data: by day over the month)",
        "month": " (calendar months)",
    }.get(trend.period, "")
    status = (
        "final: the month is over"
        if month.over
        else "provisional: the month is not over, figures will change"
    )
    head = [
        '<!doctype html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(heading)} · Ward to board safety report</title>\n",
    ]
    if icon is not None:
        head.append(f'<link rel="icon" href="{_e(icon)}" type="image/svg+xml">\n')
    if stylesheet is not None:
        head.append(f'<link rel="stylesheet" href="{_e(stylesheet)}">\n')
    if css is not None:
        safe = css.replace("</", "<\\/")  # no `</style>` can end it early
        head.append(f"<style>\n{safe}\n</style>\n")
    head.append('</head>\n<body class="report">\n')
    body = [
        '<header class="report-head">',
        '<p class="kicker">Ward to board · safety and quality report</p>',
        f'<h1 id="report-title">{_e(heading)}</h1>',
        '<dl class="facts">',
        f"<dt>Month</dt><dd>{_day(first_day)} to {_day(last_day)} inclusive "
        f"({_e(zone)}); {_e(status)}</dd>",
        f"<dt>Charts</dt><dd>one point per {_e(trend.period)}, {n_points} {_e(trend.period)}s "
        f"from {_day(trend_first, '%b %Y')} to {_day(trend_last, '%b %Y')}"
        f"{_e(chart_span)}</dd>",
        f"<dt>Data as of</dt><dd>{_moment(month.until, zone)} (everything as "
        "the store knew it then: a set not yet missed or an alert not yet answered is left "
        "out)</dd>",
        f"<dt>Generated</dt><dd>{_moment(generated, zone)}</dd>",
        "</dl>",
        "</header>",
        _key(),
        _overview(board, trend, scope, zone),
        _harms(board, scope),
    ]
    for m in board.measures:
        t = next((x for x in trend.measures if x.id == m.id), None)
        body.append(_measure(m, t, scope, trend.period, zone))
    body.append('<footer class="report-foot">')
    body.append(f'<p class="small">{_e(board.suppression)}</p>')
    body.extend(
        f'<p class="small">Not shown: {_e(item.get("id", "").replace("_", " "))}. '
        f"{_e(item.get('reason', ''))}</p>"
        for item in board.not_available
    )
    body.append("</footer>\n</body>\n</html>\n")
    return "".join(head) + "\n".join(body)


_SHORT: Final = (
    ("Common cause", "Common cause"),
    ("No SPC chart", "No chart"),
    ("Special cause — improvement (higher)", "Improvement (higher)"),
    ("Special cause — improvement (lower)", "Improvement (lower)"),
    ("Special cause — concern (higher)", "Concern (higher)"),
    ("Special cause — concern (lower)", "Concern (lower)"),
    ("Special cause — higher", "Neither (higher)"),
    ("Special cause — lower", "Neither (lower)"),
    ("Consistently passing", "Passing the target"),
    ("Consistently failing", "Failing the target"),
    ("Hit and miss", "Hit and miss"),
    ("No target set", "No target set"),
)


def _short(words: str) -> str:
    """An icon's words for the overview's narrow column."""
    return next((short for long, short in _SHORT if words.startswith(long)), words)


def _column(head: str) -> str:
    """A column's heading (`#name`: a column of numbers, aligned right)."""
    if head.startswith("#"):
        return f'<th scope="col" class="num">{_e(head[1:])}</th>'
    return f'<th scope="col">{_e(head)}</th>'


def _overview(board: Dashboard, trend: Dashboard, scope: str, zone: str) -> str:
    rows = []
    ward = scope != HOSPITAL
    for m in board.measures:
        s = _scope(m, scope)
        t_m = next((x for x in trend.measures if x.id == m.id), None)
        t = _scope(t_m, scope) if t_m is not None else None
        if s is None:
            continue
        v_tone, v_letter, v_words = variation_words(t) if t is not None else ("none", "", "–")
        a_tone, a_letter, a_words = (
            assurance_words(m, t) if t is not None else ("none", "", "No target set")
        )
        v_words, a_words = _short(v_words), _short(a_words)
        hospital = _scope(m, HOSPITAL)
        cells = [
            f'<th scope="row"><a href="#m-{_e(m.id)}">{_e(_title(m))}</a></th>',
            f'<td class="num">{_e(_with_unit(s.value, m))} '
            f'<span class="nd">{_e(_num(s.numerator))} / {_e(_num(s.denominator))}</span></td>',
        ]
        if ward:
            cells.append(
                f'<td class="num">{_e(_with_unit(hospital.value if hospital else None, m))}</td>'
            )
        cells += [
            f'<td class="num">{_e(_fixed(_chart_mean(t) if t else None))}</td>',
            f'<td class="icon-cell">{_icon("variation", v_tone, v_letter, v_words)}</td>',
            f'<td class="icon-cell">{_icon("assurance", a_tone, a_letter, a_words)}</td>',
            f'<td class="num">{_e(_num(m.target))}</td>',
        ]
        rows.append(f'<tr data-measure="{_e(m.id)}">{"".join(cells)}</tr>')
    heads = ["Measure", "#This month (n / d)"]
    heads += ["#Hospital this month"] if ward else []
    heads += ["#Chart mean", "Variation", "Assurance", "#Target"]
    return (
        '<section class="overview"><h2>Overview</h2>'
        '<div class="table-scroll" role="region" aria-label="Overview table" tabindex="0">'
        '<table class="overview-table"><thead><tr>'
        + "".join(_column(h) for h in heads)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="small">Variation and assurance are read from the chart (its latest point '
        "and its process limits against the target); the chart mean is the mean of its "
        "latest segment.</p></section>"
    )


def _harms(board: Dashboard, scope: str) -> str:
    rows = []
    for m in board.measures:
        s = _scope(m, scope)
        if s is None or not _is_harm(m):
            continue
        hospital = _scope(m, HOSPITAL)
        label = _title(m).split(" per 1,000 ")[0]
        rows.append(
            f'<tr data-measure="{_e(m.id)}"><th scope="row">{_e(label)}</th>'
            f'<td class="num count">{_e(_num(s.numerator))}</td>'
            f'<td class="num">{_e(_with_unit(s.value, m))}</td>'
            f'<td class="num">{_e(_num(s.denominator))}</td>'
            + (
                f'<td class="num">{_e(_num(hospital.numerator))}</td>'
                if hospital is not None and scope != HOSPITAL
                else ""
            )
            + "</tr>"
        )
    if not rows:
        return ""
    heads = ["Clinical event", "#Count this month", "#Rate", "#Denominator"]
    heads += ["#Hospital count"] if scope != HOSPITAL else []
    return (
        '<section class="harms"><h2>Harms this month</h2>'
        "<p>Counted from the clinical events recorded (CONTRACT §9) on "
        f"{_e(_scope_name(scope))}; rates per 1,000 admissions (cardiac arrests, ICU "
        "admissions, deaths) or per 1,000 occupied bed-days (falls, pressure ulcers).</p>"
        '<table class="harms-table"><thead><tr>'
        + "".join(_column(h) for h in heads)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _measure(m: MeasureResult, t: MeasureResult | None, scope: str, period: str, zone: str) -> str:
    s = _scope(m, scope)
    ts = _scope(t, scope) if t is not None else None
    if s is None:
        return ""
    target = (
        f"target {_num(m.target)}{' %' if m.unit == '%' else ''}"
        if m.target is not None
        else "no target set"
    )
    parts = [
        f'<section class="measure" id="m-{_e(m.id)}" aria-labelledby="t-{_e(m.id)}">',
        f'<h2 id="t-{_e(m.id)}">{_e(_title(m))}</h2>',
        f'<p class="direction">{_e(_DIRECTION.get(m.improvement, m.improvement))} · {_e(target)}</p>',
    ]
    if ts is not None and t is not None:
        parts += [
            '<div class="icons">',
            _icon("variation", *variation_words(ts)),
            _icon("assurance", *assurance_words(t, ts)),
            "</div>",
            f'<p class="changed">{_e(what_changed(t, ts, period, zone))}</p>',
            f'<figure class="chart">{chart_svg(t, ts, period, zone)}'
            f"<figcaption>One point per {_e(period)}; the mean solid, process limits dashed"
            f"{', the target dash-dot' if t.target is not None else ''}.</figcaption></figure>",
        ]
    admitted = sum(p.admissions for p in s.series) if s.series else None
    days = sum(p.patient_days for p in s.series) if s.series else None
    ci = (
        f"{_fixed(s.ci_low)}–{_fixed(s.ci_high)}"
        if s.ci_low is not None and s.ci_high is not None
        else "–"
    )
    parts.append(
        '<table class="month-table"><caption>This month</caption><tbody>'
        f'<tr><th scope="row">Value</th><td class="num">{_e(_with_unit(s.value, m))}</td></tr>'
        f'<tr><th scope="row">95 % interval</th><td class="num">{_e(ci)}</td></tr>'
        f'<tr><th scope="row">Numerator: {_e(m.numerator)}</th>'
        f'<td class="num">{_e(_num(s.numerator))}</td></tr>'
        f'<tr><th scope="row">Denominator: {_e(m.denominator)}</th>'
        f'<td class="num">{_e(_num(s.denominator))}</td></tr>'
        f'<tr><th scope="row">Admissions</th><td class="num">'
        f"{_e(_num(admitted))}</td></tr>"
        f'<tr><th scope="row">Patient-days</th><td class="num">'
        f"{_e(_num(None if days is None else round(days, 4)))}</td></tr>"
        "</tbody></table>"
    )
    parts.append(_equity(m, s))
    parts.append(f'<p class="small definition">{_e(m.definition)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _equity(m: MeasureResult, s: ScopeResult) -> str:
    hospital_scope = _scope(m, HOSPITAL)
    hospital = hospital_scope.value if hospital_scope is not None else None
    if m.kind == "median":
        return (
            '<p class="equity-none">Equity: a median has no interval here; the groups\' medians '
            "are in the dashboard's table.</p>"
        )
    rows = differing_groups(m, s, hospital)
    hidden = sum(
        1 for r in s.equity if any(isinstance(v, str) for v in (r.numerator, r.denominator))
    )
    said = (
        f"{len(s.equity)} groups compared with the hospital's value of "
        f"{_with_unit(hospital, m)} this month; {hidden} hidden as * (small numbers)."
    )
    if not rows:
        return (
            f"<p class=\"equity-none\">Equity: no group's 95 % interval excludes the hospital's "
            f"value. {_e(said)}</p>"
        )
    body = "".join(
        f'<tr><th scope="row">{_e(_DIMENSIONS.get(r.dimension, r.dimension))}: {_e(r.group)}</th>'
        f'<td class="num">{_e(_num(r.numerator))} / {_e(_num(r.denominator))}</td>'
        f'<td class="num">{_e(_fixed(r.value))}</td>'
        f'<td class="num">{_e(_fixed(r.ci_low))}–{_e(_fixed(r.ci_high))}</td>'
        f'<td class="num">{_e(_fixed(r.ratio_to_hospital, 2))}</td></tr>'
        for r in rows
    )
    return (
        '<table class="equity-table"><caption>Equity: groups whose 95 % interval excludes '
        "the hospital's value, this month</caption><thead><tr>"
        + "".join(
            _column(h) for h in ("Group", "#n / d", "#Value", "#95 % CI", "#Ratio to hospital")
        )
        + "</tr></thead>"
        f'<tbody>{body}</tbody></table><p class="small">{_e(said)}</p>'
    )
