"""The monthly "ward to board" report (`surveillance.dashboard.render_report`, issue 16 item 5):
hand-built `Dashboard`s rendered, and read back with the standard library's HTML parser, so
every assertion is about what a reader (or a browser) gets: escaped text, icons in words, no
suppressed cell shown, the month read and the chart's window chosen as documented."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from surveillance.dashboard import (
    HOSPITAL,
    REPORT_DAILY_BELOW,
    REPORT_MONTHLY_AFTER,
    REPORT_WEEKS,
    SUPPRESSED,
    Dashboard,
    EquityRow,
    MeasureResult,
    ScopeResult,
    SeriesPoint,
    build_report,
    differing_groups,
    render_report,
    report_month,
    report_monthly_window,
    report_weekly_window,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
NOVEMBER = report_month("2026-11", NOW, LONDON)
EVIL = "<script>alert('ward')</script>&\"x"


class _Page(HTMLParser):
    """The document as a browser parses it: its elements, its text, and each table's rows."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def point(i: int, value: float | None, **spc: object) -> SeriesPoint:
    start = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(days=7 * i)
    defaults: dict[str, object] = {"mean": 80.0, "lpl": 60.0, "upl": 100.0}
    if value is not None:
        defaults["point_type"] = "common_cause"
    defaults.update(spc)
    return SeriesPoint(
        period=start.date().isoformat(),
        start=start,
        end=start + timedelta(days=7),
        partial=False,
        numerator=0 if value is None else value,
        denominator=0 if value is None else 100,
        value=value,
        admissions=10,
        patient_days=50.0,
        **defaults,  # type: ignore[arg-type]
    )


def row(
    group: str, n: float | str, d: float | str, low: float | str, high: float | str
) -> EquityRow:
    shown = isinstance(n, str) or isinstance(d, str)
    value = SUPPRESSED if shown else 100 * float(n) / float(d)
    return EquityRow(
        dimension="ethnicity",
        group=group,
        numerator=n,
        denominator=d,
        value=value,
        ci_low=SUPPRESSED if shown else low,
        ci_high=SUPPRESSED if shown else high,
        ratio_to_hospital=SUPPRESSED if shown else 1.0,
    )


def scope_of(name: str, series: list[SeriesPoint], **fields: object) -> ScopeResult:
    values: dict[str, object] = {
        "numerator": 80,
        "denominator": 100,
        "value": 80.0,
        "ci_low": 71.1,
        "ci_high": 86.7,
        "variation": "common_cause",
        "assurance": None,
        "spc_note": None,
        "equity": [],
    }
    values.update(fields)
    return ScopeResult(scope=name, series=series, **values)  # type: ignore[arg-type]


def measure(scopes: list[ScopeResult], **fields: object) -> MeasureResult:
    values: dict[str, object] = {
        "id": "obs_on_time",
        "title": "Observations on time",
        "kind": "proportion",
        "unit": "%",
        "improvement": "increase",
        "target": None,
        "numerator": "sets on time",
        "denominator": "sets due",
        "definition": "on time against Redfern's rule",
    }
    values.update(fields)
    return MeasureResult(scopes=scopes, **values)  # type: ignore[arg-type]


def board(measures: list[MeasureResult], period: str = "week") -> Dashboard:
    return Dashboard(
        since=datetime(2026, 11, 2, tzinfo=UTC),
        until=datetime(2026, 11, 30, tzinfo=UTC),
        period=period,
        timezone="Europe/London",
        scopes=sorted({s.scope for m in measures for s in m.scopes}),
        measures=measures,
    )


def render(month_board: Dashboard, trend: Dashboard, ward: str = "7A", **options: object) -> str:
    return render_report(
        month_board,
        trend,
        scope=ward,
        month=NOVEMBER,
        generated=NOW,
        **options,  # type: ignore[arg-type]
    )


def simple(ward: str = "7A", **fields: object) -> Dashboard:
    series = [point(i, v) for i, v in enumerate([78.0, 82.0, 79.0, 81.0])]
    return board([measure([scope_of(ward, series, **fields), scope_of(HOSPITAL, series)])])


def test_text_from_the_input_is_escaped_everywhere():
    evil = board(
        [
            measure(
                [
                    scope_of(
                        EVIL,
                        [point(0, 50.0), point(1, 60.0)],
                        equity=[row(EVIL, 90, 100, 85.0, 95.0)],
                    ),
                    scope_of(HOSPITAL, [point(0, 50.0)], value=60.0),
                ],
                title=f"title {EVIL}",
                numerator=EVIL,
                definition=EVIL,
            )
        ]
    )
    page_text = render(evil, evil, ward=EVIL, stylesheet=f"/static/{EVIL}")
    page = _Page(page_text)
    assert not [t for t, _ in page.tags if t in ("script", "style")]
    assert "<script" not in page_text.lower()
    assert "&lt;script&gt;" in page_text
    # ... and read back, the names are what was given
    assert f"Ward {EVIL}" in page.words()
    assert any(r[0] == f"Ethnicity: {EVIL}" for r in page.rows)
    assert not [a for _, a in page.tags for k in a if k.startswith("on")]


def test_no_inline_style_or_script_for_the_served_page_and_the_stylesheet_inside_the_file():
    served = _Page(render(simple(), simple(), stylesheet="/static/report.css"))
    assert served.named("link") == [{"rel": "stylesheet", "href": "/static/report.css"}]
    assert not [t for t, a in served.tags if t in ("style", "script") or "style" in a]
    alone = render(simple(), simple(), css="body { color: red } </style><script>x</script>")
    parsed = _Page(alone)  # inside <style> only `</style` could end it, and it cannot
    assert [t for t, _ in parsed.tags if t in ("style", "script")] == ["style"]
    assert alone.count("</style>") == 1
    assert parsed.named("link") == []


@pytest.mark.parametrize(
    ("variation", "last", "improvement", "words", "letter"),
    [
        ("common_cause", 81.0, "increase", "Common cause — no significant change", None),
        ("special_cause_improvement", 99.0, "increase", "Special cause — improvement (higher)", "H"),
        ("special_cause_concern", 61.0, "increase", "Special cause — concern (lower)", "L"),
        ("special_cause_concern", 99.0, "decrease", "Special cause — concern (higher)", "H"),
        ("special_cause_neutral_high", 99.0, "neutral", "Special cause — higher, neither better nor worse", "H"),
        ("special_cause_neutral_low", 61.0, "neutral", "Special cause — lower, neither better nor worse", "L"),
        (None, 80.0, "increase", "No SPC chart (too few periods)", None),
    ],
)  # fmt: skip
def test_the_variation_icon_in_words_and_letter(variation, last, improvement, words, letter):
    series = [point(0, 80.0), point(1, last, point_type=variation or "common_cause")]
    scope = scope_of("7A", series, variation=variation)
    m = measure([scope, scope_of(HOSPITAL, series)], improvement=improvement)
    page = _Page(render(board([m]), board([m])))
    assert words in page.words()  # in full beside the chart
    if letter is not None:  # the icon's letter, then its words
        assert re.search(rf"\b{letter} {re.escape(words)}", page.words())


@pytest.mark.parametrize(
    ("assurance", "target", "words"),
    [
        ("consistent_pass", 60.0, "Consistently passing the target (60)"),
        ("consistent_fail", 99.5, "Consistently failing the target (99.5)"),
        ("inconsistent", 80.0, "Hit and miss: the target lies inside the process limits (80)"),
        (None, 80.0, "Target 80: not assessed (no process limits)"),
        (None, None, "No target set"),
    ],
)
def test_the_assurance_icon_in_words(assurance, target, words):
    m = measure([scope_of("7A", [point(0, 80.0)], assurance=assurance)], target=target)
    page = _Page(render(board([m]), board([m])))
    assert words in page.words()
    lines = [a for a in page.named("line") if a.get("class") == "target"]
    if target is None:
        assert not lines
    else:  # the dash-dot target line on the chart
        assert [a["stroke-dasharray"] for a in lines] == ["12 4 2 4"]


def test_each_point_is_shaped_as_well_as_coloured():
    kinds = [
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
        "special_cause_neutral_high",
    ]
    series = [point(i, 70.0 + i, point_type=k, rule="shift") for i, k in enumerate(kinds)]
    series.append(replace(point(4, 75.0), partial=True))
    m = measure([scope_of("7A", series)])
    page = _Page(render(board([m]), board([m])))
    shapes = {
        a.get("data-type"): (t, a)
        for t, a in page.tags
        if a.get("class", "") and str(a.get("class")).startswith("pt ")
    }
    assert shapes["common_cause"][0] == "circle"
    assert shapes["special_cause_improvement"][0] == "path"  # a diamond
    assert shapes["special_cause_concern"][0] == "path"  # a triangle
    assert shapes["special_cause_neutral_high"][0] == "rect"
    diamond = str(shapes["special_cause_improvement"][1]["d"])
    triangle = str(shapes["special_cause_concern"][1]["d"])
    assert diamond.count("L") == 3
    assert triangle.count("L") == 2
    hollow = [a for t, a in page.tags if "partial" in str(a.get("class", "")) and "data-type" in a]
    assert len(hollow) == 1
    assert hollow[0]["fill"] == "#fff"
    assert (
        "special cause — improvement (a run of 7 or more on one side of the mean)" in page.words()
    )
    mean = [a for t, a in page.tags if t == "path" and a.get("class") == "mean"]
    limits = [a for t, a in page.tags if t == "path" and a.get("class") == "limit"]
    assert len(mean) == 1
    assert "stroke-dasharray" not in mean[0]
    assert len(limits) == 2
    assert all(a["stroke-dasharray"] == "7 5" for a in limits)


def test_suppressed_cells_are_never_shown_and_only_differing_groups_are_listed():
    equity = [
        row("White", 700, 900, 74.0, 80.0),  # includes the hospital's 77.0: not listed
        row("Asian", 30, 100, 21.0, 40.0),  # excludes it: listed
        row("Black", SUPPRESSED, 60, 0, 0),  # suppressed numerator: never listed
        row("Mixed", 5, SUPPRESSED, 0, 0),  # suppressed denominator: never listed
        # an interval that would exclude the hospital's value, on a row with a hidden cell
        EquityRow("sex", "male", SUPPRESSED, 40, 10.0, 5.0, 15.0, 0.2),
    ]
    ward = scope_of("7A", [point(0, 80.0)], equity=equity)
    m = measure([ward, scope_of(HOSPITAL, [point(0, 77.0)], value=77.0)])
    assert [r.group for r in differing_groups(m, ward, 77.0)] == ["Asian"]
    page = _Page(render(board([m]), board([m])))
    listed = [r for r in page.rows if r and r[0].startswith(("Ethnicity:", "Sex:"))]
    assert listed == [["Ethnicity: Asian", "30 / 100", "30.0", "21.0–40.0", "1.00"]]
    assert "5 groups compared with the hospital's value of 77.0 % this month; 3 hidden as *" in (
        page.words()
    )
    for hidden in ("Black", "Mixed", "male"):
        assert hidden not in page.words()


def test_an_empty_month_is_a_whole_report_that_says_so():
    empty_series = [point(0, None), point(1, None)]
    note = "not charted: 0 period(s) with a value (2 or more needed)"
    empty = board(
        [
            measure(
                [
                    scope_of(
                        "7A",
                        empty_series,
                        numerator=0,
                        denominator=0,
                        value=None,
                        ci_low=None,
                        ci_high=None,
                        variation=None,
                        spc_note=note,
                    )
                ]
            ),
            measure(
                [
                    scope_of(
                        "7A", empty_series, numerator=0, value=0.0, variation=None, spc_note=note
                    )
                ],
                id="fall_per_1000_bed_days",
                title="Falls per 1,000 bed-days",
                kind="rate",
                unit="per 1,000 bed-days",
                improvement="decrease",
                numerator="fall events (CONTRACT §9)",
            ),
        ]
    )
    text = render(empty, empty)
    assert text.rstrip().endswith("</html>")
    page = _Page(text)
    words = page.words()
    assert "No chart: 0 period(s) with a value (2 or more needed)." in words
    assert "No SPC chart (too few periods)" in words
    overview = next(r for r in page.rows if r[0] == "Observations on time")
    assert overview[1] == "– 0 / 0"
    harms = next(r for r in page.rows if r[0] == "Falls")
    assert harms[1] == "0"
    assert not [a for _, a in page.tags if "data-type" in a]  # no point drawn


def test_the_header_says_what_when_and_as_of_when():
    page = _Page(render(simple(), simple()))
    words = page.words()
    assert page.named("title") is not None
    assert "Ward 7A · November 2026" in words
    assert "1 November 2026 to 30 November 2026 inclusive (Europe/London); final" in words
    assert "Data as of 1 December 2026 00:00" in words
    assert "Generated 3 December 2026 09:00" in words
    current = report_month("2026-12", NOW, LONDON)
    early = render_report(simple(), simple(), scope="7A", month=current, generated=NOW)
    assert "provisional: the month is not over" in _Page(early).words()
    assert "Whole hospital" in _Page(render(simple(HOSPITAL), simple(HOSPITAL), HOSPITAL)).words()


@pytest.mark.parametrize(
    ("text", "start", "end", "until"),
    [
        ("2026-11", "2026-11-01T00:00Z", "2026-12-01T00:00Z", "2026-12-01T00:00Z"),
        (" 2026-12 ", "2026-12-01T00:00Z", "2027-01-01T00:00Z", "2026-12-03T09:00Z"),  # not over
        ("2026-07", "2026-06-30T23:00Z", "2026-07-31T23:00Z", "2026-07-31T23:00Z"),  # BST
        ("0002-01", "0002-01-01T00:01:15Z", "0002-02-01T00:01:15Z", "0002-02-01T00:01:15Z"),
    ],
)
def test_a_month_is_read_in_the_hospital_calendar(text, start, end, until):
    month = report_month(text, NOW, LONDON)
    assert (month.start, month.end, month.until) == tuple(
        datetime.fromisoformat(t) for t in (start, end, until)
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is not YYYY-MM"),
        ("2026-1", "is not YYYY-MM"),
        ("26-11", "is not YYYY-MM"),
        ("2026-11-01", "is not YYYY-MM"),
        ("2026-13", "13 is not a month"),
        ("2026-00", "0 is not a month"),
        ("0001-12", "starts in 0002"),
        ("9998-01", "ends in 9997"),
        ("2027-01", "has not begun yet"),
    ],
)
def test_a_month_that_cannot_be_reported_is_refused_with_the_reason(text, why):
    with pytest.raises(ValueError, match=why):
        report_month(text, NOW, LONDON)


def test_the_chart_windows():
    since, until = report_weekly_window(NOVEMBER)
    assert until == datetime(2026, 11, 30, tzinfo=UTC)  # the last Monday: whole weeks only
    first, last = since.astimezone(LONDON), until.astimezone(LONDON)
    assert (last.date() - first.date()).days == 7 * REPORT_WEEKS
    assert first.weekday() == 0
    assert since.astimezone(LONDON).time().hour == 0  # local midnight across the clock change
    since, until = report_monthly_window(NOVEMBER)
    assert (since, until) == (datetime(2024, 12, 1, tzinfo=UTC), NOVEMBER.until)


def _with_data(period: str, since: datetime, until: datetime, periods: int) -> Dashboard:
    """A dashboard of `[since, until)` by `period` whose last `periods` periods hold data."""
    step = {"day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=30)}
    n = max(1, round((until - since) / step[period]))
    series = [point(i, 80.0 if i >= n - periods else None) for i in range(n)]
    series = [replace(p, patient_days=p.patient_days if p.value else 0.0) for p in series]
    series = [replace(p, admissions=p.admissions if p.value else 0) for p in series]
    return replace(board([measure([scope_of("7A", series)])], period), since=since, until=until)


@pytest.mark.parametrize(
    ("weeks", "months", "drawn", "chosen"),
    [
        (0, 0, ["week", "day"], "day"),  # the days of the month are the month's dashboard too
        (REPORT_DAILY_BELOW - 1, 0, ["week", "day"], "day"),
        (REPORT_DAILY_BELOW, 0, ["week", "month"], "week"),
        (REPORT_WEEKS, REPORT_MONTHLY_AFTER - 1, ["week", "month", "month"], "week"),
        (REPORT_WEEKS, REPORT_MONTHLY_AFTER, ["week", "month", "month"], "month"),
    ],
)
async def test_the_chart_is_by_week_by_day_for_a_young_store_by_month_for_an_old_one(
    weeks, months, drawn, chosen
):
    calls: list[str] = []

    async def draw(since: datetime, until: datetime, period: str) -> Dashboard:
        calls.append(period)
        if period == "week":
            return _with_data("week", since, until, weeks)
        if period == "day":
            return _with_data("day", since, until, 30)
        if since == NOVEMBER.start:  # the month's own dashboard
            return _with_data("month", since, until, 1)
        return _with_data("month", since, until, months)

    text = await build_report(draw, ward="7A", month=NOVEMBER, generated=NOW)
    assert calls == drawn
    assert f"Charts one point per {chosen}," in _Page(text).words()
