"""The broker side of the wallboard: subscribe, keep a `WardBoard`, fan changes out.

One MQTT connection feeds one `WardBoard`; each websocket client holds a `Subscription` with
its own bounded queue. The feed never waits for a subscriber: when a subscriber's queue is full
its pending changes are dropped and it is marked stale, and its next read says "send a fresh
snapshot" instead. A snapshot taken then covers everything up to the stream's current `seq`,
and every later change is queued after it, so a slow client falls back to a snapshot but never
misses a change without knowing.

The session is persistent (`clean_session=False`), so alert events (not retained) published
while the connection is down are queued by the broker and delivered on reconnection; ADT and
score messages are retained, and `WardBoard` ignores what it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import aiomqtt

from wallboard._state import JSON, Change, WardBoard

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.25
BACKOFF_CAP = 10.0
"""Seconds to wait before the first reconnection, and at most before any later one."""

QUEUE_SIZE = 1024
"""Changes a subscriber may have pending before it is switched to a fresh snapshot."""

HISTORY = 1024
"""Recent changes kept per stream, for clients that reconnect with `?since=`."""

Stream = str | None
"""A ward's name, or None for the outreach stream."""


class Subscription:
    """One subscriber's bounded queue of changes to one stream.

    Filled by the feed without waiting (`offer`); read by the subscriber (`next`).
    """

    def __init__(self, stream: Stream, limit: int) -> None:
        self.stream = stream
        self._limit = limit
        self._pending: deque[Change] = deque()
        self._stale = False
        self._ready = asyncio.Event()
        self.overflows = 0

    def offer(self, change: Change) -> None:
        """Queue `change`; on overflow drop everything pending and mark the subscriber stale."""
        if self._stale:
            return
        if len(self._pending) >= self._limit:
            self._pending.clear()
            self._stale = True
            self.overflows += 1
        else:
            self._pending.append(change)
        self._ready.set()

    async def next(self) -> list[Change] | None:
        """Wait for changes; return them all, or None: "changes were dropped, send a snapshot".

        After None, take the snapshot before the next `await`: it then covers every change
        dropped, and the changes queued later all come after it.
        """
        await self._ready.wait()
        self._ready.clear()
        if self._stale:
            self._stale = False
            return None
        changes = list(self._pending)
        self._pending.clear()
        return changes


class BrokerFeed:
    """Subscribes to the wards' ADT, score and alert topics and keeps `board` up to date.

    Use as an async context manager: entering starts the connection loop in a task (it
    returns at once, connected or not), leaving stops it. While the broker is unreachable it
    retries with capped exponential backoff and jitter, forever; `connected` and
    `last_message_at` tell `/healthz` how it is going.

    Attributes:
        board: the state built from the messages.
        epoch: a random id of this feed's numbering: `seq` values of another epoch (a
            restarted server) mean nothing here.
        connected: subscribed to the broker right now.
        last_message_at: when the latest message arrived (UTC), or None.
        reconnects: connection attempts after the first one.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        prefix: str = "",
        client_id: str | None = None,
        queue_size: int = QUEUE_SIZE,
        history: int = HISTORY,
    ) -> None:
        """Prepare, without connecting.

        Args:
            host: the broker's host name or address.
            port: its TCP port.
            username: user name, if the broker wants one.
            password: password, if the broker wants one (never logged).
            tls: connect over TLS, checking the broker's certificate.
            prefix: put verbatim before every topic, e.g. `"site1/"` (include the slash).
            client_id: MQTT client identifier. Give a stable one in production: the session
                is persistent, and a random identifier (the default) leaves a session on the
                broker after this process exits (without subscriptions when it exits
                cleanly).
            queue_size: changes a subscriber may have pending before it gets a snapshot.
            history: recent changes kept per stream for `?since=`.
        """
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._tls = tls
        self._client_id = client_id or f"wallboard-{uuid.uuid4().hex[:12]}"
        self._queue_size = queue_size
        self._history_size = history
        self._topics = [
            f"{prefix}wards/+/beds/+/adt",
            f"{prefix}wards/+/beds/+/score",
            f"{prefix}wards/+/alerts",
        ]
        self.board = WardBoard(prefix=prefix)
        self.epoch = uuid.uuid4().hex[:12]
        self.connected = False
        self.last_message_at: datetime | None = None
        self.reconnects = 0
        self._subscribers: dict[Stream, set[Subscription]] = {}
        self._history: dict[Stream, deque[Change]] = {}
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Start the connection loop."""
        self._task = asyncio.create_task(self._run(), name="wallboard-feed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Unsubscribe (so the persistent session queues nothing more), then stop the loop."""
        client = self._client
        if client is not None and self.connected:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.unsubscribe(self._topics, timeout=2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ---- subscribers -------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, stream: Stream) -> Iterator[Subscription]:
        """A subscription to a ward's changes (or the outreach stream's, with None).

        Take the first snapshot (or `changes_since`) right after entering, before any
        `await`, so that nothing falls between it and the first queued change.
        """
        subscription = Subscription(stream, self._queue_size)
        self._subscribers.setdefault(stream, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(stream)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[stream]

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return sum(len(s) for s in self._subscribers.values())

    def changes_since(self, stream: Stream, seq: int) -> list[Change] | None:
        """Every change of `stream` after `seq`, or None when some are no longer kept."""
        current = self.board.seq(stream)
        if seq == current:
            return []
        if not 0 <= seq < current:
            return None
        history = self._history.get(stream)
        if not history or history[0].seq > seq + 1:
            return None
        return [change for change in history if change.seq > seq]

    def snapshot(self, stream: Stream) -> JSON:
        """The snapshot message of a stream: `{"type": "snapshot", "epoch", "seq", ...}`."""
        body = self.board.outreach_snapshot() if stream is None else self.board.snapshot(stream)
        return {"type": "snapshot", "epoch": self.epoch, **body}

    # ---- messages ----------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Change]:
        """Apply one message to the board and fan its changes out; never waits, never raises.

        The MQTT loop calls this for every message; tests and in-process pipelines may too.
        """
        before = self.board.last_rejection
        changes = self.board.apply(topic, payload)
        rejection = self.board.last_rejection
        if rejection is not None and rejection is not before:
            log.warning("ignored %s: %s (%s)", rejection.topic, rejection.code, rejection.reason)
        for change in changes:
            history = self._history.get(change.ward)
            if history is None:
                history = self._history[change.ward] = deque(maxlen=self._history_size)
            history.append(change)
            for subscriber in self._subscribers.get(change.ward, ()):
                subscriber.offer(change)
        return changes

    async def _run(self) -> None:
        """Connect, subscribe, read; after a drop wait (backoff with jitter) and again."""
        failures = 0
        while True:
            try:
                async with self._connect() as client:
                    self._client = client
                    for topic in self._topics:
                        await client.subscribe(topic, qos=1)
                    self.connected = True
                    failures = 0
                    log.info("wallboard feed subscribed on %s:%s", self.host, self.port)
                    async for message in client.messages:
                        payload = message.payload  # bytes from the network, typed wider
                        data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                        self.last_message_at = datetime.now(UTC)
                        self.handle(message.topic.value, data)
                        await asyncio.sleep(0)  # let subscribers send between messages
            except aiomqtt.MqttError as error:
                log.warning(
                    "wallboard feed: broker %s:%s unavailable: %s", self.host, self.port, error
                )
            finally:
                self.connected = False
                self._client = None
            failures += 1
            delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (failures - 1))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311  # jitter, not crypto
            self.reconnects += 1

    def _connect(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self._username,
            password=self._password,
            identifier=self._client_id,
            clean_session=False,  # alerts published while we are away are queued for us
            tls_context=ssl.create_default_context() if self._tls else None,
        )
