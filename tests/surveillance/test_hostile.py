"""The hostile and unlucky world of issue 12, end to end: messages through a real Mosquitto
into the running service, results read back from the broker and the store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from scoring import ChartSet
from surveillance.store import DeadLetterRecord, ScoreRecord, open_store
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import (
    CONTRACT_OBS,
    adt,
    listening,
    obs_json,
    running,
    send,
    settings_for,
    stored,
    ward,
)

HIGH_OBS = {**CONTRACT_OBS, "resp_rate": 25, "systolic_bp": 95}


def at_time(payload: bytes, time: str) -> bytes:
    body = json.loads(payload)
    body["time"] = time
    return json.dumps(body).encode()


async def test_a_message_from_the_year_9999_cannot_stop_scoring(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w, url = ward(), f"sqlite:///{tmp_path / 's.db'}"
    async with (
        running(settings_for(mosquitto, url), charts) as service,
        listening(mosquitto, f"wards/{w}/#", "surveillance/deadletter") as heard,
    ):
        await send(
            mosquitto,
            (f"wards/{w}/beds/1/adt", adt("P1")),
            (
                f"wards/{w}/beds/1/obs",
                at_time(obs_json("P1", f"{w}-9999", HIGH_OBS), "9999-12-31T23:59:59Z"),
            ),
            (
                f"wards/{w}/beds/1/obs",
                at_time(obs_json("P1", f"{w}-1900", HIGH_OBS), "1900-01-01T00:00:00Z"),
            ),
            (f"wards/{w}/beds/1/obs", obs_json("P1", f"{w}-red", HIGH_OBS)),
        )
        await heard.wait(lambda h: bool(h.on("/alerts")))
        [score] = heard.on("/score")
        assert score["obs_msg_id"] == f"{w}-red"
        [alert] = heard.on("/alerts")
        assert alert["severity"] == "emergency"
        await heard.wait(lambda h: len([d for d in h.on("deadletter") if w in d["topic"]]) == 2)
        assert {d["error"] for d in heard.on("deadletter") if w in d["topic"]} == {"time"}
        assert service.healthy
    letters = [d for d in await stored(url, DeadLetterRecord) if w in d.topic]
    assert sorted(d.msg_id or "" for d in letters) == [f"{w}-1900", f"{w}-9999"]


async def test_a_refused_set_corrected_under_the_same_id_is_scored_and_a_conflict_is_not(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w, url = ward(), f"sqlite:///{tmp_path / 's.db'}"
    wrong = obs_json("P1", f"{w}-set", {**CONTRACT_OBS, "spo2": 101})
    right = obs_json("P1", f"{w}-set", CONTRACT_OBS)
    other = obs_json("P1", f"{w}-set", HIGH_OBS)
    async with (
        running(settings_for(mosquitto, url), charts),
        listening(mosquitto, f"wards/{w}/#", "surveillance/deadletter") as heard,
    ):
        topic = f"wards/{w}/beds/1/obs"
        await send(mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")), (topic, wrong))
        await heard.wait(lambda h: any(w in d["topic"] for d in h.on("deadletter")))
        await send(mosquitto, (topic, right), (topic, right), (topic, other))
        await heard.wait(
            lambda h: (
                [d["error"] for d in h.on("deadletter") if w in d["topic"]]
                == ["implausible", "conflict"]
            )
        )
        await asyncio.sleep(0.3)
        assert [s["total"] for s in heard.on("/score")] == [6]
    [record] = [s for s in await stored(url, ScoreRecord) if s.ward == w]
    assert record.total == 6


async def test_a_flood_of_large_garbage_does_not_fill_the_store(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """The issue's numbers: 100 messages of 250 KiB grew the store by 25.8 MB."""
    w, path = ward(), tmp_path / "s.db"
    garbage = b"\xfe" * (250 * 1024)
    async with running(settings_for(mosquitto, f"sqlite:///{path}"), charts) as service:
        before = service.counters.dead_letters
        await send(
            mosquitto,
            *((f"wards/{w}/beds/{i % 7}/obs", garbage + str(i).encode()) for i in range(100)),
        )
        for _ in range(200):
            if service.counters.dead_letters - before >= 100:
                break
            await asyncio.sleep(0.05)
        assert service.counters.dead_letters - before == 100
    async with open_store(f"sqlite:///{path}") as store:
        letters = [d for d in await store.fetch(DeadLetterRecord) if w in d.topic]
    assert len(letters) == 100
    kept = sum(len(d.payload) for d in letters)
    assert kept < 1_000_000, f"{kept} bytes of garbage kept"


async def test_a_nul_character_is_refused_and_postgres_keeps_storing(
    mosquitto: Mosquitto, charts: ChartSet, fresh_postgres_url: str
) -> None:
    """PostgreSQL cannot store U+0000: one such message once jammed the store for good."""
    w, url = ward(), fresh_postgres_url
    poison = adt("P1").replace(b'"P1"', b'"P\\u0000"')
    async with running(settings_for(mosquitto, url), charts) as service:
        await send(
            mosquitto,
            (f"wards/{w}/beds/2/adt", poison),
            (f"wards/{w}/beds/2/obs", b'{"msg_id": "raw\x00nul"}'),
            (f"wards/{w}/beds/1/adt", adt("P1")),
            (f"wards/{w}/beds/1/obs", obs_json("P1", f"{w}-after", HIGH_OBS)),
            retain_adt=False,  # no garbage left retained for the tests after this one
        )
        for _ in range(200):
            if service.counters.scored >= 1 and service.counters.dead_letters >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert not service.health()["scorer"]["store_behind"]
    letters = [d for d in await stored(url, DeadLetterRecord) if w in d.topic]
    assert sorted((d.error, d.encoding) for d in letters) == [
        ("invalid", "utf-8"),  # \u0000 in a patient id: refused, the text kept (it is ASCII)
        ("not-json", "base64"),  # a raw NUL: not JSON, kept as base64 (never as text)
    ]
    assert [s.obs_msg_id for s in await stored(url, ScoreRecord)] == [f"{w}-after"]


async def test_an_id_reused_long_after_is_known_from_the_store(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """A monitor whose counter restarted reuses an id after the dedupe memory forgot it: the
    store still knows it, so the new reading is a conflict, never a silent overwrite."""
    w, url = ward(), f"sqlite:///{tmp_path / 's.db'}"
    topic = f"wards/{w}/beds/1/obs"
    first = obs_json("P1", f"{w}-0001", CONTRACT_OBS)
    async with (
        running(settings_for(mosquitto, url, dedupe_window=0.5), charts) as service,
        listening(mosquitto, "surveillance/deadletter") as heard,
    ):
        await send(mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")), (topic, first))
        for _ in range(100):
            if service.counters.scored:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.5)  # forgotten by the memory (ticks once a second)
        assert f"{w}-0001" not in service.scorer._seen
        await send(mosquitto, (topic, first), (topic, obs_json("P1", f"{w}-0001", HIGH_OBS)))
        await heard.wait(lambda h: any(w in d["topic"] for d in h.on("deadletter")))
        await asyncio.sleep(0.3)
        assert [d["error"] for d in heard.on("deadletter") if w in d["topic"]] == ["conflict"]
        assert service.counters.duplicates >= 1
    assert [s.total for s in await stored(url, ScoreRecord) if s.ward == w] == [6]
