"""The safety dashboard on a big hospital: a simulated year of a 1,000-bed hospital in
PostgreSQL, its dashboard items refreshed, and the dashboard's response time.

Loads (through `Store.write`, the service's own path, which also marks every patient dirty)
~30 wards of 33 beds kept full for a year: stays of 1-10 days (some with a transfer), nurses'
sets every 4-12 hours (about a quarter late, some missed), score alerts with acknowledgements
and escalations, AKI alerts, think-sepsis prompts with treatment (or not), and harms (arrests,
ICU admissions, deaths, falls, pressure ulcers), each patient with sex, ethnicity, birth date,
IMD decile and needs. The rows are made here directly: the full simulator
(`surveillance simulate`) scores every vital sign and takes hours for a hospital-year.

Then: the refresh of every patient's items (its time and rate), and the dashboard's response
time (median of `--runs`) for one ward-year by month, one ward-year by week, the hospital-year
by month, and one ward's last 28 days by day; split into the store's sums (SQL) and drawing
the tables (`dashboard_from_sums`: SPC, intervals and the suppression of the equity tables,
which is timed apart: `--suppression` runs it, else it is replaced by nothing hidden).

A fresh database on `SURVEILLANCE_BENCH_PG` (default the local cluster), dropped at the end.

`--live` also times the live path (`Store.dashboard_rows`, then `compute_dashboard`): what the
dashboard did before the items were kept (slow: for a small hospital only).

`--queries` also prints each of the store's queries' median seconds (PostgreSQL's
`dashboard_sums` logs them at DEBUG): where a response's time goes.

Usage: bench/dashboard [--beds 990] [--days 365] [--runs 3] [--suppression] [--live] [--keep]
                       [--url URL] [--queries]

`--keep` keeps the database and prints its URL; `--url URL` times that database again without
loading (while working on the queries).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import resource
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import msgspec
import psycopg
from psycopg import sql

from surveillance.dashboard import (
    Period,
    compute_dashboard,
    dashboard_from_sums,
    read_sums,
    refresh_dashboard,
    refresh_rollups,
)
from surveillance.store import (
    AdtRecord,
    AlertRecord,
    Batch,
    EventRecord,
    ObservationRecord,
    ScoreRecord,
    Store,
    open_store,
)

LONDON = ZoneInfo("Europe/London")
START = datetime(2025, 1, 1, tzinfo=UTC)
BEDS_PER_WARD = 33
FLUSH = 40_000  # records per write
H = timedelta(hours=1)
M = timedelta(minutes=1)


class Hospital:
    """Store records of a simulated hospital, made bed by bed."""

    def __init__(self, beds: int, days: int, seed: int = 16) -> None:
        self.beds, self.days = beds, days
        self.end = START + timedelta(days=days)
        self.rng = random.Random(seed)  # noqa: S311 (simulated data)
        self.wards = [f"W{i:02d}" for i in range((beds + BEDS_PER_WARD - 1) // BEDS_PER_WARD)]
        self.n = 0
        self.counts: dict[str, int] = dict.fromkeys(
            ("patients", "adt", "sets", "alert_events", "events"), 0
        )

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def batches(self) -> Iterator[Batch]:
        batch = Batch()
        for bed in range(self.beds):
            ward = self.wards[bed // BEDS_PER_WARD]
            t = START + timedelta(hours=self.rng.uniform(0, 24))
            while t < self.end:
                t = self._stay(batch, ward, str(bed % BEDS_PER_WARD + 1), t)
                if len(batch) >= FLUSH:
                    yield batch
                    batch = Batch()
        yield batch

    def _context(self) -> dict[str, Any]:
        rng = self.rng
        born = date(2025, 6, 1) - timedelta(days=rng.triangular(18, 98, 78) * 365.25)
        return {
            "cohort": "adult",
            "sex": rng.choices(("1", "2", "9", "X"), (48, 50, 1, 1))[0],
            "ethnicity": rng.choices(("A", "B", "D", "H", "J", "M", "N", "R", "Z", "99"),
                                     (70, 5, 3, 6, 3, 3, 2, 2, 4, 2))[0],
            "birth_date": born.isoformat(),
            "imd_decile": rng.choice((*range(1, 11), None)),
            "needs": rng.sample(
                ("learning-disability", "autism", "physical-disability", "mental-health",
                 "dementia"), rng.choices((0, 1, 2), (80, 16, 4))[0],
            ),
        }  # fmt: skip

    def _adt(  # noqa: PLR0917 (the record's fields)
        self, batch: Batch, patient: str, ward: str, bed: str, event: str, t: datetime,
             context: dict[str, Any]) -> None:  # fmt: skip
        batch.adt.append(
            AdtRecord(self._id("adt"), t, t, ward, bed, patient, event,
                      {**context, "ward": ward, "bed": bed})
        )  # fmt: skip
        self.counts["adt"] += 1

    def _stay(self, batch: Batch, ward: str, bed: str, t: datetime) -> datetime:
        rng = self.rng
        patient = self._id("P")
        self.counts["patients"] += 1
        context = self._context()
        end = t + timedelta(days=rng.uniform(1, 10))
        self._adt(batch, patient, ward, bed, "admit", t, context)
        here = ward
        moved = t + (end - t) * rng.uniform(0.2, 0.8) if rng.random() < 0.15 else None
        hours = rng.choices((4, 6, 8, 12), (75, 15, 5, 5))[0]
        clock = t + timedelta(minutes=rng.uniform(5, 60))
        while clock < min(end, self.end):
            if moved is not None and clock >= moved:
                here = rng.choice(self.wards)
                self._adt(batch, patient, here, bed, "transfer", moved, context)
                moved = None
            due = clock + hours * H
            self._set(batch, patient, here, bed, clock, due)
            if rng.random() < 0.05:
                self._score_alert(batch, patient, here, bed, clock)
            roll = rng.random()
            lateness = 0.0 if roll < 0.75 else 0.5 if roll < 0.92 else 1.2
            clock = (
                due + timedelta(hours=hours * lateness) + timedelta(minutes=rng.uniform(-20, 20))
            )
        if rng.random() < 0.01:
            self._alert(batch, patient, here, bed, t + (end - t) / 2, "aki", "stage1",
                        ack=rng.random() < 0.8)  # fmt: skip
        if rng.random() < 0.03:
            prompt = t + (end - t) / 3
            self._alert(batch, patient, here, bed, prompt, "sepsis", "urgent", ack=True)
            if rng.random() < 0.7:
                self._event(batch, patient, here, bed, "sepsis-treatment",
                            prompt + timedelta(minutes=rng.uniform(5, 100)))  # fmt: skip
        for kind, chance in (("fall", 0.015), ("pressure-ulcer", 0.01), ("cardiac-arrest", 0.002),
                             ("icu-admission", 0.01)):  # fmt: skip
            if rng.random() < chance:
                self._event(batch, patient, here, bed, kind, t + (end - t) * rng.random())
        if end < self.end:
            if rng.random() < 0.02:
                self._event(batch, patient, here, bed, "death", end - M)
            self._adt(batch, patient, here, bed, "discharge", end, context)
        return end + timedelta(hours=rng.uniform(1, 6))

    def _set(  # noqa: PLR0917 (the record's fields)
        self, batch: Batch, patient: str, ward: str, bed: str, t: datetime,
             due: datetime) -> None:  # fmt: skip
        msg_id = self._id("o")
        batch.observations.append(
            ObservationRecord(msg_id, t, t, ward, bed, patient, "obs", "manual",
                              {"heart_rate": 80, "resp_rate": 16})
        )  # fmt: skip
        result = {"patient_id": patient, "ward": ward, "bed": bed, "system": "NEWS2",
                  "total": 1, "next_obs_due": due.isoformat().replace("+00:00", "Z")}  # fmt: skip
        batch.scores.append(
            ScoreRecord(msg_id, t, patient, ward, bed, "NEWS2", "news2", 1, "low", True,
                        msgspec.json.encode(result))
        )  # fmt: skip
        self.counts["sets"] += 1

    def _score_alert(self, batch: Batch, patient: str, ward: str, bed: str, t: datetime) -> None:
        severity = self.rng.choices(("urgent-ward", "urgent", "emergency"), (50, 35, 15))[0]
        self._alert(batch, patient, ward, bed, t, "score", severity, ack=self.rng.random() < 0.9)

    def _alert(  # noqa: PLR0917 (the record's fields)
        self, batch: Batch, patient: str, ward: str, bed: str, t: datetime, kind: str,
               severity: str, *, ack: bool) -> None:  # fmt: skip
        rng = self.rng
        alert_id = self._id("a")
        states = [(t, "raised")]
        wait = timedelta(minutes=rng.expovariate(1 / 15))
        if wait > 30 * M or not ack:
            states.append((t + 30 * M, "escalated"))
        if ack:
            states.append((t + wait, "acknowledged"))
        states.sort()
        states.append((states[-1][0] + timedelta(hours=rng.uniform(1, 8)), "resolved"))
        for seq, (when, state) in enumerate(states, 1):
            event = {"alert_id": alert_id, "kind": kind, "severity": severity, "state": state,
                     "system": "NEWS2", "seq": seq}  # fmt: skip
            batch.alerts.append(
                AlertRecord(alert_id, seq, when, ward, bed, patient, kind, severity, state, "m",
                            None, msgspec.json.encode(event))
            )  # fmt: skip
            self.counts["alert_events"] += 1

    def _event(  # noqa: PLR0917 (the record's fields)
        self, batch: Batch, patient: str, ward: str, bed: str, kind: str,
               t: datetime) -> None:  # fmt: skip
        batch.events.append(EventRecord(self._id("e"), t, t, ward, bed, patient, kind))
        self.counts["events"] += 1


async def _load(url: str, hospital: Hospital) -> float:
    began = time.perf_counter()
    async with open_store(url) as store:
        for batch in hospital.batches():
            await store.write(batch)
    return time.perf_counter() - began


class _QueryTimes(logging.Handler):
    """The seconds of each of `dashboard_sums`' queries, from its DEBUG log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("dashboard_sums ") and isinstance(record.args, tuple):
            name, seconds, _rows = record.args
            self.seconds[str(name)].append(float(seconds))  # type: ignore[arg-type]

    def report(self) -> str:
        """The medians, and forget them."""
        text = ", ".join(f"{n} {statistics.median(s):.2f} s" for n, s in self.seconds.items())
        self.seconds.clear()
        return text


QUERY_TIMES: Final = _QueryTimes()


async def _timed(
    store: Store, runs: int, suppress: bool, **window: Any
) -> tuple[float, float, int]:
    """Median seconds of the store's sums and of drawing the dashboard, and the JSON size."""
    sums_s, draw_s, size = [], [], 0
    for _ in range(runs):
        began = time.perf_counter()
        sums = await read_sums(store, since=window["since"], until=window["until"],
                               period=window["period"], tz=LONDON,
                               wards=window["wards"])  # fmt: skip
        read = time.perf_counter()
        board = dashboard_from_sums(sums, tz=LONDON, suppress=suppress, **window)
        size = len(board.to_json())
        sums_s.append(read - began)
        draw_s.append(time.perf_counter() - read)
    return statistics.median(sums_s), statistics.median(draw_s), size


async def _live(store: Store, runs: int, **window: Any) -> tuple[float, float]:
    """Median seconds of the live path: reading the window's rows, computing from them."""
    read_s, compute_s = [], []
    for _ in range(runs):
        began = time.perf_counter()
        rows = await store.dashboard_rows(window["since"], window["until"])
        read = time.perf_counter()
        compute_dashboard(rows, tz=LONDON, **window)
        read_s.append(read - began)
        compute_s.append(time.perf_counter() - read)
    return statistics.median(read_s), statistics.median(compute_s)


async def _measure(url: str, hospital: Hospital, runs: int, suppress: bool, live: bool) -> None:
    async with open_store(url) as store:
        dirty = await store.dirty_count()
        began = time.perf_counter()
        done = await refresh_dashboard(store, LONDON, chunk=2000, rollups=False)
        seconds = time.perf_counter() - began
        await _analyze(url)  # what autovacuum does after such a load
        print(
            f"refresh: {done.patients:,} patients ({dirty:,} dirty) -> {done.items:,} items, "
            f"{done.stays:,} stay pieces in {seconds:.1f} s "
            f"({done.patients / max(seconds, 1e-9):,.0f} patients/s, "
            f"{done.items / max(seconds, 1e-9):,.0f} items/s)"
        )
        began = time.perf_counter()
        buckets = await refresh_rollups(store, LONDON)
        seconds = time.perf_counter() - began
        await _analyze(url)
        print(f"rollups: {buckets} buckets rebuilt in {seconds:.1f} s")
        await _one_bucket_again(url, store)
        end = hospital.end
        year = (end - timedelta(days=hospital.days), end)
        span = "a year" if hospital.days == 365 else f"{hospital.days} days"
        ward = hospital.wards[0]
        # Off the months: the 365 days to 17 days before the end, at 14:00 (a year's
        # dashboard opened in the afternoon): its first and last months are partly in it.
        off = end - timedelta(days=17) + 14 * H
        cases: list[tuple[str, datetime, datetime, Period, list[str] | None]] = [
            (f"one ward, {span} by month", *year, "month", [ward]),
            (f"one ward, {span} by week", *year, "week", [ward]),
            (f"hospital, {span} by month", *year, "month", None),
            ("one ward, 28 days by day", end - timedelta(days=28), end, "day", [ward]),
            ("one ward, 365 d off months", off - timedelta(days=365), off, "week", [ward]),
            ("hospital, 365 d off months", off - timedelta(days=365), off, "month", None),
        ]
        print(f"dashboard response, median of {runs} (store sums + drawing = total):")
        for name, since, until, period, wards in cases:
            sums_s, draw_s, size = await _timed(
                store, runs, suppress, since=since, until=until, period=period, wards=wards
            )
            print(
                f"  {name:<28} {sums_s:6.2f} s + {draw_s:6.2f} s = {sums_s + draw_s:6.2f} s"
                f"   ({size / 1000:,.0f} kB JSON; load average {os.getloadavg()[0]:.1f})"
            )
            if QUERY_TIMES.seconds:
                print(f"    queries: {QUERY_TIMES.report()}")
            if live:
                read_s, compute_s = await _live(
                    store, runs, since=since, until=until, period=period, wards=wards
                )
                print(
                    f"  {'  live: rows + compute':<28} {read_s:6.2f} s + {compute_s:6.2f} s = "
                    f"{read_s + compute_s:6.2f} s"
                )


async def _one_bucket_again(url: str, store: Store) -> None:
    """The upkeep of a discharge: one patient of the latest month's bucket written to again
    (their items remade, their bucket dirty), then the rollups refreshed: the seconds a
    rebuild of a month of the hospital takes."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT p.patient_id FROM dashboard_patients p JOIN dashboard_buckets b"
            " ON b.id = p.bucket WHERE b.stop - b.start < interval '32 days'"
            " ORDER BY b.start DESC, p.patient_id LIMIT 1"
        )
        row = await cur.fetchone()
        if row is None:
            return
        await conn.execute("INSERT INTO dashboard_dirty (patient_id) VALUES (%s)", (row[0],))
    await refresh_dashboard(store, LONDON, rollups=False)
    began = time.perf_counter()
    buckets = await refresh_rollups(store, LONDON)
    print(
        f"rollups after one discharge: {buckets} buckets rebuilt (its month's and its quarter's)"
        f" in "
        f"{time.perf_counter() - began:.2f} s (load average {os.getloadavg()[0]:.1f})"
    )


async def _analyze(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("ANALYZE")


def _sizes(url: str) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables"
            " WHERE relname IN ('adt', 'observations', 'scores', 'alert_events',"
            " 'clinical_events', 'dashboard_items', 'dashboard_stays', 'dashboard_dirty',"
            " 'dashboard_patients', 'dashboard_rollup_cells', 'dashboard_rollup_periods',"
            " 'dashboard_rollup_stays')"
            " ORDER BY relname"
        ).fetchall()
    print("tables (rows, size with indexes):")
    for name, n, size in rows:
        print(f"  {name:<24} {n:>12,} rows {size / 2**20:>10,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beds", type=int, default=990)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--suppression", action="store_true",
                        help="draw with the equity tables' suppression (slow on many wards)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the database (print its URL)")
    parser.add_argument("--url", help="time a database kept by --keep (same --beds and --days)"
                        " instead of loading a fresh one")  # fmt: skip
    parser.add_argument("--live", action="store_true",
                        help="also time the live path (rows read, measures computed from them)")  # fmt: skip
    parser.add_argument("--queries", action="store_true",
                        help="print the median seconds of each of the store's queries")  # fmt: skip
    args = parser.parse_args()
    if args.queries:
        store_log = logging.getLogger("surveillance.store._postgres")
        store_log.setLevel(logging.DEBUG)
        store_log.addHandler(QUERY_TIMES)
    hospital = Hospital(args.beds, args.days)
    print(
        f"dashboard bench: {len(hospital.wards)} wards, {args.beds} beds, {args.days} days"
        f"{'' if args.suppression else ' (equity suppression not run: --suppression)'}"
    )
    if args.url:  # loaded before: refresh what is dirty (nothing), then time
        asyncio.run(_measure(args.url, hospital, args.runs, args.suppression, args.live))
        return
    server = os.environ.get(
        "SURVEILLANCE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"surveillance_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = urlunsplit(urlsplit(server)._replace(path="/" + name))
        try:
            seconds = asyncio.run(_load(url, hospital))
            c = hospital.counts
            print(
                f"loaded in {seconds:.0f} s: {c['patients']:,} patients, {c['adt']:,} ADT, "
                f"{c['sets']:,} nurses' sets (+ their scores), {c['alert_events']:,} alert "
                f"events, {c['events']:,} clinical events"
            )
            asyncio.run(_measure(url, hospital, args.runs, args.suppression, args.live))
            _sizes(url)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak memory of this process: {peak:,.0f} MB")
        finally:
            if args.keep:
                print(f"kept: {url}")
            else:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
