"""Second review of PostgreSQL's rollups: the quarters (level 2, the sums of the level-1
buckets inside them) and the dashboard read on two connections of one snapshot."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from dataclasses import replace
from zoneinfo import ZoneInfo

import psycopg
import pytest

from surveillance.dashboard import (
    MEASURES,
    cell_spec,
    compute_dashboard,
    refresh_dashboard,
    stored_dashboard,
)
from surveillance.store import open_store
from tests.surveillance.dashboard.test_rollups import SPAN_DAYS
from tests.surveillance.dashboard.test_stored import random_hospital

LONDON = ZoneInfo("Europe/London")
ROLLUP_LOCK = 0x5375_7276_524F_4C4C  # the rollups' advisory lock (`_dashboard_sql`)


async def _advisory_waiters(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0


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
            if not row or not row[0]:
                return 0
            await asyncio.sleep(0.02)
        return int(row[0])


async def test_a_quarter_is_not_used_once_a_bucket_inside_is_rebuilt_for_another_spec(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """An upgrade changes the cell spec: the new version's refresh rebuilds the buckets one
    transaction each, while the old version still reads with the old spec. A bucket rebuilt
    with the new spec is not usable with the old one (its patients are summed from items),
    but its quarter, clean with the old spec, still holds them: counted twice."""
    h = random_hospital(5, patients=60, days=SPAN_DAYS)
    since = datetime(2026, 10, 1, tzinfo=LONDON)
    until = datetime(2027, 7, 1, tzinfo=LONDON)
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
    since = datetime(2026, 10, 1, tzinfo=LONDON)
    until = datetime(2027, 7, 1, tzinfo=LONDON)
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
