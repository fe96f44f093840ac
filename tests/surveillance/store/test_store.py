"""The store, the same tests on both backends: SQLite (a temporary file) and PostgreSQL.

Needs the `tests.postgres` plugin (a private database per test on the local PostgreSQL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import psycopg
import pytest

from surveillance.store import (
    AcceptedRecord,
    AdtRecord,
    AlertRecord,
    Batch,
    DeadLetterRecord,
    LabRecord,
    ObservationRecord,
    PostgresStore,
    ScoreRecord,
    SqliteStore,
    StateRecord,
    Store,
    StoreError,
    migrations,
    open_store,
)

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def adt(msg_id: str, minutes: float, bed: str, patient: str, event: str = "admit") -> AdtRecord:
    return AdtRecord(
        msg_id=msg_id,
        time=at(minutes),
        received_at=at(minutes),
        ward="7A",
        bed=bed,
        patient_id=patient,
        event=event,
        context={"msg_id": msg_id, "event": event, "patient_id": patient, "cohort": "adult"},
    )


def obs(i: int, patient: str = "P1", minutes: float | None = None) -> ObservationRecord:
    t = at(i if minutes is None else minutes)
    return ObservationRecord(
        msg_id=f"obs-{i}",
        time=t,
        received_at=t + timedelta(seconds=1),
        ward="7A",
        bed="1",
        patient_id=patient,
        channel="obs",
        source="manual",
        vitals={"resp_rate": 22, "spo2": 95, "on_oxygen": False, "temperature": 38.4, "i": i},
        not_recorded={"consciousness": "asleep"},
        ignored=["unknown_key"],
    )


def score(i: int, patient: str = "P1", minutes: float | None = None, total: int = 5) -> ScoreRecord:
    return ScoreRecord(
        obs_msg_id=f"obs-{i}",
        time=at(i if minutes is None else minutes),
        patient_id=patient,
        ward="7A",
        bed="1",
        system="NEWS2",
        chart="news2",
        total=total,
        risk="medium",
        complete=i % 2 == 0,
        # Keys in jsonb's order (shorter first): PostgreSQL keeps the document, not its key
        # order, so only JSON written in that order comes back as the same bytes.
        result=b'{"total":%d,"missing":[],"parameters":{"resp_rate":2}}' % total,
    )


def alert(alert_id: str, seq: int, state: str, minutes: float) -> AlertRecord:
    return AlertRecord(
        alert_id=alert_id,
        seq=seq,
        time=at(minutes),
        ward="7A",
        bed="1",
        patient_id="P1",
        kind="score",
        severity="urgent",
        state=state,
        message="NEWS2 5 (medium): urgent assessment",
        obs_msg_id=None if seq > 1 else "obs-1",
        event=msgspec.json.encode({"state": state, "alert_id": alert_id}),  # jsonb's order
    )


def lab(i: int) -> LabRecord:
    return LabRecord(
        msg_id=f"lab-{i}",
        time=at(i),
        received_at=at(i),
        ward="7A",
        bed="1",
        patient_id="P1",
        test="creatinine",
        value=88.5 + i,
        unit="umol/L",
    )


def dead_letter(i: int) -> DeadLetterRecord:
    return DeadLetterRecord(
        digest=f"{i:064x}",
        time=at(i),
        topic="wards/7A/beds/1/obs",
        error="invalid_json",
        reason="not JSON: Expecting value",
        payload="{nope" if i % 2 else "AAEC",
        encoding="utf-8" if i % 2 else "base64",
        msg_id=None if i % 2 else f"obs-x{i}",
    )


def full_batch() -> Batch:
    return Batch(
        adt=[adt("adt-1", 0, "1", "P1")],
        observations=[obs(1), obs(2)],
        labs=[lab(1)],
        scores=[score(1), score(2)],
        alerts=[alert("a-1", 1, "raised", 1), alert("a-1", 2, "acknowledged", 3)],
        dead_letters=[dead_letter(1), dead_letter(2)],
    )


ALL_KINDS: list[tuple[type[Any], str, str]] = [
    (AdtRecord, "adt", "adt"),
    (ObservationRecord, "observations", "observations"),
    (LabRecord, "labs", "labs"),
    (ScoreRecord, "scores", "scores"),
    (AlertRecord, "alerts", "alert_events"),
    (DeadLetterRecord, "dead_letters", "dead_letters"),
]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Any]:
    """An open store (SqliteStore or PostgresStore) on an empty database."""
    async with open_store(store_url) as s:
        yield s


def raw(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run `query` on the database of `url` directly (behind the store's back)."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            with conn:
                return conn.execute(query, params).fetchall()
        finally:
            conn.close()
    with psycopg.connect(url, autocommit=True) as pg:
        cur = pg.execute(query.replace("?", "%s").encode(), params)
        return cur.fetchall() if cur.description else []


# Writing and reading back.


async def test_every_record_type_round_trips(store: Any) -> None:
    batch = full_batch()
    await store.write(batch)
    for kind, attr, _ in ALL_KINDS:
        expected = sorted(getattr(batch, attr), key=lambda r: r.time)
        assert await store.fetch(kind) == expected


async def test_times_come_back_as_the_same_instant_in_utc(store: Any) -> None:
    plus_one = timezone(timedelta(hours=1))
    record = replace(obs(1), time=datetime(2026, 6, 1, 10, 0, 0, 123456, tzinfo=plus_one))
    await store.write(Batch(observations=[record]))
    [back] = await store.fetch(ObservationRecord)
    assert back.time == record.time
    assert back.time.utcoffset() == timedelta(0)
    assert back.time.microsecond == 123456


async def test_a_naive_time_is_refused(store: Any) -> None:
    record = replace(obs(1), time=datetime(2026, 6, 1, 10, 0))
    with pytest.raises(StoreError, match="timezone-aware"):
        await store.write(Batch(observations=[record]))
    assert await store.count("observations") == 0


async def test_a_failed_write_writes_nothing(store: Any) -> None:
    bad = replace(lab(1), ward=None)  # type: ignore[arg-type] # NOT NULL violated in the last table written
    with pytest.raises(StoreError):
        await store.write(Batch(observations=[obs(1)], scores=[score(1)], labs=[bad]))
    assert await store.count("observations") == 0
    assert await store.count("scores") == 0
    await store.write(Batch(observations=[obs(1)]))  # and the store still works
    assert await store.count("observations") == 1


async def test_an_empty_batch_is_a_no_op(store: Any) -> None:
    await store.write(Batch())
    assert await store.count("observations") == 0


# Idempotency.


async def test_the_same_batch_twice_stores_each_record_once(store: Any) -> None:
    await store.write(full_batch())
    await store.write(full_batch())
    for _, attr, table in ALL_KINDS:
        assert await store.count(table) == len(getattr(full_batch(), attr))


async def test_a_mixed_batch_stores_only_the_new_records(store: Any) -> None:
    await store.write(Batch(observations=[obs(1), obs(2)], scores=[score(1)]))
    changed = replace(obs(2), vitals={"resp_rate": 40})  # a redelivery keeps the first copy
    await store.write(
        Batch(observations=[obs(1), changed, obs(3)], scores=[score(1), score(2), score(3)])
    )
    assert await store.fetch(ObservationRecord) == [obs(1), obs(2), obs(3)]
    assert await store.fetch(ScoreRecord) == [score(1), score(2), score(3)]


async def test_duplicates_inside_one_batch_are_stored_once(store: Any) -> None:
    await store.write(
        Batch(
            observations=[obs(1), obs(1), obs(2)],
            alerts=[alert("a-1", 1, "raised", 1), alert("a-1", 1, "raised", 1)],
        )
    )
    assert await store.count("observations") == 2
    assert await store.count("alert_events") == 1


async def test_alert_events_are_keyed_by_alert_and_seq(store: Any) -> None:
    await store.write(Batch(alerts=[alert("a-1", 1, "raised", 1), alert("a-2", 1, "raised", 1)]))
    await store.write(Batch(alerts=[alert("a-1", 2, "acknowledged", 2), alert("a-1", 1, "x", 9)]))
    assert [(a.alert_id, a.seq, a.state) for a in await store.fetch(AlertRecord)] == [
        ("a-1", 1, "raised"),
        ("a-2", 1, "raised"),
        ("a-1", 2, "acknowledged"),
    ]


# load_state.


async def test_placements_follow_admissions_transfers_and_discharges(store: Any) -> None:
    await store.write(
        Batch(
            adt=[
                adt("a1", 0, "1", "P1"),  # P1 in bed 1 ...
                adt("a2", 10, "2", "P1", "transfer"),  # ... moves to bed 2: bed 1 is free
                adt("a3", 0, "3", "P3"),
                adt("a4", 20, "3", "P3", "discharge"),  # bed 3 discharged
                adt("a5", 0, "4", "P4"),
                adt("a6", 5, "4", "P5"),  # bed 4 reassigned to P5
                adt("a7", 0, "5", "P7"),
                adt("a8", 30, "6", "P7", "discharge"),  # P7 discharged from elsewhere
                adt("a9", 0, "7", "P9", "transfer"),  # arrived by transfer
            ]
        )
    )
    state = await store.load_state(at(0))
    assert [(p.bed, p.patient_id, p.msg_id) for p in state.placements] == [
        ("2", "P1", "a2"),
        ("4", "P5", "a6"),
        ("7", "P9", "a9"),
    ]
    assert state.placements[0] == adt("a2", 10, "2", "P1", "transfer")


async def test_readmission_after_discharge_is_placed(store: Any) -> None:
    await store.write(Batch(adt=[adt("a1", 0, "1", "P1"), adt("a2", 5, "1", "P1", "discharge")]))
    assert (await store.load_state(at(0))).placements == []
    await store.write(Batch(adt=[adt("a3", 9, "1", "P1")]))
    assert [p.msg_id for p in (await store.load_state(at(0))).placements] == ["a3"]


async def test_latest_score_per_patient_by_observation_time(store: Any) -> None:
    await store.write(
        Batch(
            scores=[
                score(1, "P1", minutes=10, total=1),
                score(2, "P1", minutes=30, total=7),
                score(3, "P1", minutes=20, total=3),  # arrived last, observed earlier
                score(4, "P2", minutes=5, total=2),
            ]
        )
    )
    latest = (await store.load_state(at(0))).latest_scores
    assert [(s.patient_id, s.obs_msg_id, s.total) for s in latest] == [
        ("P1", "obs-2", 7),
        ("P2", "obs-4", 2),
    ]


async def test_open_alerts_are_the_latest_event_of_unresolved_alerts(store: Any) -> None:
    await store.write(
        Batch(
            alerts=[
                alert("a-1", 1, "raised", 1),
                alert("a-1", 2, "acknowledged", 2),
                alert("a-2", 1, "raised", 3),
                alert("a-2", 2, "resolved", 4),
                alert("a-3", 1, "raised", 5),
                alert("a-3", 2, "escalated", 6),
            ]
        )
    )
    open_alerts = (await store.load_state(at(0))).open_alerts
    assert [(a.alert_id, a.seq, a.state) for a in open_alerts] == [
        ("a-1", 2, "acknowledged"),
        ("a-3", 2, "escalated"),
    ]


async def test_recent_msg_ids_are_inputs_received_since(store: Any) -> None:
    await store.write(
        Batch(
            adt=[adt("adt-old", 0, "1", "P1"), adt("adt-new", 60, "1", "P1", "transfer")],
            observations=[obs(10), obs(90)],  # received 1 s after their time
            labs=[lab(5), lab(70)],
            scores=[score(90)],
            dead_letters=[dead_letter(100)],
        )
    )
    state = await store.load_state(at(60))
    assert state.recent_msg_ids == {"adt-new", "obs-90", "lab-70"}


async def test_load_state_of_an_empty_store(store: Any) -> None:
    state = await store.load_state(at(0))
    assert (state.placements, state.latest_scores, state.open_alerts) == ([], [], [])
    assert state.recent_msg_ids == set()


# Migrations.


async def test_migrations_are_applied_once(store_url: str) -> None:
    known = migrations("postgres" if store_url.startswith("postgres") else "sqlite")
    async with open_store(store_url) as opened:
        await opened.write(full_batch())
    first = raw(store_url, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    assert [(v, n) for v, n, _ in first] == [(m.version, m.name) for m in known]
    async with open_store(store_url) as reopened:
        s: Any = reopened
        assert await s.count("observations") == 2
        assert getattr(s, "schema_version", None) == known[-1].version
    again = raw(store_url, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    assert again == first


async def test_a_newer_database_is_refused(store_url: str) -> None:
    async with open_store(store_url):
        pass
    raw(store_url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (999, "from_the_future", T0))  # fmt: skip
    with pytest.raises(StoreError, match="version 999"):
        async with open_store(store_url):
            pass


async def test_services_starting_together_migrate_once(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]
    opened = await asyncio.gather(*(s.__aenter__() for s in stores))
    for s in opened:
        await s.__aexit__(None, None, None)
    known = len(migrations("sqlite"))
    assert raw(store_url, "SELECT count(*) FROM schema_migrations") == [(known,)]


# Volume.


async def test_a_large_batch_round_trips(store: Any) -> None:
    n = 20_000
    batch = Batch(
        observations=[obs(i, patient=f"P{i % 30}") for i in range(n)],
        scores=[score(i, patient=f"P{i % 30}") for i in range(n)],
    )
    await store.write(batch)
    assert await store.count("observations") == n
    assert await store.count("scores") == n
    assert await store.fetch(ObservationRecord) == batch.observations
    assert await store.fetch(ScoreRecord, patient_id="P7") == [
        s for s in batch.scores if s.patient_id == "P7"
    ]
    await store.write(batch)  # all duplicates
    assert await store.count("observations") == n


# Health and connections.


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_store_info_names_the_layout(store: Any) -> None:
    info = store.store_info
    assert info["layout"] == store.layout
    assert info["layout"] in {"sqlite", "postgresql", "timescaledb"}
    assert info["schema_version"] == len(migrations("sqlite"))


async def test_postgres_reconnects_after_losing_its_connection(fresh_postgres_url: str) -> None:
    async with open_store(fresh_postgres_url) as store:
        assert isinstance(store, PostgresStore)
        await store.write(Batch(observations=[obs(1)]))
        pid = store.backend_pid
        assert pid is not None
        raw(fresh_postgres_url, "SELECT pg_terminate_backend(?)", (pid,))
        with pytest.raises(StoreError):
            await store.write(Batch(observations=[obs(2)]))
        await store.write(Batch(observations=[obs(2)]))  # reconnects by itself
        assert store.backend_pid != pid
        assert await store.fetch(ObservationRecord) == [obs(1), obs(2)]


async def test_postgres_unreachable_is_a_store_error_without_the_password() -> None:
    store = open_store("postgresql://someone:hunter2@127.0.0.1:1/db", connect_timeout=1)
    assert "hunter2" not in repr(store)
    with pytest.raises(StoreError) as info:
        async with store:
            pass
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


async def test_using_a_closed_store_is_an_error(store_url: str) -> None:
    store = open_store(store_url)
    with pytest.raises(StoreError, match="not open"):
        await store.write(Batch(observations=[obs(1)]))


# URLs.


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///relative/path.db", "relative/path.db"),
        ("sqlite:////absolute/path.db", "/absolute/path.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    store = open_store(url)
    assert isinstance(store, SqliteStore)
    assert store.path == path


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_urls_hide_the_password(scheme: str) -> None:
    store = open_store(f"{scheme}://user:s3cret@db.example:5432/ward")
    assert isinstance(store, PostgresStore)
    assert "s3cret" not in repr(store)
    assert "s3cret" not in str(store.store_info)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user:s3cret@host/db",
        "sqlite://relative.db",
        "sqlite:///",
        "store.db",
        "",
        "user:s3cret@host/db",
    ],
)
def test_other_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db") as info:
        open_store(url)
    assert "s3cret" not in str(info.value)


async def test_sqlite_memory_store_works() -> None:
    async with open_store("sqlite:///:memory:") as store:
        await store.write(full_batch())
        assert len((await store.load_state(at(0))).placements) == 1


# The scorer's state and the accepted ids (issue 12).


async def test_an_id_accepted_again_replaces_the_one_remembered(store: Any) -> None:
    t0 = datetime(2026, 11, 22, 9, tzinfo=UTC)
    t1 = t0 + timedelta(hours=2)
    await store.write(Batch(accepted=[AcceptedRecord("m1", "a", t0)]))
    await store.write(
        Batch(accepted=[AcceptedRecord("m1", "b", t1), AcceptedRecord("m1", "c", t1)])
    )  # twice in one batch: the last wins
    state = await store.load_state(t1 - timedelta(minutes=1))
    assert state.accepted == {"m1": ("c", t1)}
    assert (await store.load_state(t1 + timedelta(minutes=1))).accepted == {}


async def test_the_scorers_state_is_replaced_and_deleted_by_key(store: Any) -> None:
    t0 = datetime(2026, 11, 22, 9, tzinfo=UTC)
    at = {"pending": [4, ["spo2"], "2026-11-22T09:00:00Z"], "n": 1.5}
    await store.write(
        Batch(
            states=[
                StateRecord("patient:P1", b'{"v":1}', t0),
                StateRecord(
                    "patient:P1", msgspec.json.encode(at), t0
                ),  # the later write of a key wins
                StateRecord("patient:P2", b'{"v":2}', t0),
                StateRecord("bed:7A/1", b'{"time":"2026-11-22T08:00:00Z"}', t0),
            ]
        )
    )
    assert (await store.load_state(t0)).scorer_state == {
        "bed:7A/1": {"time": "2026-11-22T08:00:00Z"},
        "patient:P1": at,
        "patient:P2": {"v": 2},
    }
    await store.write(Batch(states=[StateRecord("patient:P2", None, t0)]))  # discharged
    assert set((await store.load_state(t0)).scorer_state) == {"bed:7A/1", "patient:P1"}


async def test_accepted_ids_are_looked_up_whatever_their_age(store: Any) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    await store.write(Batch(accepted=[AcceptedRecord("m1", "a", old)]))
    assert await store.accepted_among(["m1", "m2"]) == {"m1": ("a", old)}
    assert await store.accepted_among([]) == {}
