"""The broker side of the wallboard: subscribe, keep a `WardBoard`, fan changes out.

One MQTT connection feeds one `WardBoard`. Changes are coalesced per stream (a ward, or the
outreach stream) into frames at a bounded rate, latest view per bed or alert, each encoded
once and shared by every subscriber: 200 screens cost 200 sends of one frame, not 200
encodings of every change. Each websocket client holds a `Subscription` with its own bounded
queue of frames. The feed never waits for a subscriber: when a subscriber's queue is full its
pending frames are dropped and it is marked stale, and its next read says "send a fresh
snapshot" instead. A snapshot taken then covers everything up to the stream's current `seq`,
and every later frame is queued after it, so a slow client falls back to a snapshot but never
misses a change without knowing.

The session is persistent (`clean_session=False`), so alert events (not retained) published
while the connection is down are queued by the broker and delivered on reconnection; ADT and
score messages are retained, and `WardBoard` ignores what it already has. The scorer's retained
heartbeat tells whether the data is live: without it for `stale_after` seconds (or without the
broker) every screen is told the feed is stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import aiomqtt
import msgspec

from ingest import HEARTBEAT_TOPIC, AlertCommand, alert_action_topic, board_filters
from wallboard._state import JSON, AwareDatetime, Change, WardBoard, decode_reason

log = logging.getLogger(__name__)

REFUSED: Final = 0x80
"""SUBACK's failure code: the broker refused a subscription (NATS, beyond an identity's wards)."""
BACKOFF_FIRST = 0.25
BACKOFF_CAP = 10.0
"""Seconds to wait before the first reconnection, and at most before any later one."""

QUEUE_SIZE = 256
"""Frames a subscriber may have pending before it is switched to a fresh snapshot (at 25
frames a second, ten seconds behind)."""

FRAME_INTERVAL = 0.04
"""Seconds between two frames of one stream, at least: a screen gets at most 25 a second."""

STATUS_INTERVAL = 2.0
"""Seconds between status frames, which also move the board's clock (obs due, late)."""

STALE_AFTER = 30.0
"""Seconds without the scorer's heartbeat after which the live feed is called stale."""

"""Where the scorer says it is alive (retained; README extension of CONTRACT §1)."""

HISTORY = 1024
"""Recent changes kept per stream, for clients that reconnect with `?since=`."""

Stream = str | None
"""A ward's name, or None for the outreach stream."""


class Subscription:
    """One subscriber's bounded queue of encoded frames of one stream.

    Filled by the feed without waiting (`offer`); read by the subscriber (`next`). Frames are
    encoded once per stream and shared by every subscriber, so a subscriber costs one send
    per frame, not one encoding.
    """

    def __init__(self, stream: Stream, limit: int) -> None:
        self.stream = stream
        self._limit = limit
        self._pending: deque[str] = deque()
        self._stale = False
        self._ready = asyncio.Event()
        self.overflows = 0

    def offer(self, frame: str) -> None:
        """Queue `frame`; on overflow drop everything pending and mark the subscriber stale."""
        if self._stale:
            return
        if len(self._pending) >= self._limit:
            self._pending.clear()
            self._stale = True
            self.overflows += 1
        else:
            self._pending.append(frame)
        self._ready.set()

    def note(self, frame: str) -> None:
        """Queue a frame that carries no change (a status): never counts towards overflow,
        and is skipped by a subscriber already waiting for a snapshot."""
        if not self._stale:
            self._pending.append(frame)
            self._ready.set()

    async def next(self) -> list[str] | None:
        """Wait for frames; return them all, or None: "changes were dropped, send a snapshot".

        After None, take the snapshot before the next `await`: it then covers every change
        dropped, and the frames queued later all come after it.
        """
        await self._ready.wait()
        self._ready.clear()
        if self._stale:
            self._stale = False
            self._pending.clear()
            return None
        frames = list(self._pending)
        self._pending.clear()
        return frames


class BrokerFeed:
    """Subscribes to the wards' ADT, score and alert topics and keeps `board` up to date.

    Use as an async context manager: entering starts the connection loop in a task (it
    returns at once, connected or not), leaving stops it. While the broker is unreachable it
    retries with capped exponential backoff and jitter, forever; `connected` and
    `last_message_at` tell `/healthz` how it is going.

    Changes are coalesced per stream: at most one frame every `frame_interval` seconds, with
    the latest view of each bed (or alert) changed since the last frame, encoded once for all
    subscribers. Every `status_interval` seconds each subscriber also gets a status frame
    saying whether the live feed is stale, and the board's clock moves on (observations
    become due, late, missed).

    Attributes:
        board: the state built from the messages.
        epoch: a random id of this feed's numbering: `seq` values of another epoch (a
            restarted server) mean nothing here.
        connected: subscribed to the broker right now.
        last_message_at: when the latest message arrived (this server's clock), or None.
        last_heartbeat_at: the time in the scorer's latest heartbeat, or None.
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
        ca_file: str | None = None,
        prefix: str = "",
        client_id: str | None = None,
        wards: Sequence[str] = ("+",),
        queue_size: int = QUEUE_SIZE,
        history: int = HISTORY,
        frame_interval: float = FRAME_INTERVAL,
        status_interval: float = STATUS_INTERVAL,
        stale_after: float = STALE_AFTER,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Prepare, without connecting.

        Args:
            host: the broker's host name or address.
            port: its TCP port.
            username: user name, if the broker wants one.
            password: password, if the broker wants one (never logged).
            tls: connect over TLS, checking the broker's certificate.
            ca_file: with TLS, the PEM file of the authorities to trust (a hospital's
                private CA) instead of the system's.
            prefix: put verbatim before every topic, e.g. `"site1/"` (include the slash).
            client_id: MQTT client identifier. Give a stable one in production: the session
                is persistent, and a random identifier (the default) leaves a session on the
                broker after this process exits (without subscriptions when it exits
                cleanly).
            wards: the wards to subscribe to (`+`: every ward). A board server whose broker
                identity serves some wards only names them: NATS refuses a subscription beyond
                them (Mosquitto grants it and delivers only what the identity may read).
            queue_size: frames a subscriber may have pending before it gets a snapshot.
            history: recent changes kept per stream for `?since=`.
            frame_interval: seconds between two frames of one stream, at least.
            status_interval: seconds between status frames (and board clock ticks).
            stale_after: seconds without the scorer's heartbeat (or, before any heartbeat,
                without any message) after which the feed is called stale.
            clock: this server's clock (tests give their own).
        """
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._tls = tls
        self._ca_file = ca_file
        self._prefix = prefix
        self._client_id = client_id or f"wallboard-{uuid.uuid4().hex[:12]}"
        self._queue_size = queue_size
        self._history_size = history
        self._frame_interval = frame_interval
        self._status_interval = status_interval
        self._stale_after = stale_after
        self.clock = clock
        self._heartbeat_topic = f"{prefix}{HEARTBEAT_TOPIC}"
        self._topics = board_filters(prefix, wards)
        self.board = WardBoard(prefix=prefix)
        self.epoch = uuid.uuid4().hex[:12]
        self.connected = False
        self.last_message_at: datetime | None = None
        self.last_heartbeat_at: datetime | None = None
        self.scorer_problem: str | None = None  # from the latest heartbeat
        self.store_behind = 0  # records the scorer keeps in its spool (the store is down)
        self._connected_at: datetime | None = None
        self.reconnects = 0
        self._subscribers: dict[Stream, set[Subscription]] = {}
        self._history: dict[Stream, deque[Change]] = {}
        self._unsent: dict[Stream, dict[str, Change]] = {}
        self._flush_at: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._client: aiomqtt.Client | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        """Start the connection loop and the clock."""
        self.board.tick(self.clock())
        self._tasks = [
            asyncio.create_task(self._run(), name="wallboard-feed"),
            asyncio.create_task(self._ticking(), name="wallboard-clock"),
        ]
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
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # ---- subscribers -------------------------------------------------------------------

    @contextlib.contextmanager
    def subscribe(self, stream: Stream) -> Iterator[Subscription]:
        """A subscription to a ward's changes (or the outreach stream's, with None).

        Take the first snapshot (or `changes_since`) right after entering, before any
        `await`, so that nothing falls between it and the first queued frame.
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
        return {
            "type": "snapshot",
            "epoch": self.epoch,
            "server_time": self.clock(),
            **body,
            "feed": self.feed_state(),
        }

    def frame(self, stream: Stream, changes: list[Change]) -> JSON:
        """A changes message: the latest view of each bed (or alert) among `changes`."""
        latest = {change.key: change for change in changes}
        items = [change.data for change in sorted(latest.values(), key=lambda c: c.seq)]
        message: JSON = {"type": "changes", "seq": changes[-1].seq, "server_time": self.clock()}
        if stream is None:
            message["alerts"] = items
        else:
            message |= {"ward": stream, "beds": items}
        return message

    def feed_state(self) -> JSON:
        """Whether the live data can be trusted: connected, and heard from lately."""
        now = self.clock()
        reason = None
        if not self.connected:
            reason = "not connected to the broker"
        elif self.last_heartbeat_at is not None:
            quiet = (now - self.last_heartbeat_at).total_seconds()
            if quiet > self._stale_after:
                reason = f"no heartbeat from the scorer for {quiet:.0f} s"
            elif self.scorer_problem is not None:
                reason = f"the scorer says it is {self.scorer_problem}"
        else:
            since = self.last_message_at or self._connected_at
            quiet = (now - since).total_seconds() if since is not None else 0.0
            if quiet > self._stale_after:
                reason = f"no message from the broker for {quiet:.0f} s"
        return {
            "connected": self.connected,
            "last_message_at": self.last_message_at,
            "last_heartbeat_at": self.last_heartbeat_at,
            "stale": reason is not None,
            "reason": reason,
            "store_behind": self.store_behind > 0,
            "spooled_records": self.store_behind,
        }

    # ---- alert actions -----------------------------------------------------------------

    async def publish_action(
        self,
        ward: str,
        alert_id: str,
        action: str,
        command: AlertCommand,
        *,
        timeout: float = 5.0,
    ) -> None:
        """Send a person's action on an alert to the scorer (QoS 1; returns once the broker
        has it). Raises `ConnectionError` when the broker cannot be reached."""
        client = self._client
        if client is None or not self.connected:
            msg = "not connected to the broker"
            raise ConnectionError(msg)
        topic = alert_action_topic(self._prefix, ward, alert_id, action)
        try:
            await client.publish(topic, _ENCODE(command), qos=1, timeout=timeout)
        except (aiomqtt.MqttError, TimeoutError) as error:
            raise ConnectionError(str(error) or type(error).__name__) from error

    # ---- messages ----------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Change]:
        """Apply one message to the board and queue its changes; never waits, never raises.

        The MQTT loop calls this for every message; tests and in-process pipelines may too.
        """
        if topic == self._heartbeat_topic:
            self._heartbeat(payload)
            return []
        before = self.board.last_rejection
        changes = self.board.apply(topic, payload)
        rejection = self.board.last_rejection
        if rejection is not None and rejection is not before:
            log.warning("ignored %s: %s (%s)", rejection.topic, rejection.code, rejection.reason)
        self._queue(changes)
        return changes

    def tick(self) -> list[Change]:
        """Move the board's clock to now, queue what that changed, and send every subscriber
        a status frame."""
        changes = self.board.tick(self.clock())
        self._queue(changes)
        status = _ENCODE(
            {"type": "status", "server_time": self.clock(), "feed": self.feed_state()}
        ).decode()
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.note(status)
        return changes

    def _heartbeat(self, payload: bytes) -> None:
        try:
            beat = _HEARTBEAT.decode(payload)
        except msgspec.DecodeError as error:
            log.warning("ignored a heartbeat: %s", decode_reason(error))
            return
        if self.last_heartbeat_at is None or beat.time > self.last_heartbeat_at:
            self.last_heartbeat_at = beat.time
            self.scorer_problem = None if beat.healthy else (beat.problem or "unhealthy")
            self.store_behind = beat.spooled_records if beat.store_behind else 0

    def _queue(self, changes: list[Change]) -> None:
        if not changes:
            return
        for change in changes:
            history = self._history.get(change.ward)
            if history is None:
                history = self._history[change.ward] = deque(maxlen=self._history_size)
            history.append(change)
            if change.ward in self._subscribers:
                self._unsent.setdefault(change.ward, {})[change.key] = change
        if self._unsent and self._flush_at is None:
            loop = asyncio.get_running_loop()
            wait = self._last_flush + self._frame_interval - loop.time()
            self._flush_at = loop.call_later(max(0.0, wait), self._flush)

    def _flush(self) -> None:
        """Send each stream's coalesced frame to its subscribers (encoded once)."""
        self._flush_at = None
        self._last_flush = asyncio.get_running_loop().time()
        unsent, self._unsent = self._unsent, {}
        for stream, latest in unsent.items():
            subscribers = self._subscribers.get(stream)
            if not subscribers:
                continue
            changes = sorted(latest.values(), key=lambda c: c.seq)
            frame = _ENCODE(self.frame(stream, changes)).decode()
            for subscriber in subscribers:
                subscriber.offer(frame)

    async def _ticking(self) -> None:
        while True:
            await asyncio.sleep(self._status_interval)
            self.tick()

    async def _run(self) -> None:
        """Connect, subscribe, read; after a drop wait (backoff with jitter) and again."""
        failures = 0
        while True:
            try:
                async with self._connect() as client:
                    self._client = client
                    for topic in self._topics:
                        granted = await client.subscribe(topic, qos=1)
                        if any(getattr(code, "value", code) == REFUSED for code in granted):
                            log.warning(
                                "the broker refused the subscription %s: this board will not "
                                "show it (are [broker] wallboard_wards its identity's wards?)",
                                topic,
                            )
                    self.connected = True
                    self._connected_at = self.clock()
                    failures = 0
                    log.info("wallboard feed subscribed on %s:%s", self.host, self.port)
                    async for message in client.messages:
                        payload = message.payload  # bytes from the network, typed wider
                        data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                        self.last_message_at = self.clock()
                        self.handle(message.topic.value, data)
                        await asyncio.sleep(0)  # let subscribers send between messages
            except aiomqtt.MqttError as error:
                log.warning(
                    "wallboard feed: broker %s:%s unavailable: %s", self.host, self.port, error
                )
            finally:
                if self.connected:
                    self.connected = False
                    self.tick()  # tell every screen at once, not at the next status
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
            tls_context=ssl.create_default_context(cafile=self._ca_file) if self._tls else None,
        )


class _Heartbeat(msgspec.Struct):
    time: AwareDatetime
    healthy: bool = True
    problem: str | None = None
    store_behind: bool = False
    spooled_records: int = 0


_HEARTBEAT = msgspec.json.Decoder(_Heartbeat)
_ENCODE = msgspec.json.Encoder().encode
