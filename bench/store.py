"""Store write throughput: N observations and their N scores, in batches of 1,000 of each.

Prints committed records per second (observations + scores) for each backend:
- SQLite: a fresh file in a temporary directory (WAL, synchronous=NORMAL);
- PostgreSQL: a fresh database on the server of `SURVEILLANCE_BENCH_PG` (default the local
  cluster, `postgresql://postgres@127.0.0.1:5432/postgres`), dropped afterwards; skipped with a
  note when the server cannot be reached.

Usage: bench/store [N]   (default 100,000)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import msgspec
import psycopg
from psycopg import sql

from surveillance.store import Batch, ObservationRecord, ScoreRecord, open_store

BATCH = 1_000
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def batches(n: int) -> list[Batch]:
    out = []
    for start in range(0, n, BATCH):
        b = Batch()
        for i in range(start, min(n, start + BATCH)):
            t = T0 + timedelta(seconds=i)
            patient = f"P{i % 500:03d}"
            vitals = {"resp_rate": 18 + i % 7, "spo2": 96, "on_oxygen": False, "heart_rate": 80}
            b.observations.append(
                ObservationRecord(
                    f"obs-{i}", t, t, "7A", str(i % 28), patient, "obs", "monitor", vitals
                )
            )
            result = {"total": i % 8, "risk": "low", "parameters": {"resp_rate": 0, "spo2": 0}}
            b.scores.append(
                ScoreRecord(
                    f"obs-{i}",
                    t,
                    patient,
                    "7A",
                    str(i % 28),
                    "NEWS2",
                    "news2",
                    i % 8,
                    "low",
                    True,
                    msgspec.json.encode(result),
                )
            )
        out.append(b)
    return out


async def rate(url: str, work: list[Batch]) -> tuple[float, str]:
    records = sum(len(b) for b in work)
    async with open_store(url) as store:
        start = time.perf_counter()
        for b in work:
            await store.write(b)
        elapsed = time.perf_counter() - start
        layout = str(getattr(store, "layout", "?"))
    return records / elapsed, layout


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = batches(n)
    print(
        f"store write throughput, {n:,} observations + {n:,} scores, batches of {BATCH:,} of each"
    )

    with tempfile.TemporaryDirectory() as tmp:
        per_s, layout = asyncio.run(rate(f"sqlite:///{tmp}/bench.db", work))
    print(f"  SQLite ({layout}, WAL, synchronous=NORMAL)   {per_s:>12,.0f} records/s")

    server = os.environ.get(
        "SURVEILLANCE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"surveillance_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        print(f"  PostgreSQL: skipped, server unreachable ({e})")
        return
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = urlunsplit(urlsplit(server)._replace(path="/" + name))
            per_s, layout = asyncio.run(rate(url, work))
            print(f"  PostgreSQL ({layout}, COPY + INSERT)     {per_s:>12,.0f} records/s")
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
