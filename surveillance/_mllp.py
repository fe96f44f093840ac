"""`surveillance mllp`: HL7 v2 over MLLP in, published to the broker, each message answered.

A thin adapter around the pure parts in `ingest` (`Framer`, `translate`, `ack`):

- `Journal`: SQLite on the listener's disk (`synchronous=FULL`, so a commit is on the disk):
  each accepted message (control id, digest, topic, whether published), each refusal, and where
  this listener last placed each patient (for A08). Written before the message is published.
- `Publisher`: one MQTT connection, reconnecting in the background; `publish` sends with QoS 1
  and returns once the broker's PUBACK has come, or raises `PublishError`.
- `MllpListener`: the TCP server. One message at a time per connection (MLLP is synchronous:
  a message, then its answer), any number of connections up to `max_connections`.

The answer: AA once the message is in the journal and the broker has acknowledged it (a repeat
of an accepted control id with the same content: AA again, not published twice); AR when the
message cannot be taken as it is (the reason in MSA-3 and ERR-8, the message dead-lettered on
`surveillance/deadletter` and kept in the journal); AE when the broker or the journal failed
("send it again"; nothing dead-lettered: the sender keeps it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiomqtt
import msgspec

from ingest import (
    DEAD_LETTER_TOPIC,
    AckCode,
    Broken,
    BrokerURL,
    Forward,
    Frame,
    Framer,
    Header,
    Junk,
    LocationMap,
    Oversize,
    Refusal,
    Rejected,
    ack,
    failure_site,
    frame,
    leaving,
    peek_header,
    translate,
)
from surveillance._settings import Settings

log = logging.getLogger("surveillance.mllp")

DEAD_LETTERS_PER_MINUTE: Final = 120
"""Dead letters this listener publishes a minute at most; beyond that a refusal is answered,
kept in the journal and counted, not published (a hostile sender cannot flood the topic)."""

JOURNAL_REASON_MAX: Final = 2000
"""Characters of a refusal's reason kept in the journal: a reason may quote the input (a
PV1-3 of 200 KB), and every refusal is journaled, flood-limited or not."""

READ_CHUNK: Final = 65536
PRUNE_EVERY: Final = 3600.0
"""Seconds between prunings of the journal (`mllp.journal_days`); also once at start."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS accepted (
    control_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    received TEXT NOT NULL,
    topic TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 0,
    note TEXT
);
CREATE TABLE IF NOT EXISTS refused (
    received TEXT NOT NULL,
    control_id TEXT,
    error TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT
);
CREATE TABLE IF NOT EXISTS placements (
    patient_id TEXT PRIMARY KEY,
    ward TEXT NOT NULL,
    bed TEXT NOT NULL,
    time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS placements_bed ON placements (ward, bed);
"""


class PublishError(Exception):
    """The broker did not acknowledge a message (down, cut off, or too slow)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """An accepted control id, as the journal has it."""

    digest: str
    published: bool
    note: str | None


class Journal:
    """The listener's SQLite journal (one connection, used from one thread at a time)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = asyncio.Lock()

    def close(self) -> None:
        self._db.close()

    async def _run(self, fn: Callable[[], Any]) -> Any:
        async with self._lock:
            return await asyncio.to_thread(fn)

    async def seen(self, control_id: str) -> Seen | None:
        def read() -> Seen | None:
            row = self._db.execute(
                "SELECT digest, published, note FROM accepted WHERE control_id = ?",
                (control_id,),
            ).fetchone()
            return None if row is None else Seen(row[0], bool(row[1]), row[2])

        result: Seen | None = await self._run(read)
        return result

    async def accept(
        self, control_id: str, digest: str, received: datetime, topic: str, note: str | None
    ) -> None:
        """The message, before it is published (`note`: accepted but nothing to publish)."""

        def write() -> None:
            # A control id not yet published (AE before) may come back with other content.
            self._db.execute(
                "INSERT INTO accepted (control_id, digest, received, topic, published, note)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (control_id) DO UPDATE SET"
                " digest = excluded.digest, received = excluded.received, topic = excluded.topic,"
                " published = excluded.published, note = excluded.note WHERE published = 0",
                (control_id, digest, received.isoformat(), topic, int(note is not None), note),
            )

        await self._run(write)

    async def published(self, forward: Forward, when: datetime) -> None:
        """The broker has it: marked, and the patient's placement as it now stands here."""

        def write() -> None:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "UPDATE accepted SET published = 1 WHERE control_id = ?", (forward.msg_id,)
                )
                place = forward.place
                if forward.placement in ("placed", "update"):
                    # One patient to a bed: whoever this listener had placed there is no longer
                    # (the scorer discharges them, "bed reassigned"), so their A08 must not
                    # put them back.
                    db.execute(
                        "DELETE FROM placements WHERE ward = ? AND bed = ? AND patient_id != ?",
                        (place.ward, place.bed, forward.patient_id),
                    )
                    db.execute(
                        "INSERT INTO placements (patient_id, ward, bed, time) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (patient_id) DO UPDATE SET ward = excluded.ward,"
                        " bed = excluded.bed, time = excluded.time",
                        (forward.patient_id, place.ward, place.bed, when.isoformat()),
                    )
                elif forward.placement == "left":
                    db.execute(
                        "DELETE FROM placements WHERE patient_id = ? AND ward = ? AND bed = ?",
                        (forward.patient_id, place.ward, place.bed),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(write)

    async def placement(self, patient_id: str) -> tuple[str, str] | None:
        def read() -> tuple[str, str] | None:
            row = self._db.execute(
                "SELECT ward, bed FROM placements WHERE patient_id = ?", (patient_id,)
            ).fetchone()
            return None if row is None else (row[0], row[1])

        result: tuple[str, str] | None = await self._run(read)
        return result

    async def refused(self, received: datetime, rejected: Rejected, size: int) -> None:
        def write() -> None:
            self._db.execute(
                "INSERT INTO refused (received, control_id, error, reason, size, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    received.isoformat(),
                    rejected.msg_id,
                    rejected.error,
                    rejected.reason[:JOURNAL_REASON_MAX],
                    size,
                    hashlib.sha256(rejected.payload).hexdigest(),
                ),
            )

        await self._run(write)

    async def prune(self, before: datetime) -> None:
        """Forget accepted ids and refusals received before `before` (placements are kept)."""

        def write() -> None:
            stamp = before.isoformat()
            self._db.execute("DELETE FROM accepted WHERE received < ?", (stamp,))
            self._db.execute("DELETE FROM refused WHERE received < ?", (stamp,))

        await self._run(write)


class Publisher:
    """One MQTT connection for the listener, reconnecting in the background."""

    def __init__(self, broker: BrokerURL, *, client_id: str, timeout: float) -> None:
        self.broker = broker
        self.client_id = client_id
        self.timeout = timeout
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.last_error: str | None = None

    async def __aenter__(self) -> Publisher:
        self._task = asyncio.create_task(self._keep(), name="mllp-broker")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _keep(self) -> None:
        delay = 0.5
        while True:
            broker = self.broker
            client = aiomqtt.Client(
                broker.host,
                broker.port,
                username=broker.username,
                password=broker.password,
                identifier=self.client_id,
                clean_session=True,
                keepalive=30,
                tls_context=broker.tls_context(),
                timeout=self.timeout,
            )
            try:
                async with client:
                    self._client = client
                    self.connected.set()
                    self.last_error = None
                    delay = 0.5
                    log.info("connected to %s", broker)
                    # No subscription: the iterator only ends, with MqttError, when the
                    # connection is lost.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
                log.warning("broker %s: %s; reconnecting in %.1f s", broker, exc, delay)
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """QoS 1; returns once the broker has acknowledged it.

        Raises:
            PublishError: not connected, the connection lost, or no PUBACK in `timeout`.
        """
        client = self._client
        if client is None or not self.connected.is_set():
            why = self.last_error or "not connected yet"
            raise PublishError(f"the broker is not reachable ({why})")
        try:
            async with asyncio.timeout(self.timeout):
                await client.publish(topic, payload, qos=1, retain=retain, timeout=self.timeout)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            raise PublishError(f"the broker did not acknowledge the message ({exc})") from None


@dataclass
class Counters:
    """What the listener has done since it started."""

    connections: int = 0
    refused_connections: int = 0
    accepted: int = 0
    repeats: int = 0
    refused: int = 0
    errors: int = 0
    junk_bytes: int = 0
    broken_frames: int = 0
    partial_frames: int = 0
    idle_closed: int = 0
    slow_closed: int = 0
    dead_letters_not_published: int = 0
    answers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    code: AckCode
    text: str
    error: str | None = None


class MllpListener:
    """The MLLP server: `async with MllpListener(settings) as listener: ... listener.port`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.config = settings.mllp
        self.locations: LocationMap = settings.mllp.location_map()
        self._peers = settings.mllp.peers()
        self.tz = settings.online().tz
        self.prefix = settings.broker.prefix
        self.max_skew = timedelta(seconds=settings.scorer.max_skew)
        self.max_age = timedelta(seconds=settings.scorer.max_age)
        self._clock = clock
        self.counters = Counters()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._journal: Journal | None = None
        self._publisher: Publisher | None = None
        self._dead_window = (0.0, 0)
        self._pruned = time.monotonic()  # start (monotonic) and dead letters published in it
        self.port = 0

    async def __aenter__(self) -> MllpListener:
        config = self.config
        self._stack = contextlib.AsyncExitStack()
        await self._stack.__aenter__()
        try:
            journal = Journal(self.settings.mllp_journal_path())
            self._stack.callback(journal.close)
            await journal.prune(self._clock() - timedelta(days=config.journal_days))
            self._journal = journal
            client_id = config.client_id or f"{self.settings.broker.client_id}-mllp"
            self._publisher = await self._stack.enter_async_context(
                Publisher(
                    self.settings.mllp_broker_url(),
                    client_id=client_id,
                    timeout=config.publish_timeout,
                )
            )
            self._server = await asyncio.start_server(
                self._connection, config.host, config.port, limit=READ_CHUNK
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException:
            await self._stack.aclose()
            raise
        log.info(
            "MLLP listener on %s:%d (%d locations mapped, frames up to %d bytes)",
            config.host,
            self.port,
            len(self.locations),
            config.max_frame_bytes,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        # Each connection is closed under its reader, which then ends its task as a peer's
        # close would (the message in hand, if any, is finished and answered first); only a
        # task still running after that is cancelled (its handler returns quietly).
        for writer in list(self._connections.values()):
            writer.transport.close()
        if self._connections:
            tasks = list(self._connections)
            _, late = await asyncio.wait(tasks, timeout=self.config.publish_timeout + 1)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await self._stack.aclose()

    @property
    def broker_connected(self) -> bool:
        return self._publisher is not None and self._publisher.connected.is_set()

    async def wait_broker(self) -> None:
        """Until the listener's broker connection is up."""
        assert self._publisher is not None  # noqa: S101 - inside the block
        await self._publisher.connected.wait()

    # -- connections -------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - start_server runs each client in a task
        counters = self.counters
        if len(self._connections) >= self.config.max_connections:
            counters.refused_connections += 1
            log.warning(
                "MLLP: connection refused: already %d open (mllp.max_connections)",
                len(self._connections),
            )
            writer.close()
            return
        if not self._allowed(writer):
            counters.refused_connections += 1
            writer.close()
            return
        self._connections[task] = writer
        counters.connections += 1
        framer = Framer(self.config.max_frame_bytes)
        idle, whole = self.config.idle_timeout, self.config.frame_timeout
        begun: float | None = None  # when the frame under way began (monotonic)
        # The last frame (or the connection's start): bytes outside a frame are not activity,
        # or a byte every few minutes would hold a connection (and max_connections) for ever.
        active = time.monotonic()
        try:
            while True:
                tick = time.monotonic()
                wait = active + idle - tick if begun is None else min(idle, begun + whole - tick)
                try:
                    async with asyncio.timeout(max(wait, 0)):
                        data = await reader.read(READ_CHUNK)
                except TimeoutError:
                    if begun is not None and time.monotonic() >= begun + whole:
                        counters.slow_closed += 1
                        log.warning(
                            "MLLP: a frame not finished in %.0f s (mllp.frame_timeout, %d bytes "
                            "so far): the connection is closed, nothing answered",
                            whole,
                            framer.pending,
                        )
                    else:
                        counters.idle_closed += 1
                        log.info("MLLP: a connection idle for %.0f s closed", idle)
                    break
                if not data:
                    if framer.pending:
                        counters.partial_frames += 1
                        log.warning(
                            "MLLP: the peer closed the connection in the middle of a frame "
                            "(%d bytes, no end): not a message, nothing answered",
                            framer.pending,
                        )
                    break
                events = framer.feed(data)
                if framer.pending or any(not isinstance(e, Junk) for e in events):
                    active = time.monotonic()
                if not framer.pending:
                    begun = None
                elif begun is None or any(not isinstance(e, Junk) for e in events):
                    begun = time.monotonic()  # a new frame began in this chunk
                for event in events:
                    answer = await self._event(event)
                    if answer is not None:
                        writer.write(frame(answer))
                        async with asyncio.timeout(idle):
                            await writer.drain()
        except (ConnectionError, TimeoutError) as exc:
            log.info("MLLP: connection ended: %s", type(exc).__name__)
        except asyncio.CancelledError:
            # The listener is stopping. Ending cancelled would make Python 3.11's stream
            # protocol log the CancelledError as an error ("Exception in callback").
            log.info("MLLP: connection closed: the listener is stopping")
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(5):
                    await writer.wait_closed()

    def _allowed(self, writer: asyncio.StreamWriter) -> bool:
        """Whether the peer's address is in `mllp.allowed_peers` (logged when not)."""
        peer = writer.get_extra_info("peername")
        try:
            address = ipaddress.ip_address(peer[0].split("%", 1)[0])
        except (TypeError, ValueError, IndexError):
            address = None
        if address is not None and isinstance(address, ipaddress.IPv6Address):
            address = address.ipv4_mapped or address
        if address is not None and any(address in net for net in self._peers):
            return True
        log.warning("MLLP: a connection from %s refused: not in mllp.allowed_peers", address or "?")
        return False

    async def _event(self, event: Frame | Oversize | Broken | Junk) -> bytes | None:
        counters = self.counters
        if isinstance(event, Junk):
            counters.junk_bytes += event.size
            log.warning("MLLP: %d bytes outside a frame discarded", event.size)
            return None
        if isinstance(event, Broken):
            counters.broken_frames += 1
            log.warning(
                "MLLP: a frame of %d bytes was cut off by the start of another: not a "
                "message, nothing answered (its sender sends it again)",
                event.size,
            )
            return None
        now = self._clock()
        if isinstance(event, Oversize):
            header = peek_header(event.head)
            limit = self.config.max_frame_bytes
            reason = (
                f"the message is {event.size} bytes, over the limit of {limit} bytes "
                "(mllp.max_frame_bytes): it was not read"
            )
            refusal = Refusal("oversize", reason, header.control_id if header else None)
            answer = await self._refuse(refusal, event.head, event.size, now)
            return self._ack(header, answer, now)
        header = peek_header(event.payload)
        try:
            answer = await self._message(event.payload, now)
        except Exception as exc:  # one message can never stop the listener
            # Where, never the message (it may quote the input); the input is dead-lettered
            # and answered AR, so a message that trips a bug is not sent again forever.
            log.error("MLLP: handling a message failed: %s", failure_site(exc))
            counters.errors += 1
            refusal = Refusal(
                "internal",
                f"the listener could not handle the message ({type(exc).__name__}); it is "
                "kept as a dead letter",
                header.control_id if header else None,
            )
            answer = await self._refuse(refusal, event.payload, len(event.payload), now)
        return self._ack(header, answer, now)

    def _ack(self, header: Header | None, answer: Answer, now: datetime) -> bytes:
        counts = self.counters.answers
        counts[answer.code] = counts.get(answer.code, 0) + 1
        control_id = f"ACK{uuid.uuid4().hex[:17]}"
        return ack(
            header,
            answer.code,
            answer.text,
            control_id=control_id,
            now=now.astimezone(self.tz),
            error=answer.error,
        )

    # -- one message ---------------------------------------------------------------------------

    async def _message(self, payload: bytes, now: datetime) -> Answer:
        assert self._journal is not None and self._publisher is not None  # noqa: S101, PT018
        journal, counters = self._journal, self.counters
        if time.monotonic() - self._pruned >= PRUNE_EVERY:
            self._pruned = time.monotonic()
            with contextlib.suppress(sqlite3.Error):
                await journal.prune(now - timedelta(days=self.config.journal_days))
        try:
            forward = translate(
                payload,
                self.locations,
                tz=self.tz,
                prefix=self.prefix,
                not_after=now + self.max_skew,
            )
        except Refusal as refused:
            return await self._refuse(refused, payload, len(payload), now)
        digest = hashlib.sha256(forward.topic.encode() + b"\n" + forward.payload).hexdigest()
        try:
            seen = await journal.seen(forward.msg_id)
        except sqlite3.Error as exc:
            return self._error(f"the listener's journal failed ({exc})")
        if seen is not None and seen.published and seen.digest != digest:
            refusal = Refusal(
                "conflict",
                f"message control id {forward.msg_id!r} was accepted before with other "
                "content; a new message needs a new MSH-10",
                forward.msg_id,
            )
            return await self._refuse(refusal, payload, len(payload), now)
        if seen is not None and seen.published:
            counters.repeats += 1
            said = f" ({seen.note})" if seen.note else ""
            return Answer("AA", f"a repeat of a message already accepted{said}; not sent again")
        # After the repeat check: a message already accepted stays accepted, however late
        # its sender sends it again (it never had the ACK).
        if (late := self._out_of_time(forward, now)) is not None:
            return await self._refuse(late, payload, len(payload), now)
        note: str | None = None
        away = forward.placement == "away"
        if away:  # a transfer out of the watched wards
            try:
                where = await journal.placement(forward.patient_id)
            except sqlite3.Error as exc:
                return self._error(f"the listener's journal failed ({exc})")
            if where is None:
                refusal = Refusal(
                    "placement",
                    f"HL7 ADT^{forward.trigger} moves patient {forward.patient_id} to a "
                    "location not in the map ([[mllp.locations]]), and they are in no bed by "
                    "the ADT this listener has passed on: nothing to move",
                    forward.msg_id,
                )
                return await self._refuse(refusal, payload, len(payload), now)
            try:
                forward = leaving(forward, *where, self.locations, prefix=self.prefix, tz=self.tz)
            except Refusal as refused:
                return await self._refuse(refused, payload, len(payload), now)
            log.info("MLLP: a transfer out of the mapped wards, published as a discharge")
        if forward.placement == "update":
            try:
                where = await journal.placement(forward.patient_id)
            except sqlite3.Error as exc:
                return self._error(f"the listener's journal failed ({exc})")
            place = (forward.place.ward, forward.place.bed)
            if where is None:
                note = (
                    f"no bed to update: patient {forward.patient_id} is not in a bed by the "
                    "ADT this listener has passed on"
                )
            elif where != place:
                refusal = Refusal(
                    "placement",
                    f"HL7 ADT^A08 places patient {forward.patient_id} in {place[0]}/{place[1]}, "
                    f"but they are in {where[0]}/{where[1]}: an update does not move a patient "
                    "(send A02)",
                    forward.msg_id,
                )
                return await self._refuse(refusal, payload, len(payload), now)
        try:
            await journal.accept(forward.msg_id, digest, now, forward.topic, note)
        except sqlite3.Error as exc:
            return self._error(f"the listener's journal failed ({exc})")
        if note is not None:
            counters.accepted += 1
            log.info("MLLP: an ADT^A08 accepted, nothing to publish")
            return Answer("AA", f"accepted; {note}")
        try:
            await self._publisher.publish(forward.topic, forward.payload, retain=forward.retain)
        except PublishError as exc:
            return self._error(f"{exc}; not accepted, send it again")
        try:
            await journal.published(forward, now)
        except sqlite3.Error as exc:  # published: a repeat is published again, harmlessly
            log.error("MLLP: journal: %s", failure_site(exc))
        counters.accepted += 1
        what = f"ADT^{forward.trigger}" if forward.kind == "adt" else "ORU^R01"
        if away:
            what += " out of the mapped wards, as a discharge"
        return Answer(
            "AA", f"accepted: {what} for {forward.place.ward}/{forward.place.bed}, published"
        )

    def _out_of_time(self, forward: Forward, now: datetime) -> Refusal | None:
        """`time` when an ADT message's time is outside the scorer's bounds (`max_skew` ahead,
        `max_age` behind): refused now rather than dead-lettered by the scorer after an AA."""
        when = forward.time
        if when is None:
            return None
        if when > now + self.max_skew:
            why = f"more than {self.max_skew.total_seconds():g} s ahead of this listener's clock"
        elif when < now - self.max_age:
            why = f"more than {self.max_age.total_seconds():g} s old (scorer.max_age)"
        else:
            return None
        msg = f"HL7 ADT^{forward.trigger}: its time {when.isoformat()} (EVN-2 or MSH-7) is {why}"
        return Refusal("time", msg, forward.msg_id)

    def _error(self, text: str) -> Answer:
        self.counters.errors += 1
        log.warning("MLLP: answered AE: %s", text)
        return Answer("AE", text)

    async def _refuse(self, refusal: Refusal, payload: bytes, size: int, now: datetime) -> Answer:
        """AR: kept in the journal, dead-lettered (flood-limited), answered with the reason."""
        self.counters.refused += 1
        rejected = Rejected("mllp", payload, refusal.error, refusal.reason, refusal.msg_id)
        log.warning("MLLP: refused a message (%s)", refusal.error)
        try:
            assert self._journal is not None  # noqa: S101 - inside the block
            await self._journal.refused(now, rejected, size)
        except sqlite3.Error as exc:
            log.error("MLLP: journal: %s", failure_site(exc))
        await self._dead_letter(rejected, size, now)
        return Answer("AR", refusal.reason, refusal.error)

    async def _dead_letter(self, rejected: Rejected, size: int, now: datetime) -> None:
        start, count = self._dead_window
        tick = time.monotonic()
        if tick - start >= 60:
            start, count = tick, 0
        if count >= DEAD_LETTERS_PER_MINUTE:
            self.counters.dead_letters_not_published += 1
            return
        self._dead_window = (start, count + 1)
        letter = rejected.dead_letter(now)
        if size != len(rejected.payload):  # only the head of an oversize frame was kept
            letter = msgspec.structs.replace(letter, size=size, sha256=None, truncated=True)
        assert self._publisher is not None  # noqa: S101 - inside the block
        try:
            await self._publisher.publish(
                self.prefix + DEAD_LETTER_TOPIC, msgspec.json.encode(letter), retain=False
            )
        except PublishError as exc:
            self.counters.dead_letters_not_published += 1
            log.warning("MLLP: dead letter not published: %s (kept in the journal)", exc)


@contextlib.asynccontextmanager
async def mllp_listener(settings: Settings) -> AsyncIterator[MllpListener]:
    """The listener, from the settings, for the length of the block."""
    async with MllpListener(settings) as listener:
        yield listener


async def run_mllp(settings: Settings, stop: asyncio.Event) -> int:
    """The listener until `stop` is set; the exit status."""
    async with mllp_listener(settings):
        await stop.wait()
        log.info("stopping")
    return 0
