"""Access to a patient's history is itself audited (issue 14), on SQLite and PostgreSQL.

Every reading of the patient view's history records who read what (scores or alerts) of which
patient, from when, before anything is returned; the record cannot be changed or deleted; and
`surveillance report --access` reads it back.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from scoring import ChartSet
from surveillance import OnlineScorer, OnlineSettings, StoreHistory
from surveillance.cli import main
from surveillance.store import AccessRecord, Batch, StoreError, open_store
from tests.surveillance.store.test_store import raw
from tests.surveillance.test_online import HIGH, WARD, admit, at, obs
from wallboard import Auth, BrokerFeed, create_app

VIEWED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _scored(charts: ChartSet) -> Batch:
    """A patient admitted to bed 12 with a high score and its alert, as the scorer stores it."""
    scorer = OnlineScorer(charts, OnlineSettings(device_persistence=0))
    return scorer.handle([admit(), obs(HIGH, t=60, msg_id="set-high")]).batch


async def test_reading_a_history_records_who_read_what(charts: ChartSet, store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.write(_scored(charts))
        ticks = iter(range(100))
        history = StoreHistory(clock=lambda: VIEWED + timedelta(seconds=next(ticks)))
        history.store = store
        scores = await history.scores("P1", at(-1), viewer="Dr Ada (ICU)")
        alerts = await history.alerts("P1", at(-1), viewer="Dr Ada (ICU)")
        assert await history.scores("P2", at(-3600), viewer="Nurse Bo") == []
        recorded = await store.fetch(AccessRecord)
        assert await store.fetch(AccessRecord, patient_id="P2") == recorded[2:]
    assert len(scores) == 1
    assert alerts != []
    second = timedelta(seconds=1)
    assert [(r.viewer, r.patient_id, r.what, r.since, r.time) for r in recorded] == [
        ("Dr Ada (ICU)", "P1", "scores", at(-1), VIEWED),
        ("Dr Ada (ICU)", "P1", "alerts", at(-1), VIEWED + second),
        ("Nurse Bo", "P2", "scores", at(-3600), VIEWED + 2 * second),  # found nothing: kept
    ]
    assert len({r.access_id for r in recorded}) == 3


async def test_the_audit_cannot_be_changed_or_deleted(store_url: str) -> None:
    record = AccessRecord("x1", VIEWED, "Dr Ada", "P1", "scores", VIEWED - timedelta(hours=24))
    async with open_store(store_url) as store:
        await store.write(Batch(access=[record]))
        await store.write(Batch(access=[record]))  # a repeat of the same record: kept once
        for statement in (
            "UPDATE history_access SET viewer = 'someone else'",
            "DELETE FROM history_access",
        ):
            with pytest.raises((sqlite3.Error, psycopg.Error), match="append-only"):
                raw(store_url, statement)
        assert await store.fetch(AccessRecord) == [record]


async def test_no_history_is_returned_when_its_reading_cannot_be_recorded(
    charts: ChartSet, tmp_path: Path
) -> None:
    """Fail closed: an access that cannot be audited is refused (the API then says 503)."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    async with open_store(url) as store:
        await store.write(_scored(charts))
        raw(
            url,
            "CREATE TRIGGER full BEFORE INSERT ON history_access "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        history = StoreHistory()
        history.store = store
        with pytest.raises(StoreError, match="disk full"):
            await history.scores("P1", at(-1), viewer="Dr Ada")
        with pytest.raises(StoreError, match="disk full"):
            await history.alerts("P1", at(-1), viewer="Dr Ada")


async def test_the_history_api_audits_each_read(charts: ChartSet, store_url: str) -> None:
    """Through the wallboard's HTTP API: the read is recorded with the viewer the server
    knows (without login, `--auth none`: `unauthenticated@` and the client's address; with
    login, the verified person: tests/wallboard/test_routes_auth.py)."""
    now = at(120)
    feed = BrokerFeed("127.0.0.1", 1, clock=lambda: now)  # never started: given the ADT
    adt = {"msg_id": "adt-1", "time": at(0).isoformat(), "event": "admit", "patient_id": "P1"}
    feed.handle(f"wards/{WARD}/beds/12/adt", msgspec.json.encode(adt | {"cohort": "adult"}))
    async with open_store(store_url) as store:
        await store.write(_scored(charts))
        history = StoreHistory(clock=feed.clock)
        history.store = store
        app = create_app(feed, auth=Auth.without_login("none"), history=history)
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
            response = await client.get(f"/api/wards/{WARD}/beds/12/history?hours=6")
            board = await client.get(f"/api/wards/{WARD}")
        recorded = await store.fetch(AccessRecord)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "patient_id" not in body["patient"]  # only a logged-in clinician sees who it is
    assert [s["obs_msg_id"] for s in body["scores"]] == ["set-high"]
    assert "P1" not in board.text  # the ward board's snapshot: never
    assert sorted((r.viewer, r.patient_id, r.what) for r in recorded) == [
        ("unauthenticated@10.1.2.3", "P1", "alerts"),
        ("unauthenticated@10.1.2.3", "P1", "events"),
        ("unauthenticated@10.1.2.3", "P1", "scores"),
    ]
    assert {(r.time, r.since) for r in recorded} == {(now, now - timedelta(hours=6))}


def test_report_access_reads_the_audit_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    day = timedelta(hours=24)
    records = [
        AccessRecord("r1", VIEWED - 2 * day, "Dr Old", "P1", "scores", VIEWED - 3 * day),
        AccessRecord("r2", VIEWED, "Dr Ada", "P1", "scores", VIEWED - day),
        AccessRecord("r3", VIEWED + timedelta(minutes=1), "Dr Ada", "P1", "alerts", VIEWED - day),
        AccessRecord("r4", VIEWED + timedelta(minutes=2), "Nurse Bo", "P2", "scores", VIEWED),
    ]

    async def write() -> None:
        async with open_store(url) as store:
            await store.write(Batch(access=records))

    asyncio.run(write())
    window = ["--since", "2026-11-22T00:00Z", "--until", "2026-11-23T00:00Z"]
    assert main(["report", "--store", url, "--access", "--json", *window]) == 0
    shown: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["access"]
    assert [(a["access_id"], a["viewer"], a["patient_id"], a["what"]) for a in shown] == [
        ("r2", "Dr Ada", "P1", "scores"),
        ("r3", "Dr Ada", "P1", "alerts"),
        ("r4", "Nurse Bo", "P2", "scores"),
    ]
    assert shown[0]["time"] == "2026-11-22T12:00:00Z"
    assert shown[0]["since"] == "2026-11-21T12:00:00Z"
    assert main(["report", "--store", url, "--access", "--patient", "P2", *window]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1:] == [
        "2026-11-22 12:02:00  P2              scores  2026-11-22 12:00:00  Nurse Bo",
        "1 read of patients' histories",
    ]
    assert main(["report", "--store", url, "--patient", "P2", *window]) == 2
    assert "--patient goes with --access" in capsys.readouterr().err
