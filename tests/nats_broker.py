"""A private NATS server (JetStream + MQTT listener) for tests (a plugin of conftest.py).

The production broker (config/nats-server.conf) in miniature: JetStream with file storage in a
temporary directory and the MQTT listener, both on free ports of 127.0.0.1. Tests never touch a
NATS server already running on the machine (its 4222 and 1883 stay untouched).

`kill()` is `kill -9`: the process gets no chance to save anything, as in a crash or a power cut
of the broker's process (not of the machine: the operating system keeps what was written).
`start()` again brings it back on the same ports and the same store directory, so what it
recovers is only what it had written before it acknowledged.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiomqtt
import pytest

from tests.mqtt_broker import BrokerProcess

NATS_SERVER = "/usr/sbin/nats-server"
INSTALL = (
    "install it with `apt-get install nats-server` (Debian/Ubuntu, 2.9 or later) or from "
    "https://github.com/nats-io/nats-server/releases"
)
CONFIG = Path(__file__).resolve().parent.parent / "config" / "nats-server.conf"
"""The shipped production configuration the tests run with."""
TEST_ACK_WAIT = 3.0
"""Seconds (shipped: 30) before the test broker resends what a client has not acknowledged.

NATS resends a message a client received but did not acknowledge only once `ack_wait` has
passed since it sent it, even after the client reconnects or the broker restarts; tests that
crash something would otherwise wait the shipped 30 s for it. It changes when, not whether."""
READY_TIMEOUT = 20.0
"""Seconds to wait for a (re)started server: recovering JetStream's store takes a moment."""


class NatsServer(BrokerProcess):
    """A nats-server process with JetStream and MQTT on `host:port`, that can be killed.

    Its configuration is the shipped one (config/nats-server.conf: the durability settings,
    `max_ack_pending`, `ack_wait`) with only what must differ in a test replaced: the server
    name, the ports, the store directory and its size, the log file; and `ack_wait` when a test
    gives one (it says when an unacknowledged message comes back, not whether).
    """

    name = "nats-server (its MQTT listener)"
    ready_timeout = READY_TIMEOUT
    stop_timeout = 15.0

    def __init__(
        self,
        executable: str,
        workdir: Path,
        *,
        ack_wait: float | None = None,
        config: Path = CONFIG,
    ) -> None:
        self.port = _free_port()  # MQTT
        self.client_port = _free_port()  # nats-server always opens one; not 4222, maybe taken
        self.store_dir = workdir / "jetstream"
        self._executable = executable
        self._log = workdir / "nats-server.log"
        self._conf = workdir / "nats-server.conf"
        replacements = {
            r"^server_name: .*$": f"server_name: test-{self.port}",
            r"^listen: .*$": f"listen: {self.host}:{self.client_port}",
            r"^  store_dir: .*$": f'  store_dir: "{self.store_dir}"',
            r"^  max_file_store: .*$": "  max_file_store: 1GB",
            r"^  max_memory_store: .*$": "  max_memory_store: 64MB",
            r"^mqtt \{\n  listen: .*$": f"mqtt {{\n  listen: {self.host}:{self.port}",
        }
        if ack_wait is not None:
            replacements[r"^  ack_wait: .*$"] = f'  ack_wait: "{ack_wait:g}s"'
        text = config.read_text()
        for pattern, line in replacements.items():
            text, found = re.subn(pattern, line, text, flags=re.MULTILINE)
            if found != 1:
                msg = f"{config}: expected one line matching {pattern!r}, found {found}"
                raise ValueError(msg)
        self._conf.write_text(f'{text}\nlog_file: "{self._log}"\n')
        self._process: subprocess.Popen[bytes] | None = None

    def _give_up(self) -> None:
        self.kill()

    def kill(self) -> None:
        """`kill -9` the server (no shutdown, nothing saved on the way out) and reap it."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGKILL)
        self._process.wait()
        self._process = None

    def crash_and_restart(self) -> None:
        """`kill -9`, then start again on the same ports and store directory."""
        self.kill()
        self.start()


def nats_executable() -> str:
    """The nats-server binary; fails the test (never skips) with how to install it."""
    executable = NATS_SERVER if Path(NATS_SERVER).exists() else shutil.which("nats-server")
    if executable is None:
        pytest.fail(
            f"the broker durability tests need nats-server, not found at {NATS_SERVER}: {INSTALL}"
        )
    return executable


@pytest.fixture
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A private NATS server for one test (which may kill it): the shipped settings but
    `TEST_ACK_WAIT`; `.host`, `.port`, `.url`, `.kill()`, `.start()`."""
    server = NatsServer(nats_executable(), tmp_path_factory.mktemp("nats"), ack_wait=TEST_ACK_WAIT)
    server.start()
    yield server
    server.kill()


class AckedPublisher:
    """Publish with QoS 1, recording which messages the broker acknowledged (PUBACK).

    Like a device or a gateway: up to `window` publishes await their PUBACK at once; when the
    connection drops, it connects again and sends, in order, every message whose PUBACK did not
    come, the same bytes (so the same `msg_id`). `acked[i]` is whether message i was
    acknowledged; a message acknowledged is one the broker has promised to deliver.

    Args:
        messages: (topic, payload, retain), in the order to send them.
        rate: messages per second (message i is not sent before i / rate seconds from the
            start); 0 sends as fast as the broker acknowledges.
        give_up: seconds without a connection after which `run` raises.
    """

    def __init__(
        self,
        host: str,
        port: int,
        messages: Sequence[tuple[str, bytes, bool]],
        *,
        window: int = 256,
        rate: float = 0.0,
        client_id: str | None = None,
        give_up: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.messages = messages
        self.window = window
        self.rate = rate
        self._start: float | None = None
        self.client_id = client_id
        self.give_up = give_up
        self.acked = [False] * len(messages)
        self.acked_count = 0
        self.reconnects = 0

    async def run(self) -> None:
        """Until every message is acknowledged, reconnecting as often as needed."""
        down_since: float | None = None
        while self.acked_count < len(self.messages):
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    clean_session=True,  # what is unacknowledged is resent by us
                    max_inflight_messages=0,  # `window` bounds it
                ) as client:
                    down_since = None
                    client.pending_calls_threshold = self.window + 64
                    await self._send_unacked(client)
            except* aiomqtt.MqttError:
                now = asyncio.get_running_loop().time()
                down_since = now if down_since is None else down_since
                if now - down_since > self.give_up:
                    raise
                self.reconnects += 1
                await asyncio.sleep(0.1)

    async def _send_unacked(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        start = self._start = loop.time() if self._start is None else self._start
        window = asyncio.Semaphore(self.window)
        async with asyncio.TaskGroup() as group:
            watch = group.create_task(_until_disconnected(client))
            for i, done in enumerate(self.acked):
                if not done:
                    if self.rate and (delay := start + i / self.rate - loop.time()) > 0:
                        await asyncio.sleep(delay)
                    await window.acquire()
                    group.create_task(self._send(client, i, window))
            for _ in range(self.window):  # every permit back: every PUBACK in
                await window.acquire()
            watch.cancel()

    async def _send(self, client: aiomqtt.Client, i: int, window: asyncio.Semaphore) -> None:
        topic, payload, retain = self.messages[i]
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=math.inf)
        finally:
            window.release()
        self.acked[i] = True
        self.acked_count += 1


async def _until_disconnected(client: aiomqtt.Client) -> None:
    """Raise MqttError when the connection drops (nothing is subscribed: nothing arrives)."""
    async for _ in client.messages:
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
