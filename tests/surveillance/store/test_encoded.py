"""Score results, alert events and outbox payloads travel encoded, once (`JsonBytes`): the
store and the spool write the bytes the scorer published, and give back the same document."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from surveillance.store import AlertRecord, Batch, OutboxRecord, ScoreRecord, Spool, open_store

T = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
RESULT = b'{"patient_id":"P1","total":5,"parameters":{"spo2":1,"resp_rate":2},"risk":"medium"}'
EVENT = b'{"alert_id":"a-1","state":"raised","message":"NEWS2 5 (medium)"}'


def score() -> ScoreRecord:
    return ScoreRecord("obs-1", T, "P1", "7A", "1", "NEWS2", "news2", 5, "medium", True, RESULT)


def alert() -> AlertRecord:
    return AlertRecord(
        "a-1", 1, T, "7A", "1", "P1", "score", "urgent", "raised", "NEWS2 5", "obs-1", EVENT
    )


async def test_encoded_json_is_stored_as_it_is_and_read_back_as_the_same_document(
    store_url: str,
) -> None:
    async with open_store(store_url) as store:
        await store.write(
            Batch(
                scores=[score()],
                alerts=[alert()],
                outbox=[OutboxRecord("k1", "wards/7A/alerts", EVENT, False)],
            )
        )
        [stored] = await store.fetch(ScoreRecord)
        [event] = await store.fetch(AlertRecord)
        state = await store.load_state(T)
    assert msgspec.json.decode(stored.result) == msgspec.json.decode(RESULT)
    assert msgspec.json.decode(event.event) == msgspec.json.decode(EVENT)
    assert [(r.key, r.payload) for r in state.outbox] == [("k1", EVENT)]
    if store_url.startswith("sqlite"):  # the text published, byte for byte, readable as text
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            row = conn.execute("SELECT result, typeof(result) FROM scores").fetchone()
        assert row == (RESULT.decode(), "text")


async def test_a_spool_written_before_results_were_carried_encoded_is_still_read(
    tmp_path: Path,
) -> None:
    """A spool outlives an upgrade: batches an earlier version kept (results and events as
    objects, outbox payloads as text, the scorer's state rows as objects) are read as today's
    records."""
    legacy: dict[str, Any] = {
        "scores": [{**asdict(score()), "result": msgspec.json.decode(RESULT)}],
        "alerts": [{**asdict(alert()), "event": msgspec.json.decode(EVENT)}],
        "outbox": [{"key": "k1", "topic": "t", "payload": EVENT.decode(), "retain": False}],
        "states": [
            {"key": "patient:P1", "state": {"patient": {"ward": "7A"}, "alerts": []}, "time": T},
            {"key": "patient:P2", "state": None, "time": T},  # a deletion
        ],
    }
    async with Spool(tmp_path / "spool") as spool:
        await spool._run(spool._append, msgspec.msgpack.encode(legacy), 3)
        spool.batches += 1
        found = await spool.first()
    assert found is not None
    batch = found[1]
    assert [msgspec.json.decode(s.result) for s in batch.scores] == [msgspec.json.decode(RESULT)]
    assert [msgspec.json.decode(a.event) for a in batch.alerts] == [msgspec.json.decode(EVENT)]
    assert batch.outbox == [OutboxRecord("k1", "t", EVENT, False)]
    assert [(s.key, s.state) for s in batch.states] == [
        ("patient:P1", b'{"patient":{"ward":"7A"},"alerts":[]}'),
        ("patient:P2", None),
    ]
    assert batch.scores[0].time == T


async def test_the_spool_keeps_encoded_json_byte_for_byte(tmp_path: Path) -> None:
    async with Spool(tmp_path / "spool") as spool:
        await spool.append(Batch(scores=[score()], alerts=[alert()]))
        found = await spool.first()
    assert found is not None
    assert (found[1].scores[0].result, found[1].alerts[0].event) == (RESULT, EVENT)
