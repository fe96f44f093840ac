"""Clinical events end to end: simulated wards publish CONTRACT §9 events through a private
Mosquitto to the live service, which stores every one (and dead-letters a misplaced one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from ingest import parse_broker_url
from scoring import ChartSet
from simulators import Message, SimConfig, publish, simulate
from surveillance.store import DeadLetterRecord, EventRecord, open_store
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import (
    Listener,
    listening,
    running,
    send,
    settings_for,
    stored,
    ward,
)


def simulated(w: str, charts: ChartSet) -> list[Message]:
    """A medical ward's day, manual rounds only, on ward `w` (so no other test sees it)."""
    config = SimConfig(beds=10, hours=36, seed=4, mode="manual", ward_kinds=("medical",))
    return [
        msgspec.structs.replace(m, topic=m.topic.replace("wards/MED1/", f"wards/{w}/", 1))
        for m in simulate(config, charts)
        if m.topic != "simulation/truth"
    ]


async def test_simulated_events_reach_the_store_through_the_broker(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    w = ward()
    url = f"sqlite:///{tmp_path / 's.db'}"
    messages = simulated(w, charts)
    sent = [msgspec.json.decode(m.payload) for m in messages if m.topic.endswith("/event")]
    assert len(sent) >= 3, "the seed should give this ward some events"
    async with (
        running(settings_for(mosquitto, url), charts) as service,
        listening(mosquitto, "surveillance/deadletter") as heard,
    ):
        await publish(
            messages, parse_broker_url(mosquitto.url), speed=0, progress=False, client_id=w
        )
        misplaced = {
            "msg_id": f"ev-wrong-{w}",
            "time": sent[0]["time"],
            "patient_id": "NOT-HERE",
            "event": "death",
        }
        await send(mosquitto, (f"wards/{w}/beds/1/event", msgspec.json.encode(misplaced)))

        def mine(h: Listener) -> list[dict[str, object]]:
            return [p for p in h.on("deadletter") if f"wards/{w}/" in p["topic"]]

        await heard.wait(lambda h: any(p["msg_id"] == misplaced["msg_id"] for p in mine(h)), 60)
        async with asyncio.timeout(60):
            while service.counters.received < len(messages) + 1:
                await asyncio.sleep(0.05)
        letters = [p for p in mine(heard) if str(p["topic"]).endswith("/event")]
    assert [(p["msg_id"], p["error"]) for p in letters] == [(misplaced["msg_id"], "placement")]
    async with open_store(url) as store:
        events = await store.events()
        calls = await store.events(kinds=["rrt-call"])
    assert sorted(e.msg_id for e in events) == sorted(e["msg_id"] for e in sent)
    by_id = {e["msg_id"]: e for e in sent}
    for record in events:
        message = by_id[record.msg_id]
        assert (record.patient_id, record.event, record.category) == (
            message["patient_id"],
            message["event"],
            message.get("category"),
        )
        assert record.ward == w
        assert msgspec.to_builtins(record.time) == message["time"]
    assert {e.event for e in calls} <= {"rrt-call"}
    refused = [r for r in await stored(url, DeadLetterRecord) if r.topic.endswith("/event")]
    assert [r.error for r in refused] == ["placement"]
    assert all(isinstance(e, EventRecord) for e in events)
