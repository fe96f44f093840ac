"""Second review of PostgreSQL's rollups: the quarters (level 2, the sums of the level-1
buckets inside them) and the dashboard read on two connections of one snapshot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from surveillance.dashboard import (
    MEASURES,
    Dashboard,
    Period,
    cell_spec,
    compute_dashboard,
    refresh_dashboard,
    stored_dashboard,
)
from surveillance.store import Store, StoreError, open_store
from tests.surveillance.dashboard.builder import Hospital
from tests.surveillance.dashboard.test_rollups import SPAN_DAYS
from tests.surveillance.dashboard.test_rollups_attack import ROLLUP_LOCK, _advisory_waiters, _stay
from tests.surveillance.dashboard.test_stored import random_hospital

LONDON = ZoneInfo("Europe/London")
WINDOW = (datetime(2026, 10, 1, tzinfo=LONDON), datetime(2027, 7, 1, tzinfo=LONDON))
"""The window of most tests here: three quarters, each whole."""


async def _written(store: Store, h: Hospital) -> Dashboard:
    """`h` written to `store` and refreshed; the dashboard of `WINDOW` by month computed from
    its rows (what every read must give)."""
    await store.write(h.batch)
    await refresh_dashboard(store, LONDON)
    everything = await store.patient_rows(sorted({a.patient_id for a in h.batch.adt}))
    since, until = WINDOW
    return compute_dashboard(everything, since=since, until=until, period="month", tz=LONDON)


async def _until_waiting(url: str) -> None:
    for _ in range(200):
        if await _advisory_waiters(url):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the refresh never waited for the rollups' lock")


async def _store_connections(url: str) -> int:
    """The store's connections to the test's database (`application_name` of the store),
    once the server has had a second to end those closed."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(50):
            cur = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'surveillance-store'"
            )
            row = await cur.fetchone()
            found = int(str(row[0])) if row else 0
            if not found:
                return 0
            await asyncio.sleep(0.02)
        return found


async def test_a_quarter_is_not_used_once_a_bucket_inside_is_rebuilt_for_another_spec(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """An upgrade changes the cell spec: the new version's refresh rebuilds the buckets one
    transaction each, while the old version still reads with the old spec. A bucket rebuilt
    with the new spec is not usable with the old one (its patients are summed from items),
    but its quarter, clean with the old spec, still holds them: counted twice."""
    h = random_hospital(5, patients=60, days=SPAN_DAYS)
    since, until = WINDOW
    other = replace(cell_spec(MEASURES, None), names=cell_spec(MEASURES, None).names[1:])
    async with (
        open_store(fresh_postgres_url) as old,
        open_store(fresh_postgres_url) as new,
        await psycopg.AsyncConnection.connect(fresh_postgres_url) as upkeep,
    ):
        await old.write(h.batch)
        await refresh_dashboard(old, LONDON)  # buckets and quarters of the old spec
        everything = await old.patient_rows(sorted({a.patient_id for a in h.batch.adt}))
        live = compute_dashboard(everything, since=since, until=until, period="month", tz=LONDON)
        with caplog.at_level(logging.DEBUG, logger="surveillance.store._postgres"):
            stored = await stored_dashboard(
                old, since=since, until=until, period="month", tz=LONDON
            )
        assert stored.to_json() == live.to_json()

        await upkeep.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
        refresh = asyncio.create_task(new.refresh_rollups(LONDON.key, other))
        try:
            # Let the refresh's first transaction and two bucket rebuilds through, one at a
            # time: released, the lock goes to the refresh, taken again behind it.
            for _ in range(3):
                await _until_waiting(fresh_postgres_url)
                await upkeep.rollback()
                await upkeep.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
            await _until_waiting(fresh_postgres_url)
            stored = await stored_dashboard(
                old, since=since, until=until, period="month", tz=LONDON
            )
            assert stored.to_json() == live.to_json()
        finally:
            await upkeep.rollback()
            await refresh


async def test_closing_the_store_during_a_dashboard_read_leaves_no_connection_open(
    fresh_postgres_url: str,
):
    """The store closed while a dashboard read runs (the service stopping): the close waits
    for the read, and the read's second connection, opened after the close looked for it,
    must not be left open."""
    h = random_hospital(5, patients=30, days=SPAN_DAYS)
    since, until = WINDOW
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        await stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
    assert await _store_connections(fresh_postgres_url) == 0  # both closed

    store = open_store(fresh_postgres_url)
    await store.__aenter__()
    async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as blocker:
        # The read's first lane waits for the buckets, before the second lane starts.
        await blocker.execute("LOCK TABLE dashboard_buckets IN ACCESS EXCLUSIVE MODE")
        read = asyncio.create_task(
            stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
        )
        for _ in range(200):
            cur = await blocker.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted"
            )
            row = await cur.fetchone()
            if row and row[0]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the read never waited for the buckets")
        closing = asyncio.create_task(store.__aexit__(None, None, None))
        await asyncio.sleep(0.2)  # the close waits for the read
        assert not closing.done()
        await blocker.rollback()
    assert (await read).to_json()  # the read ends as it would have
    await closing
    assert await _store_connections(fresh_postgres_url) == 0


async def _waiting_pid(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> int:
    """The server process of the store's connection waiting for a table's lock."""
    for _ in range(200):
        cur = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'relation' AND NOT granted"
        )
        row = await cur.fetchone()
        if row:
            return int(str(row[0]))
        await asyncio.sleep(0.02)
    raise AssertionError("no lane waited for the lock")


@pytest.mark.parametrize(
    ("table", "stop"),
    [
        ("dashboard_rollup_cells", "kill"),  # the second lane's rollup cells
        ("dashboard_rollup_cells", "cancel"),
        ("dashboard_buckets", "kill"),  # the first lane, before the second starts
        ("dashboard_buckets", "cancel"),
    ],
)
async def test_a_lane_killed_or_cancelled_mid_read_leaves_the_store_usable_and_exact(
    fresh_postgres_url: str, table: str, stop: str
):
    """A dashboard read whose connection is killed (pg_terminate_backend) while it waits, or
    whose task is cancelled: it fails (or is cancelled), and the next read, on the same store,
    is the dashboard computed from rows, with no connection left over."""
    h = random_hospital(5, patients=40, days=SPAN_DAYS)
    since, until = WINDOW
    async with open_store(fresh_postgres_url) as store:
        live = await _written(store, h)
        async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as blocker:
            await blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            read = asyncio.create_task(
                stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
            )
            pid = await _waiting_pid(blocker)
            if stop == "kill":
                await blocker.execute("SELECT pg_terminate_backend(%s)", (pid,))
            else:
                read.cancel()
            await asyncio.sleep(0.1)
            await blocker.rollback()
        if stop == "kill":
            with pytest.raises(StoreError):
                await read
        else:
            with pytest.raises(asyncio.CancelledError):
                await read
        for _ in range(2):
            stored = await stored_dashboard(
                store, since=since, until=until, period="month", tz=LONDON
            )
            assert stored.to_json() == live.to_json()
        assert await _store_connections(fresh_postgres_url) <= 2
    assert await _store_connections(fresh_postgres_url) == 0


def _months_from(year: int, month: int, shifts: range, tz: ZoneInfo) -> list[datetime]:
    out = []
    for shift in shifts:
        y, m = divmod(year * 12 + month - 1 + shift, 12)
        out.append(datetime(y, m + 1, 1, tzinfo=tz))
    return out


@pytest.mark.parametrize(
    ("zone", "quarter"),
    [
        ("America/Managua", "2006-10"),  # back at midnight on 1 October: 00:00 twice
        ("Asia/Gaza", "2004-10"),  # the same
        ("Asia/Damascus", "2005-04"),  # forward at midnight on 1 April: no 00:00
        ("America/Asuncion", "2023-10"),  # forward at midnight on 1 October
        ("Asia/Khandyga", "2004-01"),  # forward at midnight on 1 January
        ("Australia/Lord_Howe", "2026-04"),  # half an hour back, on 5 April
        ("Asia/Kathmandu", "2026-01"),  # +05:45
    ],
)
async def test_quarters_in_odd_zones_give_the_same_dashboard(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture, zone: str, quarter: str
):
    """Stays of 3 days every 40 hours from the month before a quarter to the month after it:
    the quarter's bounds are where Python's windows put them (its rollups are used by the
    windows containing it), and the dashboards are those computed from the rows."""
    tz = ZoneInfo(zone)
    year, month = (int(p) for p in quarter.split("-"))
    before, start, _, _, end, after = _months_from(year, month, range(-1, 5), tz)
    h = Hospital()
    admit = before + timedelta(days=3, hours=7)
    n = 0
    while admit < after + timedelta(days=10):
        n += 1
        _stay(h, f"P{n}", "AB"[n % 2], admit, admit + timedelta(days=3, minutes=17))
        admit += timedelta(hours=40)
    windows: list[tuple[datetime, datetime, Period]] = [
        (start, end, "month"),
        (start, end, "week"),
        (before, after, "month"),
        (before, after + timedelta(days=40), "week"),
    ]
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, tz)
        async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as conn:
            cur = await conn.execute(
                "SELECT start, stop FROM dashboard_buckets WHERE level = 2 AND NOT dirty"
                " ORDER BY start"
            )
            quarters = await cur.fetchall()
        # (in UTC: an instant in a gap or fold is never equal to another zone's, PEP 495)
        assert (start.astimezone(UTC), end.astimezone(UTC)) in quarters, quarters
        ids = sorted({a.patient_id for a in h.batch.adt})
        everything = await store.patient_rows(ids)
        for since, until, period in windows:
            stored = await stored_dashboard(store, since=since, until=until, period=period, tz=tz)
            live = compute_dashboard(everything, since=since, until=until, period=period, tz=tz)
            assert stored.to_json() == live.to_json(), (since, until, period)


async def test_reads_of_several_tasks_with_refreshes_meanwhile_finish_exact(
    fresh_postgres_url: str,
):
    """Dashboard reads of several tasks at once on one store (each its two lanes), with the
    store's rollup refreshes meanwhile: no deadlock between the store's two connection locks,
    and each read the dashboard computed from rows."""
    h = random_hospital(5, patients=40, days=SPAN_DAYS)
    since, until = WINDOW
    async with open_store(fresh_postgres_url) as store:
        live = await _written(store, h)

        async def read() -> bytes:
            got = await stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
            return got.to_json()

        async def upkeep() -> None:
            for _ in range(3):
                await store.refresh_rollups(LONDON.key, cell_spec(MEASURES, None))
                await asyncio.sleep(0)

        results = await asyncio.wait_for(
            asyncio.gather(read(), read(), upkeep(), read(), read()), 60
        )
        assert [r for r in results if r is not None] == [live.to_json()] * 4


async def test_two_quarters_of_one_calendar_quarter_are_not_both_added(
    fresh_postgres_url: str,
):
    """The database server's tzdata updated (Debian's PostgreSQL reads the system's; Almaty
    went from +06 to +05 on 1 March 2024, a tzdata of a month before did not know): the next
    refresh's `ROLLUP_NEW_QUARTERS` computes the quarter of the buckets made before with the
    new rules, an hour off the one made with the old, and inserts it beside it; both hold the
    same buckets, both are rebuilt clean, and a window containing both added both. Made here
    as that update leaves it: a second row of the quarter, its end an hour later."""
    h = random_hospital(5, patients=40, days=SPAN_DAYS)
    since, until = WINDOW
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as conn:
            cur = await conn.execute(
                "INSERT INTO dashboard_buckets (tz, level, start, stop)"
                " SELECT tz, 2, start, stop + interval '1 hour' FROM dashboard_buckets"
                " WHERE level = 2 AND start = %s",
                (datetime(2027, 1, 1, tzinfo=LONDON),),
            )
            assert cur.rowcount == 1
            await conn.commit()
        assert await store.refresh_rollups(LONDON.key, cell_spec(MEASURES, None)) == 1
        everything = await store.patient_rows(sorted({a.patient_id for a in h.batch.adt}))
        live = compute_dashboard(everything, since=since, until=until, period="month", tz=LONDON)
        stored = await stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
        assert stored.to_json() == live.to_json()


async def _relation_waiters(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND NOT granted"
    )
    row = await cur.fetchone()
    return int(str(row[0])) if row else 0


async def test_a_table_lock_asked_between_the_two_lanes_does_not_hang_the_store(
    fresh_postgres_url: str,
):
    """An ACCESS EXCLUSIVE lock (a newer version's migration, an operator's ALTER or LOCK)
    asked for on the items while the first lane holds them and the second has yet to read
    them: it waits for the first lane's transaction, the second lane waits behind it, and
    the first lane waits in Python for the second. PostgreSQL sees no cycle; the store's
    connection lock is held all the while (the scorer's writes wait too). The read must give
    way (fail) rather than hang until the other side gives up."""
    h = random_hospital(5, patients=40, days=SPAN_DAYS)
    since, until = WINDOW
    async with (
        open_store(fresh_postgres_url) as store,
        await psycopg.AsyncConnection.connect(fresh_postgres_url) as first,
        await psycopg.AsyncConnection.connect(fresh_postgres_url) as ddl,
    ):
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        # The second lane starts with the rollups' cells: held up there a moment.
        await first.execute("LOCK TABLE dashboard_rollup_cells IN ACCESS EXCLUSIVE MODE")
        read = asyncio.create_task(
            stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
        )
        await _waiting_pid(first)
        await asyncio.sleep(0.5)  # the first lane reads the items, then waits for the second
        await ddl.execute("SET lock_timeout = '8s'")
        altered = asyncio.create_task(
            ddl.execute("LOCK TABLE dashboard_items IN ACCESS EXCLUSIVE MODE")
        )
        for _ in range(200):
            if await _relation_waiters(first) == 2:
                break
            await asyncio.sleep(0.02)
        await first.rollback()  # the second lane goes on, to the items: behind the lock asked
        try:
            await altered  # LockNotAvailable (lock_timeout): the read held it up for 8 s
        finally:
            await ddl.rollback()
            outcome = (await asyncio.gather(read, return_exceptions=True))[0]
        assert isinstance(outcome, StoreError), outcome  # the read gave way
        # and the store reads again
        everything = await store.patient_rows(sorted({a.patient_id for a in h.batch.adt}))
        live = compute_dashboard(everything, since=since, until=until, period="month", tz=LONDON)
        stored = await stored_dashboard(store, since=since, until=until, period="month", tz=LONDON)
        assert stored.to_json() == live.to_json()
