"""PostgreSQL's rollups of settled patients (migration 0008): a window that contains whole
months sums their buckets instead of their items, and the dashboard is the same JSON, byte for
byte, as the one computed from the rows; also after late writes move patients between
buckets, before the rollups are refreshed, with the rollups of another time zone or cell spec,
and after a kill between the two refreshes."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from surveillance import StoreHistory
from surveillance.dashboard import (
    MEASURES,
    Period,
    cell_spec,
    compute_dashboard,
    refresh_dashboard,
    refresh_rollups,
    stored_dashboard,
)
from surveillance.store import DashboardRows, Store, open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital
from tests.surveillance.dashboard.test_stored import batches, random_hospital

LONDON = ZoneInfo("Europe/London")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


WINDOWS: list[tuple[datetime, datetime, Period, list[str] | None]] = [
    (_local("2026-12-01"), _local("2027-03-01"), "month", None),  # whole months
    (_local("2026-12-01"), _local("2027-03-01"), "week", ["B"]),
    # not on months, across the clocks going forward (28 March 2027): December to March whole
    (_local("2026-11-20T13:00"), _local("2027-04-15T06:30"), "week", None),
    (_local("2026-11-20T13:00"), _local("2027-04-15T06:30"), "day", ["A"]),
    (T0 - 3 * H, T0 + timedelta(days=170), "month", ["C"]),
    (_local("2027-01-01"), _local("2027-02-01"), "day", None),  # one month
]
SPAN_DAYS = 150


async def _rows(store: Store, h: Hospital) -> DashboardRows:
    return await store.patient_rows(sorted({a.patient_id for a in h.batch.adt}))


async def _same(store: Store, h: Hospital, caplog: pytest.LogCaptureFixture) -> list[int]:
    """Every window's stored dashboard equals the live one; the buckets each one used."""
    everything = await _rows(store, h)
    used = []
    for since, until, period, wards in WINDOWS:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="surveillance.store._postgres"):
            stored = await stored_dashboard(
                store, since=since, until=until, period=period, tz=LONDON, wards=wards
            )
        live = compute_dashboard(
            everything, since=since, until=until, period=period, tz=LONDON, wards=wards
        )
        assert stored.to_json() == live.to_json(), (since, until, period, wards)
        found = [r.args for r in caplog.records if r.msg.startswith("dashboard_sums ")]
        counts = [a[2] for a in found if isinstance(a, tuple) and a[0] == "buckets"]
        assert len(counts) == 1
        assert isinstance(counts[0], int)
        used.append(counts[0])
    return used


async def _buckets(url: str) -> list[tuple[bool, str]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT dirty, tz FROM dashboard_buckets ORDER BY start, stop")
        return [(bool(d), str(z)) for d, z in await cur.fetchall()]


@pytest.mark.parametrize("seed", [3, 4])
async def test_rollups_give_the_same_dashboard(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture, seed: int
):
    h = random_hospital(seed, patients=90, days=SPAN_DAYS)
    rng = random.Random(seed)  # noqa: S311 (test data)
    async with open_store(fresh_postgres_url) as store:
        for batch in batches(h, rng, 3):
            await store.write(batch)
            await refresh_dashboard(store, LONDON, chunk=11)
        buckets = await _buckets(fresh_postgres_url)
        assert len(buckets) >= 5
        assert not any(dirty for dirty, _ in buckets)
        used = await _same(store, h, caplog)
        # Dec, Jan, Feb and two pairs; with Mar and its pair; Dec-Mar (not Nov: since is
        # after its start); January alone.
        assert used == [5, 5, 7, 7, 7, 1]

        # Late writes: a settled patient's new harm, a patient readmitted months later (their
        # bucket lost: too long), and one whose stay now ends later (another bucket).
        settled = sorted({a.patient_id for a in h.batch.adt})
        late = Hospital(n=10_000)
        late.event(settled[0], "A", "fall", T0 + timedelta(days=40))
        late.admit(settled[1], "B", T0 + timedelta(days=120), sex="2")
        late.adt(settled[1], "B", "discharge", T0 + timedelta(days=123))
        await store.write(late.batch)
        h.batch.extend(late.batch)
        # Items refreshed, rollups not (a request's refresh): the dirty buckets are not used.
        await refresh_dashboard(store, LONDON, limit=100)
        assert any(dirty for dirty, _ in await _buckets(fresh_postgres_url))
        await _same(store, h, caplog)
        assert (await refresh_dashboard(store, LONDON)).buckets >= 1
        assert not any(dirty for dirty, _ in await _buckets(fresh_postgres_url))
        assert (await _same(store, h, caplog))[:3] == used[:3]


async def test_rollups_of_another_zone_or_spec_are_not_used(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    h = random_hospital(5, patients=60, days=SPAN_DAYS)
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        assert (await _same(store, h, caplog))[0] == 5
        # Another spec (measures changed by an upgrade): every bucket rebuilt; until then the
        # London dashboards sum every patient from items.
        other = replace(cell_spec(MEASURES, None), names=cell_spec(MEASURES, None).names[1:])
        assert await store.refresh_rollups(LONDON.key, other) >= 5
        assert set(await _same(store, h, caplog)) == {0}
        assert await refresh_rollups(store, LONDON) >= 5
        assert (await _same(store, h, caplog))[0] == 5
        # Another time zone (the settings changed): the patients assigned again, to its months.
        await refresh_rollups(store, ZoneInfo("America/New_York"))
        assert {tz for _, tz in await _buckets(fresh_postgres_url)} == {"America/New_York"}
        assert set(await _same(store, h, caplog)) == {0}
        await refresh_rollups(store, LONDON)
        assert {tz for _, tz in await _buckets(fresh_postgres_url)} == {"Europe/London"}
        assert (await _same(store, h, caplog))[0] == 5


async def test_items_replaced_but_rollups_not_refreshed_is_still_exact(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """A kill between the items' refresh and the rollups' (or a rollup refresh that failed):
    the replaced patients are pending and their buckets dirty, in the same transaction."""
    h = random_hospital(6, patients=60, days=SPAN_DAYS)
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        everyone = sorted({a.patient_id for a in h.batch.adt})
        late = Hospital(n=20_000)
        for patient in everyone[::3]:
            late.event(patient, "C", "pressure-ulcer", T0 + timedelta(days=60))
        await store.write(late.batch)
        h.batch.extend(late.batch)
        await refresh_dashboard(store, LONDON, rollups=False)
        assert sum(dirty for dirty, _ in await _buckets(fresh_postgres_url)) >= 1
        await _same(store, h, caplog)
    async with open_store(fresh_postgres_url) as store:  # a restart: the refresh catches up
        await refresh_dashboard(store, LONDON)
        assert not any(dirty for dirty, _ in await _buckets(fresh_postgres_url))
        await _same(store, h, caplog)


async def test_the_service_builds_the_rollups_in_the_background(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """The service's periodic refresh (`StoreHistory`) makes the items, then the rollups; its
    dashboard of whole months then sums buckets, and is the dashboard computed from rows."""
    h = random_hospital(7, patients=40, days=SPAN_DAYS)
    since, until = _local("2026-12-01"), _local("2027-03-01")
    history = StoreHistory(LONDON, clock=lambda: until)
    history.refresh_seconds = 0.2
    try:
        async with open_store(fresh_postgres_url) as store:
            await store.write(h.batch)
            history.store = store  # starts the periodic refresh
            for _ in range(300):
                buckets = await _buckets(fresh_postgres_url)
                if buckets and not any(dirty for dirty, _ in buckets):
                    break
                await asyncio.sleep(0.1)
            assert len(buckets) >= 5
            assert not any(dirty for dirty, _ in buckets)
            with caplog.at_level(logging.DEBUG, logger="surveillance.store._postgres"):
                served = await history.dashboard(None, "month", since, until, "json")
            rows = await _rows(store, h)
    finally:
        history.close()
    live = compute_dashboard(rows, since=since, until=until, period="month", tz=LONDON)
    assert json.loads(served)["measures"] == json.loads(live.to_json())["measures"]
    used = [r.args for r in caplog.records if r.msg.startswith("dashboard_sums ")]
    assert [a[2] for a in used if isinstance(a, tuple) and a[0] == "buckets"] == [5]
