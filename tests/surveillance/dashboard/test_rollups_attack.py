"""Attacks on PostgreSQL's rollups of settled patients (migration 0008): footprints and
bucket bounds that do not hold every item a window counts, so that a window which uses a
bucket differs from the dashboard computed from the rows."""

from __future__ import annotations

import asyncio
import logging
import shutil
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from surveillance import StoreHistory
from surveillance.cli import main as cli_main
from surveillance.dashboard import (
    Period,
    compute_dashboard,
    refresh_dashboard,
    refresh_rollups,
    stored_dashboard,
)
from surveillance.store import Store, StoreError, open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital
from tests.surveillance.dashboard.test_rollups import SPAN_DAYS
from tests.surveillance.dashboard.test_stored import random_hospital

LONDON = ZoneInfo("Europe/London")
HAVANA = ZoneInfo("America/Havana")
ROLLUP_LOCK = 0x5375_7276_524F_4C4C  # the rollups' advisory lock (`_dashboard_sql`)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _local(text: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


Window = tuple[datetime, datetime, Period]


async def _compare(
    store: Store,
    h: Hospital,
    tz: ZoneInfo,
    windows: list[Window],
    caplog: pytest.LogCaptureFixture,
) -> list[int]:
    """Each window's stored dashboard as JSON equals the one computed from the rows; returns
    the buckets each window used (so that a test shows the rollups were in play)."""
    b = h.batch
    ids = {r.patient_id for r in b.adt} | {r.patient_id for r in b.observations}
    ids |= {r.patient_id for r in b.alerts} | {r.patient_id for r in b.events}
    everything = await store.patient_rows(sorted(ids))
    used: list[int] = []
    for since, until, period in windows:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="surveillance.store._postgres"):
            stored = await stored_dashboard(store, since=since, until=until, period=period, tz=tz)
        live = compute_dashboard(everything, since=since, until=until, period=period, tz=tz)
        found = [r.args for r in caplog.records if r.msg.startswith("dashboard_sums ")]
        used += [int(str(a[2])) for a in found if isinstance(a, tuple) and a[0] == "buckets"]
        assert stored.to_json() == live.to_json(), (since, until, period)
    return used


def _stay(h: Hospital, patient: str, ward: str, admit: datetime, leave: datetime) -> None:
    """A stay with nurses' sets every 4 hours, each due 12 hours later (taken early: the set's
    item is timed at its due time and decided at the next set), and a fall."""
    h.admit(patient, ward, admit, sex="1")
    clock = admit
    while clock < leave:
        h.obs(patient, ward, clock, clock + 12 * H)
        clock += 4 * H
    h.event(patient, ward, "fall", admit + H)
    h.adt(patient, ward, "discharge", leave)


async def test_an_item_timed_after_every_decision_and_the_discharge_is_counted(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """A nurses' set taken early is an item at its due time decided at the next set: the last
    sets before a discharge have items due after it (and after every decision). A footprint
    that ends at the latest decision puts the patient in November's bucket while one of their
    items is in December: lost from every window holding it that uses a bucket."""
    h = Hospital()
    # Sets at 14:00, 18:00: due 02:00 and 06:00 on 1 December, decided at 18:00 and 22:00.
    _stay(h, "P1", "A", _utc("2026-11-30T10:00"), _utc("2026-11-30T22:30"))
    _stay(h, "P2", "A", _utc("2026-11-10T10:00"), _utc("2026-11-12T10:00"))  # November's
    _stay(h, "P3", "B", _utc("2026-12-10T10:00"), _utc("2026-12-12T10:00"))  # December's
    windows: list[Window] = [
        (_local("2026-12-01", LONDON), _local("2027-01-01", LONDON), "month"),
        (_local("2026-11-01", LONDON), _local("2027-01-01", LONDON), "week"),
    ]
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        assert all(await _compare(store, h, LONDON, windows, caplog))


@pytest.mark.parametrize(
    ("since", "until", "period", "admit", "leave"),
    [
        # 1 November 2026 is a Sunday: Havana's clocks go back from 01:00 to 00:00, so local
        # midnight is twice; the window (as Python, fold 0) starts at the first, 04:00 UTC.
        # PostgreSQL's `AT TIME ZONE` takes the second (05:00 UTC) as the bucket's start: a
        # patient admitted in between is in a bucket that starts after their first items.
        ("2026-11-01", "2026-12-01", "month", "2026-11-01T04:30", "2026-11-03T12:00"),
        ("2026-10-01", "2027-01-01", "week", "2026-11-01T04:30", "2026-11-03T12:00"),
        # 2 November 2025: the days' stay time split at PostgreSQL's midnights (the second),
        # the periods at Python's (the first): an hour of the stay in the wrong day.
        ("2025-11-01", "2025-12-01", "day", "2025-11-01T12:00", "2025-11-03T12:00"),
    ],
)
async def test_a_zone_whose_midnight_happens_twice(
    fresh_postgres_url: str,
    caplog: pytest.LogCaptureFixture,
    since: str,
    until: str,
    period: Period,
    admit: str,
    leave: str,
):
    h = Hospital()
    _stay(h, "P1", "A", _utc(admit), _utc(leave))
    start = _utc(admit)
    _stay(h, "P2", "B", start + timedelta(days=8), start + timedelta(days=10))
    window = (_local(since, HAVANA), _local(until, HAVANA), period)
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, HAVANA)
        assert all(await _compare(store, h, HAVANA, [window], caplog))


async def _advisory_waiters(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def test_a_long_rollup_upkeep_never_holds_up_the_scorers_writes(fresh_postgres_url: str):
    """The rollup upkeep of another process (the `surveillance dashboard` command's refresh,
    a bucket rebuild: seconds for a big hospital's month) holds the advisory lock. The items'
    refresh waits for it; it must not wait holding the marks of its patients, which every
    write of theirs updates: the scorer would wait with it, and its alerts."""
    h = Hospital()
    _stay(h, "P1", "A", _utc("2026-11-10T10:00"), _utc("2026-11-12T10:00"))
    async with (
        open_store(fresh_postgres_url) as scorer,
        open_store(fresh_postgres_url) as dashboard,
        await psycopg.AsyncConnection.connect(fresh_postgres_url) as upkeep,
    ):
        await scorer.write(h.batch)
        await upkeep.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
        refresh = asyncio.create_task(refresh_dashboard(dashboard, LONDON, rollups=False))
        try:
            for _ in range(100):  # until the refresh waits for the lock
                if await _advisory_waiters(fresh_postgres_url):
                    break
                await asyncio.sleep(0.05)
            assert await _advisory_waiters(fresh_postgres_url) == 1
            late = Hospital(n=1000)
            late.obs("P1", "A", _utc("2026-11-11T12:00"), _utc("2026-11-11T16:00"))
            await asyncio.wait_for(scorer.write(late.batch), 3.0)
        finally:
            await upkeep.rollback()
            await refresh


async def test_the_services_background_refresh_keeps_the_rollups(fresh_postgres_url: str):
    """The service refreshes the items only in chunks (`StoreHistory`: a limit each time),
    and `refresh_dashboard` leaves the rollups to a refresh without a limit: the service's
    dashboards would never use a bucket (issue 16's speed only from the command line), and
    every patient written to since would stay pending."""
    h = Hospital()
    _stay(h, "P1", "A", _utc("2026-11-10T10:00"), _utc("2026-11-12T10:00"))
    _stay(h, "P2", "B", _utc("2026-12-10T10:00"), _utc("2026-12-12T10:00"))
    history = StoreHistory(LONDON)
    history.refresh_seconds = 0.05
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        history.store = store  # starts the background refresh
        try:
            buckets = 0
            for _ in range(100):
                await asyncio.sleep(0.05)
                async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as conn:
                    cur = await conn.execute(
                        "SELECT count(*) FROM dashboard_buckets WHERE NOT dirty AND level = 1"
                    )
                    row = await cur.fetchone()
                buckets = int(row[0]) if row else 0
                if buckets == 2:
                    break
            assert buckets == 2
        finally:
            history.close()


def _month_starts(month: str, tz: ZoneInfo) -> list[datetime]:
    """Local midnights starting the month before `month` (YYYY-MM) and the three from it."""
    year, number = (int(part) for part in month.split("-"))
    out = []
    for shift in (-1, 0, 1, 2):
        y, m = divmod(year * 12 + number - 1 + shift, 12)
        out.append(datetime(y, m + 1, 1, tzinfo=tz))
    return out


@pytest.mark.parametrize(
    ("zone", "month"),
    [
        ("Pacific/Apia", "2011-12"),  # 30 December 2011 skipped
        ("America/Santiago", "2026-04"),  # back at midnight (23:00 twice)
        ("America/Santiago", "2026-09"),  # forward at midnight (none)
        ("Asia/Tehran", "2015-03"),  # forward at midnight, +03:30
        ("Asia/Tehran", "2015-09"),  # back at midnight
        ("Asia/Tehran", "1935-06"),  # local mean time, +03:25:44
        ("Africa/Monrovia", "1960-03"),  # -00:44:30
        ("Australia/Lord_Howe", "2026-04"),  # back by half an hour
        ("America/Havana", "2026-03"),  # forward at midnight
        ("America/Havana", "2026-11"),  # back at midnight, on the 1st
    ],
)
async def test_odd_zones_give_the_same_dashboard(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture, zone: str, month: str
):
    """Stays every 40 hours, of 3 days each, from before the month before to after the month
    after, across every day: windows of whole months (some buckets theirs), by day and week."""
    tz = ZoneInfo(zone)
    before, start, end, after = _month_starts(month, tz)
    h = Hospital()
    admit = before + timedelta(days=20, hours=7)
    n = 0
    while admit < after + timedelta(days=10):
        n += 1
        _stay(h, f"P{n}", "AB"[n % 2], admit, admit + timedelta(days=3, minutes=17))
        admit += timedelta(hours=40)
    windows: list[Window] = [(start, end, "day"), (before, after, "week"), (before, after, "month")]
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, tz)
        assert any(await _compare(store, h, tz, windows, caplog))


@pytest.mark.parametrize("how", ["cancelled", "connection dropped"])
async def test_a_rollup_refresh_stopped_midway_leaves_the_store_usable_and_exact(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture, how: str
):
    """A rollup refresh stopped while it waits for (or holds) the advisory lock: the task
    cancelled (the service stopping, a request timing out) or its connection dropped. The
    store's connection is usable after, the dashboards exact, and the next refresh catches
    up."""
    h = Hospital()
    _stay(h, "P1", "A", _utc("2026-11-10T10:00"), _utc("2026-11-12T10:00"))
    _stay(h, "P2", "B", _utc("2026-12-10T10:00"), _utc("2026-12-12T10:00"))
    windows: list[Window] = [(_local("2026-11-01", LONDON), _local("2027-01-01", LONDON), "week")]
    async with (
        open_store(fresh_postgres_url) as store,
        await psycopg.AsyncConnection.connect(fresh_postgres_url, autocommit=True) as admin,
    ):
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON, rollups=False)
        async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as upkeep:
            await upkeep.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
            task = asyncio.create_task(refresh_rollups(store, LONDON))
            for _ in range(100):
                if await _advisory_waiters(fresh_postgres_url):
                    break
                await asyncio.sleep(0.05)
            assert await _advisory_waiters(fresh_postgres_url) == 1
            if how == "cancelled":
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            else:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND NOT granted"
                )
                with pytest.raises(StoreError):
                    await task
            await upkeep.rollback()
        assert not any(await _compare(store, h, LONDON, windows, caplog))
        assert await refresh_rollups(store, LONDON) == 2 + 1  # and their quarter
        assert await _compare(store, h, LONDON, windows, caplog) == [2]


async def test_odd_stays_and_windows_a_microsecond_off_the_buckets(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """Stays of no length (a transfer at the admission's instant, a discharge at it),
    transfers between wards at one instant, a patient with stays and no items, one with
    items and no stay (alerts with no ADT), a senior review long after its trigger (decided
    the next day, in the next month), ids reused years later; windows on the buckets' bounds
    and a microsecond either side."""
    h = Hospital()
    t = _utc("2026-11-10T10:00")
    h.admit("Z1", "A", t, sex="1")
    h.adt("Z1", "B", "transfer", t, sex="1")  # no time on A
    h.obs("Z1", "B", t + H, t + 5 * H)
    h.adt("Z1", "A", "transfer", t + 2 * H, sex="2")
    h.adt("Z1", "B", "transfer", t + 2 * H, sex="2")  # A and B at one instant
    h.adt("Z1", "B", "discharge", t + 30 * H)
    h.admit("Z2", "A", t + 3 * H, sex="2")
    h.adt("Z2", "A", "discharge", t + 3 * H)  # no time at all
    h.admit("Z3", "B", t + 4 * H, sex="1")  # no sets, no alerts: stays only
    h.adt("Z3", "B", "discharge", t + 40 * H)
    h.alert("al1", "Z4", "A", [(t, "raised"), (t + 9 * H, "acknowledged")])  # no ADT
    night = _utc("2026-11-30T23:00")
    h.admit("Z5", "A", night - 5 * H, sex="1")
    h.alert("al2", "Z5", "A", [(night, "raised"), (night + 0.5 * H, "acknowledged")])
    h.event("Z5", "A", "senior-review", night + 20 * H)  # decided in December
    h.adt("Z5", "A", "discharge", night + 0.5 * H)
    _stay(h, "Z6", "A", _utc("2024-11-10T10:00"), _utc("2024-11-12T10:00"))
    _stay(h, "Z6", "B", _utc("2026-12-03T10:00"), _utc("2026-12-05T10:00"))  # id reused
    _stay(h, "Z7", "B", _utc("2026-12-13T10:00"), _utc("2026-12-15T10:00"))
    us = timedelta(microseconds=1)
    nov, dec, jan = (_local(d, LONDON) for d in ("2026-11-01", "2026-12-01", "2027-01-01"))
    windows: list[Window] = [
        (nov, jan, "week"),
        (nov + us, jan, "week"),
        (nov - us, jan - us, "week"),
        (dec, jan + us, "day"),
        (dec - us, jan, "month"),
        (dec + us, jan - us, "month"),
        (nov, dec, "day"),
    ]
    async with open_store(fresh_postgres_url) as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        assert any(await _compare(store, h, LONDON, windows, caplog))


async def test_two_processes_refreshing_while_the_scorer_writes_and_a_dashboard_reads(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """The service's refresh and the command line's at once (two connections), with late
    writes between and dashboards read meanwhile: no deadlock, and once both are done the
    dashboards are exact and every bucket clean."""
    h = random_hospital(8, patients=60, days=SPAN_DAYS)
    settled = sorted({a.patient_id for a in h.batch.adt})
    windows: list[Window] = [
        (_local("2026-12-01", LONDON), _local("2027-03-01", LONDON), "month"),
        (_local("2026-11-20T13:00", LONDON), _local("2027-04-15T06:30", LONDON), "week"),
    ]
    async with (
        open_store(fresh_postgres_url) as scorer,
        open_store(fresh_postgres_url) as service,
        open_store(fresh_postgres_url) as command,
        open_store(fresh_postgres_url) as reader,
    ):
        await scorer.write(h.batch)
        await refresh_dashboard(service, LONDON)
        for round_ in range(3):
            late = Hospital(n=30_000 + 1000 * round_)
            for i, patient in enumerate(settled[round_::4]):
                late.event(patient, "A", "fall", T0 + timedelta(days=10 + 17 * i % 120))
            late.admit(settled[round_], "B", T0 + timedelta(days=100 + round_), sex="2")
            late.adt(settled[round_], "B", "discharge", T0 + timedelta(days=101 + round_))
            h.batch.extend(late.batch)
            await scorer.write(late.batch)
            reads = [
                stored_dashboard(reader, since=s, until=u, period=p, tz=LONDON)
                for s, u, p in windows
            ]
            await asyncio.wait_for(
                asyncio.gather(
                    refresh_dashboard(service, LONDON, chunk=5),
                    refresh_dashboard(command, LONDON, chunk=7),
                    *reads,
                ),
                60,
            )
            await refresh_dashboard(service, LONDON)
            assert all(await _compare(reader, h, LONDON, windows, caplog))
            async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as conn:
                cur = await conn.execute("SELECT count(*) FROM dashboard_buckets WHERE dirty")
                assert await cur.fetchone() == (0,)


async def test_the_servers_zone_rules_differ_from_pythons(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
):
    """The database server's time zone rules are not Python's (another host, another tzdata:
    Almaty went from +06 to +05 on 1 March 2024, an old tzdata still says +06). The windows'
    periods are Python's local days; a window summed from items never asks PostgreSQL for
    a local time, but the rollups split their items and stays into PostgreSQL's local days,
    an hour off: a day's stay time and items go to the day before."""
    (tmp_path / "Asia").mkdir()
    shutil.copy("/usr/share/zoneinfo/Asia/Omsk", tmp_path / "Asia" / "Almaty")  # +06
    zoneinfo.reset_tzpath([str(tmp_path)])  # Python's tzdata is the old one
    zoneinfo.ZoneInfo.clear_cache()
    try:
        almaty = ZoneInfo("Asia/Almaty")
        assert almaty.utcoffset(datetime(2025, 1, 1)) == timedelta(hours=6)
        h = Hospital()
        _stay(h, "P1", "A", _utc("2025-01-10T05:00"), _utc("2025-01-13T20:30"))
        _stay(h, "P2", "B", _utc("2025-02-10T18:20"), _utc("2025-02-12T21:00"))
        since, until = datetime(2025, 1, 1, tzinfo=almaty), datetime(2025, 3, 1, tzinfo=almaty)
        windows: list[Window] = [(since, until, "day"), (since, until, "week")]
        async with open_store(fresh_postgres_url) as store:
            await store.write(h.batch)
            await refresh_dashboard(store, almaty)
            assert all(await _compare(store, h, almaty, windows, caplog))
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


def test_the_command_line_in_another_zone_keeps_the_services_rollups(
    fresh_postgres_url: str, capsys: pytest.CaptureFixture[str]
):
    """`surveillance dashboard --timezone` of another zone than the settings' (the service's)
    refreshes the items, and the rollups only in the settings' zone: a refresh in another
    zone forgets every bucket and assigns every patient again (minutes for a hospital's
    years, under the lock that the items' refresh waits for), and the service's next refresh
    does the same back."""
    h = Hospital()
    _stay(h, "P1", "A", _utc("2026-11-10T10:00"), _utc("2026-11-12T10:00"))
    _stay(h, "P2", "B", _utc("2026-12-10T10:00"), _utc("2026-12-12T10:00"))

    async def service() -> None:
        async with open_store(fresh_postgres_url) as store:
            await store.write(h.batch)
            await refresh_dashboard(store, LONDON)

    async def zones() -> list[tuple[str, bool]]:
        async with await psycopg.AsyncConnection.connect(fresh_postgres_url) as conn:
            cur = await conn.execute(
                "SELECT tz, dirty FROM dashboard_buckets WHERE level = 1 ORDER BY start"
            )
            return [(str(z), bool(d)) for z, d in await cur.fetchall()]

    asyncio.run(service())
    assert asyncio.run(zones()) == [("Europe/London", False)] * 2
    status = cli_main(
        ["dashboard", "--store", fresh_postgres_url, "--timezone", "America/New_York",
         "--since", "2026-11-01T00:00", "--until", "2027-01-01T00:00", "--period", "week"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert asyncio.run(zones()) == [("Europe/London", False)] * 2
