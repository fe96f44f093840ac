"""A crash of the broker or of the service loses nothing that was acknowledged (issue 12).

Real processes throughout: a private nats-server with the shipped configuration
(config/nats-server.conf; tests/nats_broker.py) killed with `kill -9` mid-stream and started
again on the same store directory; the service, in-process or as `surveillance run` (itself
killed with -9); a QoS 1 publisher that records every PUBACK and, after a lost connection,
sends again whatever was not acknowledged (the same bytes, so the same `msg_id`); and a real
store. At the end every message is counted in the store, each exactly once.

The broker's `ack_wait` is shortened to 3 s (tests/nats_broker.py, `TEST_ACK_WAIT`): NATS
resends what the service had received but not acknowledged only after that time, even after a
reconnection, and the shipped 30 s would make each test wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest

from scoring import ChartSet
from surveillance import Settings, load_settings
from surveillance.store import AdtRecord, ObservationRecord, ScoreRecord, open_store
from tests.nats_broker import TEST_ACK_WAIT as ACK_WAIT
from tests.nats_broker import AckedPublisher, NatsServer
from tests.surveillance.test_pipeline import running

BEDS = 20
N = 6000
"""Observations per stream."""
STREAM_RATE = 1000.0
"""Observations per second of the stream whose broker is killed: 6 s, the kill 2 s in."""
ENCODE = msgspec.json.Encoder().encode
# Two hours ago: the whole stream (up to 6,000 s) is within the service's time bounds.
T0 = int(time.time()) - 7200


def rfc3339(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def admissions(w: str, beds: list[str]) -> list[tuple[str, bytes, bool]]:
    """A retained admission (CONTRACT §2) for each bed, as the PAS feed sends them."""
    return [
        (
            f"wards/{w}/beds/{bed}/adt",
            ENCODE(
                {
                    "msg_id": f"{w}-adt-{bed}",
                    "time": rfc3339(T0 - 3600),
                    "event": "admit",
                    "patient_id": f"{w}-P{bed}",
                    "cohort": "adult",
                    "birth_date": "1948-03-02",
                }
            ),
            True,
        )
        for bed in beds
    ]


def observation(w: str, bed: str, i: int) -> tuple[str, bytes, bool]:
    """A monitor's reading (CONTRACT §3), `msg_id` `{w}-o{i}`, one second after the last."""
    body = {
        "msg_id": f"{w}-o{i}",
        "patient_id": f"{w}-P{bed}",
        "time": rfc3339(T0 + i),
        "source": "monitor",
        "vitals": {"heart_rate": 60 + i % 40, "spo2": 96, "resp_rate": 14 + i % 6},
    }
    return (f"wards/{w}/beds/{bed}/obs", ENCODE(body), False)


def stream(w: str, n: int = N) -> list[tuple[str, bytes, bool]]:
    """`n` observations, round-robin over the ward's beds."""
    return [observation(w, str(i % BEDS + 1), i) for i in range(n)]


async def stored_ids(url: str, kind: type[Any] = ObservationRecord) -> list[str]:
    async with open_store(url) as store:
        records = await store.fetch(kind)
    return [r.obs_msg_id if kind is ScoreRecord else r.msg_id for r in records]


async def retained(broker: NatsServer, topic_filter: str, expected: int) -> dict[str, Any]:
    """The retained messages a new subscriber is given on `topic_filter` (waits for `expected`)."""
    found: dict[str, Any] = {}
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"late-{uuid.uuid4().hex[:8]}"
    ) as client:
        await client.subscribe(topic_filter, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                async for message in client.messages:
                    assert message.retain, f"not retained: {message.topic}"
                    assert isinstance(message.payload, bytes)
                    found[message.topic.value] = msgspec.json.decode(message.payload)
                    if len(found) >= expected:
                        break
    return found


def settings_for(broker: NatsServer, store_url: str, **store: Any) -> Settings:
    kept = Path(tempfile.mkdtemp(prefix="surveillance-spool-"))
    return load_settings(
        None,
        {
            "broker.url": broker.url,
            "broker.client_id": f"scorer-{uuid.uuid4().hex[:8]}",
            "store.url": store_url,
            "store.spool": str(kept / "spool"),
            "model.state": str(kept / "model"),  # never the working directory
            "http.port": 0,
            **{f"store.{k}": v for k, v in store.items()},
        },
    )


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"waited {timeout:g} s for {what}")


async def test_a_broker_killed_mid_stream_loses_nothing_it_acknowledged(
    nats: NatsServer, charts: ChartSet, store_url: str
) -> None:
    w = f"K{uuid.uuid4().hex[:6]}"
    beds = [str(b) for b in range(1, BEDS + 1)]
    # The store commits every half second: inputs taken but not yet acknowledged to the broker
    # are there to be caught by the kill.
    settings = settings_for(nats, store_url, flush_interval=0.5)
    async with running(settings, charts) as service:
        # Before the stream, acknowledged end to end: the admissions (retained), and bed R's
        # observation, whose score the service publishes retained.
        await AckedPublisher(nats.host, nats.port, admissions(w, [*beds, "R"])).run()
        await AckedPublisher(nats.host, nats.port, [observation(w, "R", -1)]).run()

        async def scored_r() -> bool:
            return f"{w}-o-1" in await stored_ids(store_url, ScoreRecord)

        await until(scored_r, 15, "bed R's score")
        await asyncio.sleep(0.5)  # its input acknowledged to the broker too

        publisher = AckedPublisher(
            nats.host, nats.port, stream(w), rate=STREAM_RATE, client_id=f"pub-{w}"
        )
        sending = asyncio.create_task(publisher.run())
        async with asyncio.timeout(30):  # a third through, records waiting for their commit
            while publisher.acked_count < N // 3 or not service.health()["scorer"]["store_pending"]:
                await asyncio.sleep(0.002)
        nats.kill()  # kill -9, mid-stream
        acked_at_kill = list(publisher.acked)
        nats.start()
        await asyncio.wait_for(sending, 60)  # what was not acknowledged, sent again

        async def all_stored() -> bool:
            return len(await stored_ids(store_url)) >= N + 1

        await until(all_stored, 60, "every observation in the store")
        assert service.link.reconnects >= 1
        adts = await retained(nats, f"wards/{w}/beds/+/adt", BEDS + 1)
        scores_retained = await retained(nats, f"wards/{w}/beds/R/score", 1)

    acknowledged = {f"{w}-o{i}" for i, acked in enumerate(acked_at_kill) if acked}
    assert N // 3 <= len(acknowledged) < N  # mid-stream
    ids = await stored_ids(store_url)
    assert len(ids) == len(set(ids)), "an observation stored twice"
    missing = acknowledged - set(ids)
    assert not missing, f"{len(missing)} acknowledged before the kill, never stored"
    assert set(ids) == {f"{w}-o{i}" for i in range(-1, N)}
    assert sorted(await stored_ids(store_url, ScoreRecord)) == sorted(ids)
    # Retained messages survived the kill: every admission, and bed R's score (not sent again
    # since: its observation was acknowledged before the stream started).
    assert sorted(adts) == sorted(f"wards/{w}/beds/{bed}/adt" for bed in [*beds, "R"])
    assert scores_retained[f"wards/{w}/beds/R/score"]["obs_msg_id"] == f"{w}-o-1"


class ServiceProcess:
    """`surveillance run` as an operator starts it; `kill()` is `kill -9`."""

    def __init__(self, config: Path, store_url: str, log: Path) -> None:
        self.config, self.store_url, self.log = config, store_url, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "surveillance.cli",
                    "run",
                    "--config",
                    str(self.config),
                    "--store",
                    self.store_url,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            if "connected to" in text:
                return
            if self.process.poll() is not None:
                pytest.fail(f"surveillance run exited: {text[-2000:]}")
            time.sleep(0.05)
        pytest.fail(f"surveillance run did not connect in 20 s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=30)


async def test_a_service_killed_mid_stream_loses_nothing(nats: NatsServer, tmp_path: Path) -> None:
    w = f"S{uuid.uuid4().hex[:6]}"
    url = f"sqlite:///{tmp_path / 'run.db'}"
    config = tmp_path / "service.toml"
    config.write_text(
        f'[broker]\nurl = "{nats.url}"\nclient_id = "run-{w}"\n[http]\nport = 0\n'
        f'[store]\nflush_interval = 0.02\nspool = "{tmp_path / "spool"}"\n'
    )
    service = ServiceProcess(config, url, tmp_path / "service.log")
    await asyncio.to_thread(service.start)
    try:
        beds = [str(b) for b in range(1, BEDS + 1)]
        await AckedPublisher(nats.host, nats.port, admissions(w, beds)).run()
        publisher = AckedPublisher(
            nats.host, nats.port, stream(w), rate=STREAM_RATE, client_id=f"pub-{w}"
        )
        sending = asyncio.create_task(publisher.run())

        async def some_stored() -> bool:
            return len(await stored_ids(url)) >= N // 4

        await until(some_stored, 30, "a quarter of the stream stored")
        service.kill()  # kill -9, mid-stream: batches in hand, records unflushed, PUBACKs unsent
        acked_at_kill = publisher.acked_count
        stored_at_kill = len(await stored_ids(url))
        await asyncio.sleep(1)  # down for a while: the broker keeps the stream for its session
        await asyncio.to_thread(service.start)
        await asyncio.wait_for(sending, 60)

        async def all_stored() -> bool:
            return len(await stored_ids(url)) >= N

        await until(all_stored, 30 + ACK_WAIT, "every observation in the store")
        await asyncio.sleep(ACK_WAIT + 0.5)  # anything resent late is recognised, not stored twice
    finally:
        code = service.stop() if service.process and service.process.poll() is None else 0
    assert code == 0, (tmp_path / "service.log").read_text()[-2000:]
    assert 0 < stored_at_kill <= acked_at_kill < N  # mid-stream
    ids = await stored_ids(url)
    assert len(ids) == len(set(ids)), "an observation stored twice"
    assert set(ids) == {f"{w}-o{i}" for i in range(N)}
    scores = await stored_ids(url, ScoreRecord)
    assert sorted(scores) == sorted(ids), "every observation scored exactly once"
    assert len(await stored_ids(url, AdtRecord)) == BEDS
