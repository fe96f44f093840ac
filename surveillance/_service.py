"""The live service: broker → ingest → online scorer → broker and store; and the wallboard.

One task reads input in batches (whatever has arrived), parses each message, scores the
batch, publishes what it produced and hands the records to the buffered store writer; the
writer acknowledges the inputs to the broker once their records are committed (and what they
produced is published). A second task ticks once a second for silent device feeds. On start
the scorer resumes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from ingest import parse
from ingest._broker import BrokerLink
from scoring import ChartSet
from surveillance._alerts import Output, Publication
from surveillance._online import AKI_LOOKBACK, Arrival, OnlineScorer
from surveillance._settings import Settings
from surveillance.store import BufferedWriter, open_store
from wallboard import HEARTBEAT_TOPIC

log = logging.getLogger(__name__)

TICK = 1.0
"""Seconds between checks for silent device feeds."""
HEARTBEAT_TICKS = 5
"""Ticks between two heartbeats (README, "Heartbeat")."""
STOP_GRACE = 15.0
"""Seconds a stopping service waits for the batch in hand to be published."""


@dataclass(slots=True)
class Counters:
    """What the service has done since it started (for `/healthz` and the log)."""

    received: int = 0
    scored: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    alerts: int = 0


class Service:
    """The scorer service, for `surveillance run` and `surveillance demo`.

    Use: `await Service(settings, charts).run()`, until `stop` is set; `started` is set once it
    has resumed its state from the store and is subscribed to the input topics.
    """

    def __init__(
        self,
        settings: Settings,
        charts: ChartSet,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.charts = charts
        self.clock = clock
        self.scorer = OnlineScorer(charts, settings.online())
        self.counters = Counters()
        self.started = asyncio.Event()
        self.stop = asyncio.Event()
        self.link = BrokerLink(
            settings.broker_url(),
            client_id=settings.broker.client_id,
            prefix=settings.broker.prefix,
            keepalive=settings.broker.keepalive,
            clock=clock,
        )
        self._writer: BufferedWriter | None = None
        self._busy = False

    def health(self) -> dict[str, Any]:
        """The state of the broker and store connections, and the counters."""
        writer = self._writer
        return {
            "scorer": {
                "broker_connected": self.link.connected,
                "broker_error": self.link.last_error,
                "outbox": self.link.outbox,
                "store_ok": writer is not None and writer.last_error is None,
                "store_error": None if writer is None else _text(writer.last_error),
                "store_pending": 0 if writer is None else writer.pending,
                "patients": self.scorer.patients,
                **{name: getattr(self.counters, name) for name in Counters.__slots__},
            }
        }

    @property
    def healthy(self) -> bool:
        """Connected to the broker and writing to the store."""
        writer = self._writer
        return self.link.connected and writer is not None and writer.last_error is None

    async def run(self) -> None:
        """Run until `stop` is set; then finish the batch in hand, flush the store and return."""
        settings = self.settings
        async with open_store(settings.store_url()) as store:
            since = self.clock() - timedelta(seconds=settings.scorer.dedupe_window)
            state = await store.load_state(since, labs_since=self.clock() - AKI_LOOKBACK)
            self.scorer.restore(state)
            log.info(
                "resumed: %d bed(s) occupied, %d open alert(s), %d recent message id(s)",
                len(state.placements),
                len(state.open_alerts),
                len(state.recent_msg_ids),
            )
            writer = BufferedWriter(
                store,
                max_records=settings.store.flush_records,
                max_delay=settings.store.flush_interval,
                on_commit=self.link.ack,
            )
            async with writer, self.link:
                self._writer = writer
                consume: asyncio.Task[Any] = asyncio.create_task(self._consume(writer))
                tick: asyncio.Task[Any] = asyncio.create_task(self._tick(writer))
                stopping: asyncio.Task[Any] = asyncio.create_task(self.stop.wait())
                connected = asyncio.create_task(self.link.wait_connected())
                await asyncio.wait(
                    {connected, stopping, consume}, return_when=asyncio.FIRST_COMPLETED
                )
                if connected.done():
                    self.started.set()
                connected.cancel()
                done, _ = await asyncio.wait(
                    {consume, tick, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                if self._busy:  # let the batch in hand finish: its results get published
                    await asyncio.wait({consume}, timeout=STOP_GRACE)
                for task in (consume, tick, stopping):
                    task.cancel()
                for task in (consume, tick, stopping):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                for task in done:  # a crash of consume or tick is not a stop: raise it
                    if task is not stopping and not task.cancelled() and task.exception():
                        raise task.exception()  # type: ignore[misc]
            log.info("stopped; every record flushed to the store")

    async def _consume(self, writer: BufferedWriter) -> None:
        prefix, tz = self.settings.broker.prefix, self.settings.online().tz
        async for batch in self.link.batches():
            self._busy = True
            try:
                arrivals = [
                    Arrival(
                        parse(r.topic, r.payload, prefix=prefix, tz=tz),
                        r.topic,
                        r.payload,
                        r.received,
                    )
                    for r in batch
                ]
                out = self.scorer.handle(arrivals)
                self.counters.received += len(batch)
                await self._emit(out, writer, tokens=[r.token for r in batch])
            finally:
                self._busy = False
            if self.stop.is_set():
                return

    async def _tick(self, writer: BufferedWriter) -> None:
        beat = 0
        while True:
            await asyncio.sleep(TICK)
            now = self.clock()
            out = self.scorer.tick(now)
            beat += 1
            if beat >= HEARTBEAT_TICKS:
                beat = 0
                out.publications.append(self._heartbeat(now))
            await self._emit(out, writer, tokens=[])

    def _heartbeat(self, now: datetime) -> Publication:
        """`surveillance/heartbeat`, retained: wallboards call the feed stale without it."""
        body = {
            "time": now,
            "service": self.settings.broker.client_id,
            "healthy": self.healthy,
            "patients": self.scorer.patients,
        }
        topic = f"{self.settings.broker.prefix}{HEARTBEAT_TOPIC}"
        return Publication(topic, msgspec.json.encode(body), retain=True)

    async def _emit(self, out: Output, writer: BufferedWriter, tokens: list[object]) -> None:
        counters = self.counters
        counters.scored += len(out.batch.scores)
        counters.dead_letters += out.dead_letters
        counters.duplicates += out.duplicates
        counters.alerts += len(out.batch.alerts)
        # Stored first: whatever happens to the connection, the records are in the writer's
        # buffer; the inputs are acknowledged only once they are committed and published.
        await writer.put(out.batch, tokens)
        if out.publications:
            await self.link.publish([(p.topic, p.payload, p.retain) for p in out.publications])


def _text(error: object) -> str | None:
    return None if error is None else str(error)
