"""`surveillance report`: the alert-response report from the store (issue 6), as a table or
JSON; and `report_from_store`, the one read the command and the wallboard's API share.

The report itself is pure (`surveillance._report`); this module reads the store and the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Final, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from surveillance._report import (
    DEFAULT_SHIFTS,
    AlertStats,
    Report,
    Shift,
    alert_report,
    check_window,
)
from surveillance._settings import SettingsError, load_settings
from surveillance.store import AlertRecord, Store, StoreError, open_store

__all__ = ["FETCH_MARGIN", "add_report", "format_duration", "format_table", "report_from_store"]

FETCH_MARGIN: Final = timedelta(days=7)
"""How far before `since` events are read, so that an alert's first event is found even when
its later events carry no `raised_at` (the scorer's always do)."""


async def report_from_store(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    shifts: Sequence[Shift] = DEFAULT_SHIFTS,
    ack_target: timedelta | None = None,
    wards: Collection[str] | None = None,
    margin: timedelta = FETCH_MARGIN,
) -> Report:
    """The report of the alerts raised in `[since, until)`, from an open store.

    Reads the alert events from `since - margin` on (the store has no upper bound on time:
    later events are read and ignored). Arguments as for `surveillance._report.alert_report`.

    Raises:
        StoreError: the store cannot be read.
        ValueError: a naive or empty window, or bad shifts.
    """
    check_window(since, until, shifts)  # before reading anything
    records = await store.fetch(AlertRecord, since=since - margin)
    return alert_report(
        records,
        since=since,
        until=until,
        tz=tz,
        shifts=shifts,
        ack_target=ack_target,
        wards=wards,
    )


def add_report(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `report` subcommand."""
    p = commands.add_parser(
        "report",
        help="alert response: time to acknowledge and share escalated, per ward and shift",
        description=(
            "Report the alerts raised in a window, from the store: per ward and shift (or per "
            "ward), how many were raised and acknowledged, the median and 90th-percentile time "
            "to acknowledge, the share escalated and how many are still open at the end of the "
            "window; then every alert's outcome (acknowledged, escalated unacknowledged, stood "
            "down, open unacknowledged), which add up to those raised. Only what happened "
            "before --until counts. A time without an offset is read in the hospital's time "
            "zone. Exit status 2 on a bad option, settings file or store."
        ),
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (TOML), for the store and time zone",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="store URL, sqlite:///PATH or postgresql://... (overrides --config)",
    )
    window = p.add_mutually_exclusive_group()
    window.add_argument(
        "--since", metavar="TIME", help="start of the window, ISO 8601 (a date: its midnight)"
    )
    window.add_argument(
        "--hours",
        type=float,
        metavar="N",
        help="the window is the N hours before --until (default 24)",
    )
    p.add_argument(
        "--until", metavar="TIME", help="end of the window, ISO 8601, not included (default: now)"
    )
    p.add_argument("--ward", action="append", metavar="WARD", help="only this ward (repeatable)")
    p.add_argument(
        "--by",
        choices=("shift", "ward"),
        default="shift",
        help="table rows: each ward's shifts then the ward (default), or wards only",
    )
    p.add_argument(
        "--target",
        type=float,
        metavar="MINUTES",
        help="acknowledgement target: adds the share of alerts acknowledged within it",
    )
    p.add_argument(
        "--shifts",
        metavar="NAME=HH:MM,...",
        default=",".join(f"{s.name}={s.start:%H:%M}" for s in DEFAULT_SHIFTS),
        help="shifts and their local start times (default %(default)s)",
    )
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the hospital's time zone (default: the settings', Europe/London)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the report as JSON instead of a table"
    )
    p.set_defaults(run=_report)


class _UsageError(ValueError):
    """A bad option: the message says which and why."""


def _report(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config, {"store.url": args.store} if args.store else None)
        tz = _zone(args.timezone or settings.scorer.timezone)
        shifts = parse_shifts(args.shifts)
        until = parse_time(args.until, tz) if args.until else datetime.now(UTC)
        if args.since:
            since = parse_time(args.since, tz)
        else:
            hours = 24.0 if args.hours is None else args.hours
            if not 0 < hours < 1e6:
                raise _UsageError(f"--hours must be more than 0, not {hours:g}")
            since = until - timedelta(hours=hours)
        if since >= until:
            raise _UsageError(
                f"the window is empty: since {since.isoformat()} is not before until {until.isoformat()}"
            )
        if args.target is not None and not 0 <= args.target < 1e6:
            raise _UsageError(f"--target must be minutes ≥ 0, not {args.target:g}")
        target = None if args.target is None else timedelta(minutes=args.target)
        report = asyncio.run(
            _read(
                settings.store_url(),
                since=since,
                until=until,
                tz=tz,
                shifts=shifts,
                ack_target=target,
                wards=args.ward,
            )
        )
    except (SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"surveillance report: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.buffer.write(report.to_json() + b"\n")
    else:
        format_table(report, sys.stdout, by=args.by)
    return 0


async def _read(
    url: str,
    *,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    shifts: Sequence[Shift],
    ack_target: timedelta | None,
    wards: Collection[str] | None,
) -> Report:
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "sqlite" and rest.startswith("/") and rest[1:] != ":memory:":
        path = Path(rest[1:])
        if not path.is_file():  # opening it would create an empty store and migrate it
            raise _UsageError(f"no store at {path}: no such file")
    async with open_store(url) as store:
        return await report_from_store(
            store,
            since=since,
            until=until,
            tz=tz,
            shifts=shifts,
            ack_target=ack_target,
            wards=wards,
        )


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time (or date: its midnight); without an offset, local time in `tz`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _UsageError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-03-29T07:30 or 2026-03-29T06:30Z"
        ) from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=tz)


def parse_shifts(text: str) -> tuple[Shift, ...]:
    """`day=07:30,night=19:30` → shifts."""
    shifts = []
    for part in text.split(","):
        name, sep, start = (piece.strip() for piece in part.partition("="))
        try:
            if not name or not sep:
                raise ValueError
            shifts.append(Shift(name, time.fromisoformat(start)))
        except ValueError:
            raise _UsageError(f"--shifts: {part.strip()!r} is not NAME=HH:MM") from None
    return tuple(shifts)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _UsageError(f"unknown time zone {name!r}") from None


# -- the table --------------------------------------------------------------------------------


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
