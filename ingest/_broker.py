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
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import aiomqtt

from ingest._broker_url import BrokerURL
from ingest._model import ACTIONS, CHANNELS

log = logging.getLogger(__name__)

BACKOFF_FIRST: Final = 0.2
BACKOFF_CAP: Final = 10.0
PUBLISH_WINDOW: Final = 512
"""Publishes awaiting their PUBACK at once."""


@dataclass(frozen=True, slots=True)
class Received:
    """An input message as it came off the wire; `token` acknowledges it (see `ack`)."""

    topic: str
    payload: bytes
    received: datetime
    token: tuple[int, int]


def _refused(code: object) -> bool:
    """A SUBACK return code that refuses the subscription (0x80 and above)."""
    if isinstance(code, int):
        return code >= 0x80
    return bool(getattr(code, "is_failure", False))


def input_topics(prefix: str = "") -> list[str]:
    """The subscriptions of CONTRACT §1's inputs."""
    return [f"{prefix}wards/+/beds/+/{channel}" for channel in CHANNELS] + [
        f"{prefix}wards/+/alerts/+/{action}" for action in ACTIONS
    ]


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
                async with self._new_client() as client:
                    client._client.manual_ack_set(True)
                    self._client, self._generation = client, self._generation + 1
                    topics = input_topics(self.prefix)
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
                    log.info("connected to %s as %s", self.broker, self.client_id)
                    await self._drain_outbox(client)
                    async for batch in self._read(client):
                        yield batch
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
                log.warning("broker %s: %s; reconnecting in %.1f s", self.broker, exc, delay)
            finally:
                self._connected.clear()
                self._client = None
            if self._closing:
                return
            self.reconnects += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, BACKOFF_CAP)

    async def _read(self, client: aiomqtt.Client) -> AsyncIterator[list[Received]]:
        generation = self._generation
        batch: list[Received] = []
        messages = client.messages
        async for message in messages:
            batch.append(self._received(message, generation))
            if len(batch) >= self.max_batch or len(messages) == 0:
                yield batch
                batch = []

    def _received(self, message: aiomqtt.Message, generation: int) -> Received:
        payload = message.payload
        return Received(
            topic=message.topic.value,
            payload=payload if isinstance(payload, bytes) else str(payload).encode(),
            received=self._clock(),
            token=(generation, message.mid),
        )

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
        client, deferred, self._deferred = self._client, self._deferred, []
        if client is None:
            return
        for generation, mid in deferred:
            if generation == self._generation and mid:
                client._client.ack(mid, 1)

    async def publish(self, messages: Sequence[tuple[str, bytes, bool, str | None]]) -> None:
        """Publish (topic, payload, retain, key) with QoS 1, in order; returns once all are
        acked.

        If the connection is down they stay in the outbox, which `batches()` sends first after
        reconnecting; nothing is dropped. The keys of those the broker has acknowledged are
        handed back by `take_published`.
        """
        self._outbox.extend(messages)
        client = self._client
        if client is None:
            return
        try:
            await self._drain_outbox(client)
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

    async def _drain_outbox(self, client: aiomqtt.Client) -> None:
        outbox = self._outbox
        async with self._sending:  # one sender at a time keeps the order and the count
            while outbox:
                window = [outbox[i] for i in range(min(PUBLISH_WINDOW, len(outbox)))]
                await asyncio.gather(
                    *(
                        client.publish(topic, payload, qos=1, retain=retain)
                        for topic, payload, retain, _ in window
                    )
                )
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
            tls_context=ssl.create_default_context() if broker.tls else None,
        )
        client.pending_calls_threshold = PUBLISH_WINDOW + 64  # a full window is expected
        return client
