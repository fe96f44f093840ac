"""Reading the store back: the alert-response report of a window, the patient view's
history (the wallboard's `History`: scores, alerts and clinical events, each reading of it
audited), the safety dashboard the wallboard serves (`StoreHistory.dashboard`, the
`wallboard.DashboardSource` the service injects), and that audit (`read_access`,
`surveillance report --access`).

The report itself is pure (`surveillance._report`); this module reads the store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import multiprocessing
import uuid
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar, cast
from zoneinfo import ZoneInfo

import msgspec

from ingest import failure_site
from scoring import LONDON
from surveillance._report import DEFAULT_SHIFTS, Report, Shift, alert_report, check_window
from surveillance.dashboard import (
    PERIODS,
    REFRESH_CHUNK,
    Dashboard,
    Period,
    Refreshed,
    build_report,
    dashboard_from_sums,
    dashboard_items,
    read_sums,
    refresh_dashboard,
    refresh_rollups,
    report_month,
)
from surveillance.online import folded
from surveillance.store import (
    AccessRecord,
    AlertRecord,
    Batch,
    DashboardRows,
    DashboardSums,
    EventRecord,
    ObservationRecord,
    ScoreRecord,
    Store,
    open_store,
)

T = TypeVar("T")

DASHBOARD_DAYS: Final = 28.0
"""The dashboard's window when none is given: the 28 days before now."""
DASHBOARD_MAX_DAYS: Final = {"day": 93, "week": 2 * 366, "month": 5 * 366}
"""The longest window drawn by each period (at most about 93 days, 104 weeks, 60 months)."""


def dashboard_window(
    since: datetime | None,
    until: datetime | None,
    period: str,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[datetime, datetime, Period]:
    """The dashboard's window `[since, until)` with its defaults (until now; the
    `DASHBOARD_DAYS` before until) and a time without an offset read in `tz`, and the period.

    Raises:
        ValueError: an unknown period, an empty window or one too long for the period.
    """
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r} (known: {', '.join(PERIODS)})")
    checked = cast("Period", period)
    end = now if until is None else until if until.tzinfo else until.replace(tzinfo=tz)
    if since is not None:
        start = since if since.tzinfo else since.replace(tzinfo=tz)
    else:
        try:
            start = end - timedelta(days=DASHBOARD_DAYS)
        except OverflowError:
            raise ValueError(f"until {end.isoformat()} is too early: no window before it") from None
    if start >= end:
        raise ValueError(
            f"the window is empty: since {start.isoformat()} is not before until {end.isoformat()}"
        )
    days = (end - start).total_seconds() / 86400
    if days > DASHBOARD_MAX_DAYS[checked]:
        raise ValueError(
            f"the window is {days:.0f} days: by {checked} at most {DASHBOARD_MAX_DAYS[checked]} "
            "days (choose a longer period or a shorter window)"
        )
    return start, end, checked


class NoStore(ValueError):
    """A SQLite store file that is not there (opening it would create an empty one)."""


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


async def read_report(
    url: str,
    *,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    shifts: Sequence[Shift],
    ack_target: timedelta | None,
    wards: Collection[str] | None,
) -> Report:
    """The report of `[since, until)` from the store at `url`, opened for it and closed after.

    Raises:
        NoStore: a SQLite URL naming a file that is not there.
        StoreError: the store cannot be opened or read.
        ValueError: as for `report_from_store`.
    """
    _check_exists(url)
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


def _check_exists(url: str) -> None:
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "sqlite" and rest.startswith("/") and rest[1:] != ":memory:":
        path = Path(rest[1:])
        if not path.is_file():  # opening it would create an empty store and migrate it
            raise NoStore(f"no store at {path}: no such file")


async def read_access(
    url: str, *, since: datetime, until: datetime, patient_id: str | None = None
) -> list[AccessRecord]:
    """Who read which patient's history in `[since, until)` (of one patient, if given), oldest
    first, from the store at `url`.

    Raises:
        NoStore: a SQLite URL naming a file that is not there.
        StoreError: the store cannot be opened or read.
    """
    _check_exists(url)
    async with open_store(url) as store:
        records = await store.fetch(AccessRecord, patient_id=patient_id, since=since)
    return [record for record in records if record.time < until]


DASHBOARD_SECONDS: Final = 300.0
"""How long a dashboard may take to draw before the request is refused (the store sums the
items, then the tables are drawn in a process of their own)."""
REFRESH_SECONDS: Final = 60.0
"""How often the service brings the dashboard items of the patients written to up to date."""
REQUEST_REFRESH_LIMIT: Final = 2000
"""At most this many patients are refreshed before a dashboard request is answered; any more
still out of date are counted in its `stale_patients` (the periodic refresh catches up)."""

log = logging.getLogger(__name__)


def _draw_dashboard(
    sums: DashboardSums, form: str, stale: int, aside: int, **options: Any
) -> bytes:
    """The dashboard as JSON or CSV (in the dashboard's own process)."""
    board = dashboard_from_sums(sums, **options)
    if stale or aside:
        board = dataclasses.replace(board, stale_patients=stale, set_aside_patients=aside)
    return board.to_csv().encode() if form == "csv" else board.to_json()


def _make_items(rows: DashboardRows, tz: ZoneInfo) -> tuple[list[Any], list[Any]]:
    """`dashboard_items` (in the dashboard's own process)."""
    items, stays = dashboard_items(rows, tz)
    return items, stays


class StoreHistory:
    """The patient view's history and the alert report, read from the store
    (`wallboard.History`); every reading of a patient's history is recorded first
    (`AccessRecord`), and nothing is returned if it cannot be.

    Once given its store it also keeps the safety dashboard's items up to date: every
    `REFRESH_SECONDS` (and before each dashboard request) it remakes those of the patients
    written to since (`refresh_dashboard`), in the dashboard's own process, so the scorer never
    waits for it."""

    def __init__(
        self, tz: ZoneInfo = LONDON, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store: Store | None = None
        self.tz = tz
        self.clock = clock
        self.targets: dict[str, float] = {}
        """The dashboard's targets by measure id (`surveillance.dashboard.check_targets`)."""
        self.refresh_seconds = REFRESH_SECONDS
        self._drawing: ProcessPoolExecutor | None = None
        self._refreshing = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store | None:
        """The store read (None until the service has opened it)."""
        return self._store

    @store.setter
    def store(self, store: Store | None) -> None:
        self._store = store
        if store is not None and self._refresher is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: refreshed before each dashboard request only
            self._refresher = loop.create_task(self._refresh_forever(), name="dashboard-refresh")

    async def _refresh_forever(self) -> None:
        while True:
            try:
                done = await self._catch_up()
            except Exception as error:  # where, never the message: it may quote data
                log.warning(
                    "dashboard refresh failed, retried in %.0f s: %s",
                    self.refresh_seconds,
                    failure_site(error),
                )
            else:
                if done.patients or done.buckets:
                    log.info(
                        "dashboard items of %d patients refreshed (%d left), %d rollups rebuilt",
                        done.patients, done.left, done.buckets,
                    )  # fmt: skip
            await asyncio.sleep(self.refresh_seconds)

    async def _catch_up(self) -> Refreshed:
        """Refresh until nothing is left, one chunk at a time, so a dashboard request waits
        for one chunk at most; then the store's rollups (`refresh_rollups`: a bucket at a
        time; a request meanwhile sums the patients of a bucket not yet rebuilt from items)."""
        patients = items = stays = 0
        while True:
            done = await self.refresh(limit=REFRESH_CHUNK)
            patients, items, stays = (
                patients + done.patients,
                items + done.items,
                stays + done.stays,
            )
            if done.patients < REFRESH_CHUNK or not done.left:
                # Then the rollups, a bucket per transaction: a request's refresh waits for
                # one bucket at most (the store serializes the two), never for all of them.
                buckets = await refresh_rollups(self._open(), self.tz)
                return Refreshed(patients, items, stays, done.left, buckets=buckets)

    async def refresh(self, limit: int | None = None) -> Refreshed:
        """Bring the dashboard items up to date (`refresh_dashboard`), one refresh at a time."""
        async with self._refreshing:
            return await refresh_dashboard(
                self._open(), self.tz, limit=limit, compute=self._compute
            )

    async def _compute(self, rows: DashboardRows, tz: ZoneInfo) -> tuple[list[Any], list[Any]]:
        return await self._in_process(functools.partial(_make_items, rows, tz))

    def close(self) -> None:
        """Stop the refresh and the dashboard's process, drawing or not (a stopping service
        never waits for a dashboard)."""
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None
        pool, self._drawing = self._drawing, None
        if pool is not None:
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> dict[str, Any]:
        report = await report_from_store(
            self._open(), since=since, until=until, tz=self.tz, wards=wards or None
        )
        return report.to_builtins()

    async def dashboard(
        self,
        ward: str | None,
        period: str,
        since: datetime | None,
        until: datetime | None,
        form: str,
    ) -> bytes:
        """The safety dashboard (`wallboard.DashboardSource`): of `ward` and the hospital, or
        of every ward and the hospital (`ward` None), as JSON or CSV (`form`). The items of
        patients written to since the last refresh are refreshed first (up to
        `REQUEST_REFRESH_LIMIT`; the periodic refresh takes its turn one chunk at a time); the
        patients left out of date are counted in `stale_patients`.

        Raises:
            ValueError: a window or period it cannot draw (the wallboard says 400).
            LookupError: the store is not open yet.
        """
        start, end, checked = dashboard_window(since, until, period, self.clock(), self.tz)
        store = self._open()
        stale = (await self.refresh(limit=REQUEST_REFRESH_LIMIT)).left
        aside = await store.set_aside_count()
        sums = await read_sums(
            store, since=start, until=end, period=checked, tz=self.tz,
            wards=None if ward is None else [ward],
        )  # fmt: skip
        # Pure, CPU-bound and (with many wards) slow: drawn in a process of its own, so that it
        # never holds this process's interpreter, which scores and alerts (a month of fifteen
        # small wards took 49 s, and in a thread that was 49 s of the scorer's time shared).
        return await self._in_process(
            functools.partial(
                _draw_dashboard,
                sums,
                form,
                stale,
                aside,
                since=start,
                until=end,
                period=checked,
                tz=self.tz,
                wards=None if ward is None else [ward],
                targets=self.targets,
            )
        )

    async def _in_process(self, job: Callable[[], T]) -> T:
        """`job()` in the dashboard's process (started on first use; a fresh one after a kill
        or a timeout)."""
        if self._drawing is None:
            self._drawing = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        running = asyncio.get_running_loop().run_in_executor(self._drawing, job)
        try:
            return await asyncio.wait_for(running, DASHBOARD_SECONDS)
        except BrokenProcessPool:  # its process died (killed): the next request starts afresh
            self._drawing = None
            raise
        except TimeoutError:
            pool, self._drawing = self._drawing, None  # the next request starts a fresh process
            if pool is not None:
                processes = list(getattr(pool, "_processes", {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for process in processes:
                    process.terminate()
            msg = f"the dashboard took more than {DASHBOARD_SECONDS:.0f} s to draw"
            raise LookupError(msg) from None

    def _open(self) -> Store:
        if self._store is None:
            msg = "the store is not open yet"
            raise LookupError(msg)
        return self._store

    async def _audit(
        self, store: Store, viewer: str, patient_id: str, what: str, since: datetime
    ) -> None:
        """Record the access, committed before anything is read (raises if it cannot be)."""
        record = AccessRecord(uuid.uuid4().hex, self.clock(), viewer, patient_id, what, since)
        await store.write(Batch(access=[record]))

    async def scores(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        """The patient's scores, each with the vitals its own reading measured (`vitals`) and
        its `source`: a device reading's score covers its merged snapshot, but the chart plots
        only what was measured then, so carried-over values are not drawn again and again."""
        store = self._open()
        await self._audit(store, viewer, patient_id, "scores", since)
        records = await store.fetch(ScoreRecord, patient_id=patient_id, since=since)
        readings = {
            o.msg_id: o
            for o in await store.fetch(ObservationRecord, patient_id=patient_id, since=since)
        }
        results = []
        for record in records:
            result = msgspec.json.decode(record.result)
            reading = readings.get(record.obs_msg_id)
            if reading is not None:
                result["scored_vitals"] = result.get("vitals")
                result["vitals"], result["source"] = reading.vitals, reading.source
            results.append(result)
        # A score a later correction replaced is not plotted (both stay in the store); the
        # readings of it the correction did not correct are plotted with the correction.
        return [dict(result) for result in folded(results)]

    async def alerts(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        store = self._open()
        await self._audit(store, viewer, patient_id, "alerts", since)
        records = await store.fetch(AlertRecord, patient_id=patient_id, since=since)
        return [msgspec.json.decode(record.event) for record in records]

    async def events(
        self, patient_id: str, since: datetime, *, viewer: str
    ) -> list[dict[str, Any]]:
        """The patient's clinical events (CONTRACT §9) since `since`, oldest first: each as
        the contract's message (`msg_id`, `time`, `patient_id`, `event`, `by`, `category`,
        `note` when given) with the `ward` and `bed` it was recorded for."""
        store = self._open()
        await self._audit(store, viewer, patient_id, "events", since)
        records = await store.events(since=since, patient_id=patient_id)
        return [event_message(record) for record in records]


def event_message(record: EventRecord) -> dict[str, Any]:
    """A stored clinical event as the contract's message (CONTRACT §9), with its ward and bed;
    optional fields only when given."""
    message: dict[str, Any] = {
        "msg_id": record.msg_id,
        "time": msgspec.to_builtins(record.time),  # RFC 3339, `Z` for UTC
        "patient_id": record.patient_id,
        "event": record.event,
        "ward": record.ward,
        "bed": record.bed,
    }
    for key, value in (
        ("by", record.recorded_by),
        ("category", record.category),
        ("note", record.note),
    ):
        if value is not None:
            message[key] = value
    return message


async def dashboard_report(history: StoreHistory, ward: str | None, month: str) -> bytes:
    """The monthly "ward to board" report of `ward` (None: the hospital) for `month`
    (`YYYY-MM`), as an HTML page linking the wallboard's `/static/report.css`: drawn from the
    dashboard's JSON (`StoreHistory.dashboard`, so the same measures, targets and limits).

    Raises:
        ValueError: a month that is not `YYYY-MM`, has not begun or is out of range (400).
        LookupError: the store is not open yet, or the dashboard took too long.
    """
    chosen = report_month(month, history.clock(), history.tz)

    async def draw(since: datetime, until: datetime, period: Period) -> Dashboard:
        body = await history.dashboard(ward, period, since, until, "json")
        return msgspec.json.decode(body, type=Dashboard)

    page = await build_report(
        draw,
        ward=ward,
        month=chosen,
        generated=history.clock(),
        stylesheet="/static/report.css",
        icon="/static/favicon.svg",
    )
    return page.encode()
