"""`surveillance report`: the alert-response report from the store (issue 6), as a table or
JSON; with `--access`, the audit of who read which patient's history (issue 14) instead. The
options are read here; the store is read by `surveillance._history`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from surveillance._history import read_access, read_report
from surveillance._report import DEFAULT_SHIFTS, Shift
from surveillance._report_table import format_table
from surveillance._settings import SettingsError, load_settings
from surveillance.store import AccessRecord, StoreError


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
    p.add_argument(
        "--access",
        action="store_true",
        help=(
            "instead of the alert report: who read which patient's history in the window "
            "(the patient view's audit), oldest first, one line each"
        ),
    )
    p.add_argument(
        "--patient", metavar="ID", help="with --access: only the reads of this patient's history"
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
        if args.patient is not None and not args.access:
            raise _UsageError("--patient goes with --access")
        if args.access:
            records = asyncio.run(
                read_access(settings.store_url(), since=since, until=until, patient_id=args.patient)
            )
            _print_access(records, as_json=args.json)
            return 0
        if args.target is not None and not 0 <= args.target < 1e6:
            raise _UsageError(f"--target must be minutes ≥ 0, not {args.target:g}")
        target = None if args.target is None else timedelta(minutes=args.target)
        report = asyncio.run(
            read_report(
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


def _print_access(records: list[AccessRecord], *, as_json: bool) -> None:
    """The reads of patients' histories: `{"access": [...]}` or a table, oldest first."""
    rows = [
        {
            "time": record.time,
            "viewer": record.viewer,
            "patient_id": record.patient_id,
            "what": record.what,
            "since": record.since,
            "access_id": record.access_id,
        }
        for record in records
    ]
    if as_json:
        sys.stdout.buffer.write(msgspec.json.encode({"access": rows}) + b"\n")
        return
    print(f"{'time (UTC)':<20}  {'patient':<14}  {'what':<6}  {'from (UTC)':<20}  viewer")
    for row in rows:
        print(
            f"{row['time']:%Y-%m-%d %H:%M:%S}  {row['patient_id']:<14}  {row['what']:<6}  "
            f"{row['since']:%Y-%m-%d %H:%M:%S}  {row['viewer']}"
        )
    print(f"{len(rows)} read{'s' if len(rows) != 1 else ''} of patients' histories")


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
