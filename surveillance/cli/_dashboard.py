"""`surveillance dashboard`: the safety dashboard's measures from the store (issue 16), as JSON
or CSV, or the monthly ward-to-board report as HTML (`--report`). The options and the store are read here; the measures are `surveillance.dashboard`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from surveillance._settings import SettingsError, load_settings
from surveillance.cli._report import parse_time
from surveillance.dashboard import (
    PERIODS,
    Dashboard,
    Period,
    build_report,
    check_targets,
    refresh_dashboard,
    report_month,
    stored_dashboard,
)
from surveillance.store import StoreError, open_store


def add_dashboard(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `dashboard` subcommand."""
    p = commands.add_parser(
        "dashboard",
        help="the safety dashboard's measures, SPC and equity tables, as JSON or CSV",
        description=(
            "Compute the safety dashboard from the store for the window [--since, --until): "
            "observations on time, late and missed; time to acknowledge score alerts; NEWS2 5+ "
            "(and PEWS, maternity equivalents) acknowledged within the ladder's time; "
            "think-sepsis prompts treated within 1 hour; AKI alerts acknowledged; alerts per "
            "100 patient-days by kind; cardiac arrests, unplanned ICU admissions and deaths "
            "per 1,000 admissions; falls and pressure ulcers per 1,000 bed-days. Per ward and "
            "hospital, per --period, each with its denominators, its XmR chart (surveillance "
            "spc) and its equity table (sex, ethnicity, age, IMD quintile, recorded needs; 95% "
            "intervals; counts 1-7 shown as *). Everything is read as of --until. The "
            "dashboard items of the patients written to since the service last refreshed "
            "them are brought up to date first (written to the store). A time without an "
            "offset is read in the hospital's time zone. Exit status 2 on a bad option, "
            "targets file, settings file or store."
        ),
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    p.add_argument(
        "--store", metavar="URL", help="store URL, sqlite:///PATH or postgresql://... "
        "(overrides --config)"
    )  # fmt: skip
    window = p.add_mutually_exclusive_group()
    window.add_argument("--since", metavar="TIME", help="start of the window, ISO 8601")
    window.add_argument(
        "--days",
        type=float,
        metavar="N",
        help="the window is the N days before --until (default 28)",
    )
    p.add_argument("--until", metavar="TIME", help="end of the window, not included (default: now)")
    p.add_argument("--period", choices=PERIODS, default="week", help="default %(default)s")
    p.add_argument(
        "--ward",
        action="append",
        metavar="WARD",
        help="show this ward (repeatable; default every ward); the hospital is always shown",
    )
    p.add_argument("--format", choices=("json", "csv"), default="json", help="default %(default)s")
    p.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help=(
            "TOML file of targets, `measure_id = number` (a [targets] table or top level), "
            "for SPC assurance"
        ),
    )
    p.add_argument(
        "--timezone", metavar="ZONE", help="the hospital's time zone (default: the settings')"
    )
    p.add_argument(
        "--report",
        metavar="YYYY-MM",
        help=(
            "print instead the monthly ward-to-board report of that calendar month as one "
            "standalone HTML page (of one --ward, default the hospital; --since, --days, "
            "--until, --period and --format do not apply)"
        ),
    )
    p.set_defaults(run=_dashboard)


MAX_DAYS = 3660
"""The longest window (ten years): by day, longer holds the machine for minutes and
gigabytes."""
_EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 1, 1, tzinfo=UTC)
"""The times a window may start and end within: its periods are read a calendar year around
it, which must exist."""


class _UsageError(ValueError):
    """A bad option: the message says which and why."""


def _dashboard(args: argparse.Namespace) -> int:
    if args.report is not None:
        return _report(args)
    try:
        settings = load_settings(args.config, {"store.url": args.store} if args.store else None)
        tz = _zone(args.timezone or settings.scorer.timezone)
        until = _in_range(
            "--until", parse_time(args.until, tz) if args.until else datetime.now(UTC)
        )
        if args.since:
            since = _in_range("--since", parse_time(args.since, tz))
        else:
            days = 28.0 if args.days is None else args.days
            if not 0 < days <= MAX_DAYS:
                raise _UsageError(
                    f"--days must be more than 0 and at most {MAX_DAYS}, not {days:g}"
                )
            try:
                start: datetime | None = until - timedelta(days=days)
            except OverflowError:
                start = None
            since = _in_range("--days", start)
        if since >= until:
            raise _UsageError(
                f"the window is empty: since {since.isoformat()} is not before until "
                f"{until.isoformat()}"
            )
        if until - since > timedelta(days=MAX_DAYS):
            raise _UsageError(f"the window must be at most {MAX_DAYS} days, not {until - since}")
        targets = (
            read_targets(args.targets) if args.targets else settings.dashboard.checked_targets()
        )
        url = settings.store_url()
        _check_exists(url)
        period: Period = args.period
        dashboard = asyncio.run(
            _read(url, since=since, until=until, period=period, tz=tz, wards=args.ward,
                  targets=targets)
        )  # fmt: skip
    except (SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"surveillance dashboard: {exc}", file=sys.stderr)
        return 2
    _print(dashboard, args.format)
    return 0


def _in_range(name: str, t: datetime | None) -> datetime:
    """`t`, or a usage error when it (None: before year 1) or the calendar around it does
    not exist."""
    if t is None or not _EARLIEST <= t <= _LATEST:
        raise _UsageError(
            f"{name}: a time out of range: the dashboard's calendar periods are read from "
            f"{_EARLIEST.date()} to {_LATEST.date()}"
        )
    return t


def _print(dashboard: Dashboard, form: str) -> None:
    if form == "csv":
        sys.stdout.write(dashboard.to_csv())
    else:
        sys.stdout.buffer.write(dashboard.to_json() + b"\n")


async def _read(url: str, **options: Any) -> Dashboard:
    """The dashboard from the store's items, brought up to date first (`refresh_dashboard`:
    the patients written to since the service last refreshed them, then the rollups); the
    patients whose items could not be made (set aside) counted, as the service counts them."""
    async with open_store(url) as store:
        done = await refresh_dashboard(store, options["tz"])
        board = await stored_dashboard(store, **options)
        aside = await store.set_aside_count()
    return dataclasses.replace(board, stale_patients=done.left, set_aside_patients=aside)


async def _drawn_report(
    url: str, tz: ZoneInfo, *, ward: str | None, targets: dict[str, float], **report: Any
) -> str:
    """The monthly report from the store's items: one store opened and refreshed, then its
    two or three dashboards drawn (each opening and refreshing the store took seconds)."""
    async with open_store(url) as store:
        done = await refresh_dashboard(store, tz)
        aside = await store.set_aside_count()

        async def draw(since: datetime, until: datetime, period: Period) -> Dashboard:
            board = await stored_dashboard(
                store, since=since, until=until, period=period, tz=tz,
                wards=None if ward is None else [ward], targets=targets,
            )  # fmt: skip
            return dataclasses.replace(board, stale_patients=done.left, set_aside_patients=aside)

        return await build_report(draw, ward=ward, **report)


def read_targets(path: Path) -> dict[str, float]:
    """The targets in a TOML file: `measure_id = number`, at top level or in `[targets]`.

    Raises:
        ValueError: not TOML, or an unknown measure or a target that is not a number.
        OSError: the file cannot be read.
    """
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise _UsageError(f"--targets {path}: not TOML: {exc}") from None
    table = document.get("targets", document)
    if not isinstance(table, dict):
        raise _UsageError(f"--targets {path}: [targets] must be a table")
    try:
        return check_targets(table)
    except ValueError as exc:
        raise _UsageError(f"--targets {path}: {exc}") from None


def _check_exists(url: str) -> None:
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "sqlite" and rest.startswith("/") and rest[1:] != ":memory:":
        path = Path(rest[1:])
        if not path.is_file():  # opening it would create an empty store
            raise _UsageError(f"no store at {path}: no such file")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _UsageError(f"unknown time zone {name!r}") from None


def _report(args: argparse.Namespace) -> int:
    """`--report YYYY-MM`: the monthly report as a standalone HTML page (its stylesheet inside,
    as no server serves `/static/report.css` beside a file)."""
    try:
        if args.ward and len(args.ward) > 1:
            raise _UsageError("--report: one --ward at most (or none: the hospital)")
        if args.since or args.days is not None or args.until or args.format != "json":
            raise _UsageError("--report: --since, --days, --until and --format do not apply")
        settings = load_settings(args.config, {"store.url": args.store} if args.store else None)
        tz = _zone(args.timezone or settings.scorer.timezone)
        targets = (
            read_targets(args.targets) if args.targets else settings.dashboard.checked_targets()
        )
        now = datetime.now(UTC)
        month = report_month(args.report, now, tz)
        url = settings.store_url()
        _check_exists(url)
        ward = args.ward[0] if args.ward else None
        css = (resources.files("wallboard") / "static" / "report.css").read_text("utf-8")

        page = asyncio.run(
            _drawn_report(url, tz, ward=ward, month=month, generated=now, css=css, targets=targets)
        )
    except (SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"surveillance dashboard: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(page)
    return 0
