"""The service's one MQTT connection: inputs in (QoS 1, persistent session), results out.

Nothing is lost across a restart of the broker or of the service:
- The session is persistent (a fixed client id, no clean session), so the broker keeps what
  arrives for the service while it is away and sends it on reconnection.
- A message is acknowledged (PUBACK) only when the service says so (`ack`), which it does
  once the message's records are committed to the store. Until then the broker holds it and
  sends it again after a reconnection; the scorer recognises it by its `msg_id`.
- Results to publish wait in an outbox until the broker acknowledges them; a connection lost
  mid-way sends them again, in order, after reconnecting, before any new input is read. A
  result may carry a key: once the broker has it, the key is handed back (`take_published`),
  so a caller that also keeps its results durably (the service's store outbox) can let go
  of them.

The connection comes back by itself: capped exponential backoff with jitter.

aiomqtt 2.x has no public way to acknowledge a message when the caller decides, and its
`publish()` scans every pending call on each publish (O(window) per message: 25 µs at 512 in
flight). Both are worked around through paho's client under it, in `_Paho` and nowhere else;
`tests/test_broker_link.py` pins the aiomqtt and paho versions this was written against.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import aiomqtt
import msgspec
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest._broker_url import BrokerURL
from ingest._topics import input_filters

log = logging.getLogger(__name__)

BACKOFF_FIRST: Final = 0.2
BACKOFF_CAP: Final = 10.0
PUBLISH_WINDOW: Final = 1024
"""Publishes awaiting their PUBACK at once: a whole batch's results (`max_batch` 1000) in one
window. `bench/pipeline_window` measured (10,000 publishes, Mosquitto, loaded 2-core machine):
the CPU per publish is flat from 64 up (56-73 µs), while msg/s grows with the window (one
broker round trip per window): 256: 4.4k, 512: 7.4k, 1024: 11.3k, 4096: 14.0k."""
WRITTEN_AGAINST: Final = {"aiomqtt": "2.5.1", "paho-mqtt": "2.2.0"}
"""The versions whose private parts `_Paho` uses (a test fails when either changes)."""


def _bytes(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray):
        return bytes(payload)
    return str(payload).encode()


class _Acks:
    """Counts down the PUBACKs of one window; `done` resolves at zero. aiomqtt's PUBACK
    callback calls `set()` on whatever `_pending_publishes` holds for the packet id."""

    __slots__ = ("done", "left")

    def __init__(self, left: int, done: asyncio.Future[None]) -> None:
        self.left = left
        self.done = done

    def set(self) -> None:
        self.left -= 1
        if self.left <= 0 and not self.done.done():
            self.done.set_result(None)


_PUBACK_PACKET: Final = struct.Struct("!BBH")
"""A PUBACK: its type, its remaining length (2) and the packet id."""
_PUBACK_REASON: Final = ReasonCode(PacketTypes.PUBACK)
_PUBACK_PROPERTIES: Final = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]
"""What paho hands the PUBACK callback for an MQTT 3.1.1 PUBACK, which carries neither: made
once, not per packet (aiomqtt's callback reads neither)."""


class _Paho:
    """Every use of aiomqtt's and paho's private parts, in one place (versions:
    `WRITTEN_AGAINST`).

    - `manual_ack()` / `ack()`: paho acknowledges a QoS 1 message only when told
      (`manual_ack_set`); aiomqtt 2.x does not expose it (3.0 has `puback()`). `ack` queues
      a batch's PUBACKs as one packet write (`_packet_queue`) rather than paho's one each.
    - `take()`: paho's messages straight from its `on_message` callback, in batches of
      whatever has arrived, instead of aiomqtt's message iterator, which wraps each message
      and waits on a new task and an `asyncio.wait` per message.
    - `lean_pubacks()`: paho's PUBACK handler, for MQTT 3.1.1, without building a reason
      code and a properties object for every packet (~6 % of the service's event loop).
    - `publish_all()`: paho's `publish` for each message, with one countdown registered in
      aiomqtt's `_pending_publishes` (its PUBACK callback pops the packet id and calls `set()`),
      instead of aiomqtt's `publish`, which costs a task, a timeout and a scan of every
      pending call per message.
    """

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.paho: paho.Client = client._client
        self._inbox: deque[tuple[str, bytes, int]] = deque()  # topic, payload, packet id
        self._waiter: asyncio.Future[None] | None = None

    def manual_ack(self) -> None:
        self.paho.manual_ack_set(True)

    def lean_pubacks(self) -> None:
        """Handle MQTT 3.1.1 PUBACKs as paho does (`_handle_pubackcomp`: the packet id, then
        `_do_on_publish` if the message is still in flight) but with one shared reason code
        and properties object; anything else (MQTT 5, PUBCOMP, a malformed packet) goes to
        paho's own handler."""
        client = self.paho
        if client._protocol == paho.MQTTv5:
            return
        full = client._handle_pubackcomp
        done = paho.MQTT_ERR_SUCCESS

        def handle(cmd: Any) -> Any:
            packet = client._in_packet["packet"]
            if cmd != "PUBACK" or len(packet) != 2:
                return full(cmd)
            mid = packet[0] << 8 | packet[1]
            with client._out_message_mutex:
                if mid in client._out_messages:
                    return client._do_on_publish(mid, _PUBACK_REASON, _PUBACK_PROPERTIES)
            return done

        client._handle_pubackcomp = handle  # type: ignore[method-assign]

    def receive(self) -> None:
        """From now on, incoming messages are kept for `take` (replaces aiomqtt's callback,
        so its message iterator gets none); those aiomqtt already queued (a persistent
        session's messages come right after the CONNACK) are taken first."""
        queued: asyncio.Queue[aiomqtt.Message] = self.client._queue
        while not queued.empty():
            m = queued.get_nowait()
            self._inbox.append((m.topic.value, _bytes(m.payload), m.mid))
        self.paho.on_message = self._on_message

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.append((message.topic, _bytes(message.payload), message.mid))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self, most: int) -> list[tuple[str, bytes, int]]:
        """At least one message (at most `most`), in arrival order; `aiomqtt.MqttError` once
        the connection is lost and nothing is left."""
        inbox = self._inbox
        while not inbox:
            lost: asyncio.Future[Any] = self.client._disconnected
            if lost.done():
                raise aiomqtt.MqttError("Disconnected during message iteration") from (
                    None if lost.cancelled() else lost.exception()
                )
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait((waiter, lost), return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._waiter = None
                waiter.cancel()
        n = min(most, len(inbox))
        return [inbox.popleft() for _ in range(n)]

    def ack(self, mids: Sequence[int]) -> None:
        """PUBACK each of `mids` (QoS 1 messages): the packets paho's `ack(mid, 1)` sends
        (it only sends them, for QoS 1), queued as one write instead of one each."""
        if mids:
            packets = b"".join([_PUBACK_PACKET.pack(paho.PUBACK, 2, mid) for mid in mids])
            self.paho._packet_queue(paho.PUBACK, packets, 0, 0)

    async def publish_all(
        self, messages: Sequence[tuple[str, bytes, bool, Any]], timeout: float
    ) -> None:
        """Publish with QoS 1; return once the broker has acknowledged every one, raise
        `aiomqtt.MqttError` if the connection is lost first or `timeout` seconds pass."""
        client = self.client
        pending: dict[int, Any] = client._pending_publishes
        loop = asyncio.get_running_loop()
        acks = _Acks(len(messages), loop.create_future())
        publish, success = self.paho.publish, paho.MQTT_ERR_SUCCESS
        mids = []
        try:
            for topic, payload, retain, _ in messages:
                info = publish(topic, payload, 1, retain)
                if info.rc != success:
                    raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
                if info.is_published():  # acknowledged already (cannot be, for QoS 1)
                    acks.set()
                else:
                    pending[info.mid] = acks
                    mids.append(info.mid)
            if not acks.done.done():
                lost: asyncio.Future[Any] = client._disconnected
                done, _ = await asyncio.wait(
                    (acks.done, lost),
                    timeout=None if math.isinf(timeout) else timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if acks.done not in done:
                    raise aiomqtt.MqttError(
                        "the connection was lost before every publish was acknowledged"
                        if done
                        else "publishing timed out"
                    )
        finally:
            for mid in mids:
                if pending.get(mid) is acks:
                    del pending[mid]


class Received(msgspec.Struct, frozen=True):
    """An input message as it came off the wire; `token` acknowledges it (see `ack`). (A
    Struct, not a frozen dataclass: one is made per message, and msgspec's is ~10x cheaper.)"""

    topic: str
    payload: bytes
    received: datetime
    token: tuple[int, int]


def _refused(code: object) -> bool:
    """A SUBACK return code that refuses the subscription (0x80 and above)."""
    if isinstance(code, int):
        return code >= 0x80
    return bool(getattr(code, "is_failure", False))


class BrokerLink:
    """Consume the input topics and publish results over one reconnecting connection.

    Use: `async with BrokerLink(...) as link: async for batch in link.batches(): ...`.
    """

    def __init__(
        self,
        broker: BrokerURL,
        *,
        client_id: str,
        prefix: str = "",
        max_batch: int = 1000,
        keepalive: int = 30,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.prefix = prefix
        self.max_batch = max_batch
        self.keepalive = keepalive
        self._clock = clock
        self._client: aiomqtt.Client | None = None
        self._generation = 0
        self._outbox: deque[tuple[str, bytes, bool, str | None]] = deque()
        self._published: list[str] = []
        self._sending = asyncio.Lock()
        self._deferred: list[tuple[int, int]] = []
        self._connected = asyncio.Event()
        self._paho: _Paho | None = None
        self.publish_window = PUBLISH_WINDOW
        self.publish_timeout = 10.0
        self._closing = False
        self.reconnects = 0
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        """Whether the connection is up now."""
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        """Until connected and subscribed to the input topics."""
        await self._connected.wait()

    async def __aenter__(self) -> BrokerLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True

    async def batches(self) -> AsyncIterator[list[Received]]:
        """Input messages in arrival order, in batches of whatever has arrived (≥ 1 each).

        Runs until cancelled, reconnecting whenever the connection drops.
        """
        delay = BACKOFF_FIRST
        while True:
            try:
                client = self._new_client()
                # Before connecting: a persistent session's messages come right after the
                # CONNACK, and paho would acknowledge them itself before their records exist.
                link = _Paho(client)
                link.manual_ack()
                link.lean_pubacks()
                link.receive()
                async with client:
                    self._paho = link
                    self._client, self._generation = client, self._generation + 1
                    topics = input_filters(self.prefix)
                    granted = await client.subscribe([(topic, 1) for topic in topics])
                    refused = [
                        topic
                        for topic, code in zip(topics, granted, strict=False)
                        if _refused(code)
                    ]
                    if refused or len(granted) != len(topics):
                        # Never consume with a subscription missing (alert actions, say).
                        raise aiomqtt.MqttError(f"the broker refused the subscriptions {refused}")
                    self._connected.set()
                    self.last_error = None
                    delay = BACKOFF_FIRST
                    log.info("connected to %s", self.broker)  # not the client id: a secret
                    await self._drain_outbox(link)
                    async for batch in self._read(link):
                        yield batch
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
                log.warning("broker %s: %s; reconnecting in %.1f s", self.broker, exc, delay)
            finally:
                self._connected.clear()
                self._client = self._paho = None
            if self._closing:
                return
            self.reconnects += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, BACKOFF_CAP)

    async def _read(self, link: _Paho) -> AsyncIterator[list[Received]]:
        generation, clock = self._generation, self._clock
        while True:
            yield [
                Received(topic, payload, clock(), (generation, mid))
                for topic, payload, mid in await link.take(self.max_batch)
            ]

    def ack(self, tokens: Iterable[object]) -> None:
        """Acknowledge messages whose records are committed; stale tokens are skipped.

        A token from an earlier connection cannot be acknowledged: the broker sends that
        message again, and the scorer knows it by its `msg_id`. While results wait in the
        outbox, acknowledgements wait too: an input is only let go once what it produced is
        both stored and published.
        """
        self._deferred.extend(tokens)  # type: ignore[arg-type]
        if not self._outbox:
            self._ack_deferred()

    def _ack_deferred(self) -> None:
        link, deferred, self._deferred = self._paho, self._deferred, []
        if link is None:
            return
        generation = self._generation
        link.ack([mid for made, mid in deferred if made == generation and mid])

    async def publish(self, messages: Sequence[tuple[str, bytes, bool, str | None]]) -> None:
        """Publish (topic, payload, retain, key) with QoS 1, in order; returns once all are
        acked.

        If the connection is down they stay in the outbox, which `batches()` sends first after
        reconnecting; nothing is dropped. The keys of those the broker has acknowledged are
        handed back by `take_published`.
        """
        self._outbox.extend(messages)
        link = self._paho
        if link is None:
            return
        try:
            await self._drain_outbox(link)
        except aiomqtt.MqttError as exc:
            self.last_error = str(exc)
            log.warning("publishing to %s: %s; kept for after reconnection", self.broker, exc)

    def take_published(self) -> list[str]:
        """The keys of keyed results the broker has acknowledged since the last call."""
        published, self._published = self._published, []
        return published

    @property
    def outbox(self) -> int:
        """Results not yet acknowledged by the broker."""
        return len(self._outbox)

    async def _drain_outbox(self, link: _Paho) -> None:
        outbox = self._outbox
        async with self._sending:  # one sender at a time keeps the order and the count
            while outbox:
                window = [outbox[i] for i in range(min(self.publish_window, len(outbox)))]
                await link.publish_all(window, self.publish_timeout)
                for _ in window:
                    key = outbox.popleft()[3]
                    if key is not None:
                        self._published.append(key)
            if self._deferred:
                self._ack_deferred()

    def _new_client(self) -> aiomqtt.Client:
        broker = self.broker
        client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=self.client_id,
            clean_session=False,
            keepalive=self.keepalive,
            max_inflight_messages=0,
            tls_context=broker.tls_context(),
        )
        client.pending_calls_threshold = PUBLISH_WINDOW + 64  # a full window is expected
        return client
