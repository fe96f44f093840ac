"""Publish messages to an MQTT broker: paced like the original, or as fast as it takes them.

Every message goes out with QoS 1 and its own retain flag, in the order given; `publish` returns
once the broker has acknowledged (PUBACK) every one of them. If the connection drops, it connects
again (capped exponential backoff with jitter) and sends every message not yet acknowledged
again, in order: delivery is at least once, and consumers drop repeats by `msg_id`
(CONTRACT §1).
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from tqdm import tqdm

from ingest import BrokerURL
from simulators._messages import Message

WINDOW = 256
"""How many QoS 1 publishes may await their PUBACK at once."""

RECONNECT_ATTEMPTS = 10
"""Connection attempts in a row without progress before `publish` gives up."""

BACKOFF_FIRST = 0.25
BACKOFF_CAP = 10.0
"""Seconds to wait before the first reconnection, and at most before any later one."""


@dataclass(frozen=True)
class PublishStats:
    """What a `publish` call did.

    Attributes:
        messages: messages acknowledged by the broker (each counted once, even if resent).
        seconds: wall-clock time, connection included.
        rate: messages per second of wall-clock time.
        reconnects: connection attempts after the first one.
    """

    messages: int
    seconds: float
    rate: float
    reconnects: int


class PublishError(RuntimeError):
    """The broker could not be reached, or refused us; the message says which and what is left."""


async def publish(
    messages: Iterable[Message],
    broker: BrokerURL,
    *,
    speed: float,
    prefix: str = "",
    total: int | None = None,
    progress: bool = True,
    client_id: str | None = None,
) -> PublishStats:
    """Publish `messages` in order with QoS 1, and wait until the broker has acknowledged all.

    Args:
        messages: what to send, in the order to send it (read lazily, once).
        broker: where to send it.
        speed: how many times faster than real time: message i goes out at
            `start + (time_i - time_0) / speed` (sooner if publishing has fallen behind; never
            out of order). 0 sends as fast as the broker takes them, with up to `WINDOW`
            publishes awaiting their PUBACK at once.
        prefix: put verbatim before every topic, e.g. `"site1/"` (include the slash).
        total: how many messages there are, for the progress bar (taken from `len(messages)`
            when that exists).
        progress: show a progress bar on stderr (rate, and ETA when the total is known).
        client_id: MQTT client identifier; a random one if not given.

    Returns:
        How many messages were acknowledged, in how long, and how often it had to reconnect.

    Raises:
        ValueError: `speed` is negative or not a number.
        PublishError: the broker refused the connection, or could not be reached
            `RECONNECT_ATTEMPTS` times in a row.
    """
    if not speed >= 0 or math.isinf(speed):
        msg = f"speed must be a finite number >= 0 (0 = as fast as possible), not {speed}"
        raise ValueError(msg)
    if total is None and isinstance(messages, Sized):
        total = len(messages)
    started = time.monotonic()
    with tqdm(total=total, unit="msg", desc="replay", file=sys.stderr, disable=not progress) as bar:
        replay = _Replay(
            iter(messages),
            broker,
            speed=speed,
            prefix=prefix,
            client_id=client_id,
            on_ack=bar.update,
        )
        await replay.run()
    seconds = time.monotonic() - started
    rate = replay.acked / seconds if seconds > 0 else 0.0
    return PublishStats(replay.acked, seconds, rate, replay.reconnects)


@dataclass(eq=False)
class _Entry:
    message: Message
    due: float
    acked: bool = False


class _Replay:
    """The state of one `publish` call, kept across connections."""

    def __init__(
        self,
        source: Iterator[Message],
        broker: BrokerURL,
        *,
        speed: float,
        prefix: str,
        client_id: str | None,
        on_ack: Callable[[int], object],
    ) -> None:
        self._source = source
        self._broker = broker
        self._speed = speed
        self._prefix = prefix
        self._client_id = client_id
        self._on_ack = on_ack
        self._unacked: deque[_Entry] = deque()  # taken from the source, PUBACK not yet seen
        self._clock: tuple[float, int] | None = None  # (wall start, time of first message)
        self.acked = 0
        self.reconnects = 0

    async def run(self) -> None:
        """Connect, send, and connect again after a drop, until everything is acknowledged."""
        failures = 0
        while True:
            acked_before = self.acked
            error: aiomqtt.MqttError | None = None
            try:
                async with self._client() as client:
                    await self._send_all(client)
                return
            except* MqttConnectError as group:
                refusal = _first(group)
                msg = f"{self._broker} refused the connection: {refusal}"
                raise PublishError(msg) from refusal
            except* aiomqtt.MqttError as group:
                error = _first(group)
            failures = 0 if self.acked > acked_before else failures + 1
            if failures >= RECONNECT_ATTEMPTS:
                left = sum(not entry.acked for entry in self._unacked)
                msg = (
                    f"could not reach {self._broker} in {failures} attempts in a row (last error: "
                    f"{error}); {self.acked} messages acknowledged, at least {left} not"
                )
                raise PublishError(msg) from error
            delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(failures - 1, 0))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311  # jitter, not crypto
            self.reconnects += 1

    def _client(self) -> aiomqtt.Client:
        broker = self._broker
        return aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=self._client_id,
            clean_session=True,  # unacknowledged messages are resent by us, not by a session
            # WINDOW bounds what is in flight; a paho limit would add a scan of them all per PUBACK
            max_inflight_messages=0,
            tls_context=broker.tls_context(),
        )

    async def _send_all(self, client: aiomqtt.Client) -> None:
        """Send what is unacknowledged, then the rest; MqttError (in a group) if the link drops."""
        client.pending_calls_threshold = WINDOW + 1  # a full window is normal, not a warning
        window = asyncio.Semaphore(WINDOW)
        async with asyncio.TaskGroup() as group:
            watch = group.create_task(_until_disconnected(client))
            for entry in self._entries():
                delay = entry.due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await window.acquire()
                # Tasks start in creation order and each hands its message to paho before
                # its first await, so the broker receives the messages in this order.
                group.create_task(self._send(client, entry, window))
            for _ in range(WINDOW):  # every permit back: every PUBACK in
                await window.acquire()
            watch.cancel()

    def _entries(self) -> Iterator[_Entry]:
        """The unacknowledged entries, then new ones; each is recorded before it is yielded."""
        yield from [entry for entry in self._unacked if not entry.acked]
        for message in self._source:
            if self._clock is None:
                self._clock = (time.monotonic(), message.time)
            start, first = self._clock
            due = start + (message.time - first) / self._speed if self._speed else 0.0
            entry = _Entry(message, due)
            self._unacked.append(entry)
            yield entry

    async def _send(self, client: aiomqtt.Client, entry: _Entry, window: asyncio.Semaphore) -> None:
        message = entry.message
        try:
            await client.publish(
                self._prefix + message.topic,
                message.payload,
                qos=1,
                retain=message.retain,
                timeout=math.inf,  # a lost connection is noticed by `_until_disconnected`
            )
        finally:
            window.release()
        entry.acked = True
        self.acked += 1
        self._on_ack(1)
        while self._unacked and self._unacked[0].acked:
            self._unacked.popleft()


async def _until_disconnected(client: aiomqtt.Client) -> None:
    """Return never; raise MqttError when the connection drops.

    Nothing is subscribed, so no message arrives: the iterator only ends by raising on a
    disconnection, which is the one public way aiomqtt 2.x tells of it.
    """
    async for _ in client.messages:
        pass


def _first(group: BaseExceptionGroup[aiomqtt.MqttError]) -> aiomqtt.MqttError:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error
