"""The alert-response report (`surveillance._report.Report`) as an aligned text table.

Pure: a report in, lines on a text stream out.
"""

from __future__ import annotations

from typing import TextIO
from zoneinfo import ZoneInfo

from surveillance._report import AlertStats, Report


def format_duration(seconds: float | None) -> str:
    """`m:ss` under an hour, `h:mm:ss` from an hour; `-` for none."""
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def format_table(report: Report, out: TextIO, *, by: str = "shift") -> None:
    """The report as an aligned table: a row per ward and shift (`by="shift"`) with each
    ward's subtotal, or a row per ward (`by="ward"`); then the total and the outcomes."""
    target = report.ack_target_seconds
    header = ["ward", "shift", "raised", "acked", "median ack", "p90 ack", "escalated", "open"]
    if target is not None:
        header.insert(6, "in target")

    def row(ward: str, shift: str, stats: AlertStats) -> list[str]:
        cells = [
            ward,
            shift,
            str(stats.raised),
            str(stats.acknowledged),
            format_duration(stats.ack_median_seconds),
            format_duration(stats.ack_p90_seconds),
            _percent(stats.share_escalated),
            str(stats.open_at_until),
        ]
        if target is not None:
            cells.insert(6, _percent(stats.share_acknowledged_within_target))
        return cells

    rows: list[list[str] | None] = []  # None: a blank line between wards
    for ward in report.by_ward:
        if by == "shift":
            rows.extend(
                row(ward.ward, f"{s.shift_date.isoformat()} {s.shift}", s)
                for s in report.by_shift
                if s.ward == ward.ward
            )
        rows.append(row(ward.ward, "all shifts" if by == "shift" else "all", ward))
        if by == "shift":
            rows.append(None)
    if rows and rows[-1] is None:
        rows.pop()
    total = row("all wards" if report.wards is None else "total", "all", report.total)
    widths = [
        max(len(cells[i]) for cells in [header, total, *filter(None, rows)])
        for i in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        text = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(text).rstrip()

    tz = ZoneInfo(report.timezone)
    since, until = (f"{t.astimezone(tz):%Y-%m-%d %H:%M}" for t in (report.since, report.until))
    wards = "" if report.wards is None else f", wards {', '.join(report.wards)}"
    target_text = "" if target is None else f"; target {format_duration(target)}"
    print(f"Alerts raised {since} to {until} ({report.timezone}{wards}{target_text})", file=out)
    print(line(header), file=out)
    for cells in rows:
        print("" if cells is None else line(cells), file=out)
    if rows:
        print("", file=out)
    print(line(total), file=out)
    o = report.total.outcomes
    print(
        f"Outcomes: {o.acknowledged} acknowledged, {o.escalated_unacknowledged} escalated "
        f"unacknowledged, {o.stood_down} stood down, {o.open_unacknowledged} open "
        f"unacknowledged = {o.total()} raised",
        file=out,
    )
    if report.alerts_start_unknown:
        print(
            f"{report.alerts_start_unknown} alert(s) left out: their first event is not in the store",
            file=out,
        )
