"""Degraded, not blind (issue 12): a store that is down at start or goes away mid-stream, a
broker that is unreachable, and a stop asked for in each of those states.

Real components: a private Mosquitto, the machine's PostgreSQL reached through a `TcpGate`
that the test cuts and restores, the service in-process or as `surveillance run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from scoring import ChartSet
from surveillance import Service
from surveillance.store import (
    AcceptedRecord,
    Batch,
    InHand,
    ScoreRecord,
    Spool,
    SpoolingStore,
    StateRecord,
    StoredState,
    StoreError,
    open_store,
)
from tests.faults import TcpGate
from tests.mqtt_broker import Mosquitto
from tests.surveillance.test_pipeline import (
    CONTRACT_OBS,
    NORMAL,
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


def through(gate: TcpGate, url: str) -> str:
    parts = urlsplit(url)
    netloc = (
        f"{parts.username}@{gate.host}:{gate.port}"
        if parts.username
        else f"{gate.host}:{gate.port}"
    )
    return urlunsplit(parts._replace(netloc=netloc))


def gate_for(url: str) -> TcpGate:
    parts = urlsplit(url)
    return TcpGate(parts.hostname or "127.0.0.1", parts.port or 5432)


async def eventually(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


# -- the spool, on its own ---------------------------------------------------------------------


class FlakyStore:
    """A store that fails while `down` (the edge; the real one is tested end to end below)."""

    def __init__(self) -> None:
        self.down = True
        self.written: list[Batch] = []

    async def write(self, batch: Batch) -> None:
        if self.down:
            raise StoreError("connection refused")
        self.written.append(batch)

    async def load_state(self, since: Any, *, labs_since: Any = None) -> StoredState:
        return StoredState([], [], [], set())


def batch_of(n: int) -> Batch:
    from tests.surveillance.test_online import at  # noqa: PLC0415

    return Batch(
        accepted=[AcceptedRecord(f"m{n}", "d", at(n))],
        states=[StateRecord("patient:P1", b'{"n":%d}' % n, at(n))],
    )


async def test_the_spool_keeps_what_the_store_cannot_take_in_order(tmp_path: Path) -> None:
    flaky = FlakyStore()
    async with Spool(tmp_path / "spool.db") as spool:
        store = SpoolingStore(flaky, spool)  # type: ignore[arg-type]
        for n in range(3):
            await store.write(batch_of(n))
        assert store.behind
        assert spool.batches == 3
        flaky.down = False
        store._pause_until = 0  # the store is back: try it now rather than after the pause
        await store.write(batch_of(3))  # drained first, then this one: order kept
        assert [b.accepted[0].msg_id for b in flaky.written] == ["m0", "m1", "m2", "m3"]
        assert not store.behind


async def test_a_spool_survives_a_restart_and_is_drained_before_the_state_is_read(
    tmp_path: Path,
) -> None:
    flaky = FlakyStore()
    async with Spool(tmp_path / "spool.db") as spool:
        await SpoolingStore(flaky, spool).write(batch_of(0))  # type: ignore[arg-type]
    async with Spool(tmp_path / "spool.db") as spool:  # a new process
        assert spool.batches == 1
        store = SpoolingStore(flaky, spool)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="still holds 1 batches"):
            await store.load_state(batch_of(0).accepted[0].received_at)
        flaky.down = False
        store._pause_until = 0
        await store.load_state(batch_of(0).accepted[0].received_at)
        assert [b.accepted[0].msg_id for b in flaky.written] == ["m0"]
        assert flaky.written[0].states[0].state == b'{"n":0}'


# -- the service, end to end -------------------------------------------------------------------


async def test_a_store_down_at_start_is_waited_for_then_used(
    mosquitto: Mosquitto, charts: ChartSet, fresh_postgres_url: str, tmp_path: Path
) -> None:
    gate = gate_for(fresh_postgres_url)
    settings = settings_for(mosquitto, through(gate, fresh_postgres_url))
    settings.store.spool = str(tmp_path / "spool.db")
    service = Service(settings, charts)
    running = asyncio.create_task(service.run())
    try:
        await asyncio.sleep(1.5)
        assert not running.done(), "the service gave up on a store that is down"
        assert not service.started.is_set()
        assert "store cannot be reached" in (service.problem() or "")
        await gate.open()
        await asyncio.wait_for(service.started.wait(), 40)
        assert service.healthy
    finally:
        service.stop.set()
        await asyncio.wait_for(running, 15)
        await gate.close()


async def test_a_store_outage_mid_stream_loses_nothing_and_alerts_go_on(
    mosquitto: Mosquitto, charts: ChartSet, fresh_postgres_url: str, tmp_path: Path
) -> None:
    gate = gate_for(fresh_postgres_url)
    await gate.open()
    settings = settings_for(mosquitto, through(gate, fresh_postgres_url))
    settings.store.spool = str(tmp_path / "spool.db")
    w = ward()
    service = Service(settings, charts)
    running = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.started.wait(), 15)
        async with listening(mosquitto, f"wards/{w}/#", "surveillance/heartbeat") as heard:
            await send(mosquitto, (f"wards/{w}/beds/1/adt", adt("P1")))
            await eventually(lambda: service.counters.received >= 1)
            await gate.close()  # the database goes away
            sets = [
                (f"wards/{w}/beds/1/obs", obs_json("P1", f"{w}-{i}", NORMAL)) for i in range(50)
            ]
            await send(
                mosquitto, *sets, (f"wards/{w}/beds/1/obs", obs_json("P1", f"{w}-red", HIGH_OBS))
            )
            # Scored and alerted while the database is down.
            await heard.wait(  # generous: a loaded machine, 51 sets each spooled with fsync
                lambda h: any(m.get("obs_msg_id") == f"{w}-red" for m in h.on("/alerts")), 40
            )
            assert len(heard.on("/score")) == 51
            await eventually(lambda: service.health()["scorer"]["store_behind"], 10)
            me = settings.broker.client_id

            def behind(h: Any) -> bool:
                return any(
                    t.endswith("heartbeat") and m["service"] == me and m["store_behind"]
                    for t, m in h.messages
                )

            await heard.wait(behind, 15)
            await gate.open()  # back: the spool drains into it
            await eventually(lambda: not service.health()["scorer"]["store_behind"], 30)
    finally:
        service.stop.set()
        await asyncio.wait_for(running, 15)
        await gate.close()
    scores = await stored(fresh_postgres_url, ScoreRecord)
    assert len(scores) == 51


@pytest.mark.parametrize("down", ["store", "broker"])
def test_sigterm_stops_surveillance_run_within_seconds_whatever_is_down(
    mosquitto: Mosquitto, tmp_path: Path, down: str
) -> None:
    nowhere = TcpGate("127.0.0.1", 9).port  # a free port nobody listens on
    broker = f"mqtt://127.0.0.1:{nowhere}" if down == "broker" else mosquitto.url
    store = (
        f"postgresql://postgres@127.0.0.1:{nowhere}/x"
        if down == "store"
        else f"sqlite:///{tmp_path / 'run.db'}"
    )
    config = tmp_path / "service.toml"
    config.write_text(
        f'[broker]\nurl = "{broker}"\nclient_id = "stop-{uuid.uuid4().hex[:6]}"\n'
        f'[store]\nurl = "{store}"\nspool = "{tmp_path / "spool.db"}"\n[http]\nport = 0\n'
    )
    service = subprocess.Popen(
        [sys.executable, "-m", "surveillance.cli", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert service.stderr is not None
    try:
        for line in service.stderr:
            if ("store cannot be reached" if down == "store" else "reconnecting") in line:
                break
        time.sleep(0.5)
        asked = time.monotonic()
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=10)
        took = time.monotonic() - asked
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        service.stderr.close()
    assert code == 0
    assert took < 8, f"SIGTERM took {took:.1f} s"


# -- a message that kills the service ----------------------------------------------------------


class Death(BaseException):
    """The process dying in the middle of a message (a hang killed by systemd, memory...)."""


def _dying(service: Service) -> None:
    handle = service.scorer.handle

    def dies_on_poison(arrivals: Any) -> Any:
        if any(getattr(a.item, "msg_id", None) == "poison" for a in arrivals):
            raise Death
        return handle(arrivals)

    service.scorer.handle = dies_on_poison  # type: ignore[method-assign]


async def test_a_message_in_hand_at_two_deaths_is_quarantined_and_the_rest_scored(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    from tests.surveillance.test_live_core import adt as adt_arrival  # noqa: PLC0415
    from tests.surveillance.test_live_core import reading  # noqa: PLC0415
    from tests.surveillance.test_online import HIGH, NORMAL  # noqa: PLC0415

    settings = settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}", max_age=1e10)
    batch = [
        adt_arrival("P1", t=0),
        reading(NORMAL, t=10, msg_id="poison"),
        reading(HIGH, t=20, msg_id="good"),
    ]
    journal = tmp_path / "in-hand"
    for _ in range(2):  # two deaths with the poison in hand
        service = Service(settings, charts)
        _dying(service)
        async with InHand(journal) as in_hand:
            with pytest.raises(Death):
                await service._handle(batch, in_hand)
    service = Service(settings, charts)
    _dying(service)
    async with InHand(journal) as in_hand:
        out = await service._handle(batch, in_hand)
        assert await in_hand.mark(["x"], only_if_clean=True) == {}  # nothing left in hand
    letters = list(out.batch.dead_letters)
    assert [(r.error, r.msg_id) for r in letters] == [("internal", "poison")]
    assert "quarantined" in letters[0].reason
    assert [s.obs_msg_id for s in out.batch.scores] == ["good"]
    assert [a.severity for a in out.batch.alerts] == ["emergency"]


async def test_a_batch_without_a_death_is_handled_whole(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    from tests.surveillance.test_live_core import adt as adt_arrival  # noqa: PLC0415
    from tests.surveillance.test_live_core import reading  # noqa: PLC0415
    from tests.surveillance.test_online import NORMAL  # noqa: PLC0415

    service = Service(settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}"), charts)
    async with InHand(tmp_path / "in-hand") as in_hand:
        out = await service._handle([adt_arrival("P1"), reading(NORMAL, t=5)], in_hand)
        assert len(out.batch.scores) == 1
        assert await in_hand.mark(["x"], only_if_clean=True) == {}


async def test_systemd_hears_ready_then_the_watchdog(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        heard: list[bytes] = []
        async with running(settings_for(mosquitto, f"sqlite:///{tmp_path / 's.db'}"), charts):
            deadline = time.monotonic() + 15
            while b"WATCHDOG=1" not in heard and time.monotonic() < deadline:
                with contextlib.suppress(BlockingIOError):
                    heard.append(listener.recv(64))
                await asyncio.sleep(0.05)
    assert heard[0] == b"READY=1"
    assert b"WATCHDOG=1" in heard


# -- results committed but not published -------------------------------------------------------


async def test_results_committed_but_never_published_go_out_at_the_next_start(
    mosquitto: Mosquitto, charts: ChartSet, tmp_path: Path
) -> None:
    """A kill between the commit and the publication: the alert still reaches the wards."""
    from tests.surveillance.test_live_core import adt as adt_arrival  # noqa: PLC0415
    from tests.surveillance.test_live_core import reading  # noqa: PLC0415
    from tests.surveillance.test_online import HIGH  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 's.db'}"
    nowhere = TcpGate("127.0.0.1", 9).port
    cut_off = settings_for(mosquitto, url, max_age=1e10)
    cut_off.broker.url = f"mqtt://127.0.0.1:{nowhere}"  # never reaches a broker
    first = Service(cut_off, charts)
    running_first = asyncio.create_task(first.run())
    await eventually(lambda: first._writer is not None)
    assert first._writer is not None
    out = first.scorer.handle([adt_arrival("P1", t=0), reading(HIGH, t=10, msg_id="red")])
    await first._emit(out, first._writer, tokens=[])
    first.stop.set()  # stopped: records committed, results never published
    await asyncio.wait_for(running_first, 15)
    async with open_store(url) as store:
        kept = {r.key for r in (await store.load_state(datetime.now(UTC))).outbox}
    assert len(kept) == 1  # the alert (the score, retained, is published again at each start)

    again = settings_for(mosquitto, url, max_age=1e10)
    async with (
        listening(mosquitto, "wards/7A/#") as heard,
        running(again, charts) as second,
    ):
        await heard.wait(lambda h: bool(h.on("/alerts")) and bool(h.on("/score")))
        [alert] = heard.on("/alerts")
        assert (alert["obs_msg_id"], alert["severity"]) == ("red", "emergency")
        await eventually(lambda: not second.link.outbox)
        await asyncio.sleep(1.5)  # the next tick's write lets go of them
    async with open_store(url) as store:
        left = {r.key for r in (await store.load_state(datetime.now(UTC))).outbox}
    assert not kept & left  # published, then let go of


class PickyStore(FlakyStore):
    """Up, but refusing any batch holding the record `bad` (as PostgreSQL refuses a NUL)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def write(self, batch: Batch) -> None:
        if any(r.msg_id == "bad" for r in batch.accepted):
            raise StoreError('invalid byte sequence for encoding "UTF8": 0x00')
        await super().write(batch)

    async def ping(self) -> None:
        return None


async def test_a_record_the_store_always_refuses_is_set_aside_not_waited_on(
    tmp_path: Path,
) -> None:
    from tests.surveillance.test_online import at  # noqa: PLC0415

    picky = PickyStore()
    async with Spool(tmp_path / "spool.db") as spool:
        store = SpoolingStore(picky, spool)  # type: ignore[arg-type]
        bad = Batch(
            accepted=[AcceptedRecord("good-1", "d", at(0)), AcceptedRecord("bad", "d", at(0))]
        )
        await store.write(bad)
        for n in range(3):
            store._pause_until = 0
            await store.write(batch_of(n))
        assert not store.behind, "a bad record held back every later batch"
        assert store.poisoned == 1
        written = [r.msg_id for b in picky.written for r in b.accepted]
        assert written == ["good-1", "m0", "m1", "m2"]
