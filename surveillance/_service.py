"""The live service: broker → ingest → online scorer → broker and store; and the wallboard.

One task reads input in batches (whatever has arrived), parses each message, scores the
batch, publishes what it produced and hands the records to the buffered store writer; the
writer acknowledges the inputs to the broker once their records are committed (and what they
produced is published). A second task ticks once a second for silent device feeds. On start
the scorer resumes from the store.

Degraded, not blind (issue 12): the service starts and waits, with backoff and a log line
saying why, while the store or the broker is down; during a store outage its records go to a
local spool (`surveillance.store.SpoolingStore`), so scoring and alerting go on and inputs are
still acknowledged only once stored; the heartbeat and every wallboard say that storage is
behind. If it cannot consume it says so: the heartbeat says unhealthy, `/healthz` fails, an
ERROR line every minute; and systemd's watchdog (`WATCHDOG=1` only while the consumer runs)
restarts a service whose consumer stopped or whose loop hangs. Stop (SIGTERM, Ctrl-C) takes seconds in every state.

The learned risk (issue 15, `[model]`) is loaded at start, from the state it kept when there
is one, else from `model.path` (or the shipped default); a model that cannot be loaded stops
nothing: the service says why (an ERROR line, and `/healthz`'s `model`) and scores without
it. What it learns is saved every `model.save_every` seconds and at a clean stop, in a thread
of its own (`Risk.save` writes atomically) while scoring waits, so the model is never read
half-changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from ingest import HEARTBEAT_TOPIC, BrokerLink, failure_site, parse, score_topic
from scoring import ChartSet
from surveillance._outbound import Outbound
from surveillance._settings import Settings
from surveillance.online import (
    AKI_LOOKBACK,
    Arrival,
    OnlineScorer,
    Output,
    Publication,
    digest,
    merge,
)
from surveillance.risk import ModelError, Risk
from surveillance.risk import load as load_model
from surveillance.store import (
    Batch,
    BufferedWriter,
    InHand,
    OutboxRecord,
    Spool,
    SpoolingStore,
    StoredState,
    open_store,
)

log = logging.getLogger(__name__)

TICK = 1.0
"""Seconds between checks for silent device feeds."""
HEARTBEAT_TICKS = 5
"""Ticks between two heartbeats (README, "Heartbeat")."""
STOP_GRACE = 5.0
"""Seconds a stopping service waits for the batch in hand, and then for the store."""
PROBLEM_EVERY = 60.0
"""Seconds between two ERROR lines about the same standing problem."""
RETRY_FIRST, RETRY_CAP = 0.5, 30.0
"""Seconds between attempts to reach the store at start: doubling up to the cap."""
MODEL_SAVE_GRACE = 20.0
"""Seconds a stopping service waits for the learned model to be saved (the file it replaces
stays whole if it is not: `Risk.save` writes atomically)."""
MODEL_SAVE_HOLD = 10.0
"""Seconds scoring waits for a save of the learned model while running: a save that takes
longer (a stuck disk) has the model set aside, and scoring goes on without it until a restart
(the save may still be reading it; within systemd's watchdog, 30 s)."""

T = TypeVar("T")


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
        action_key: bytes | None = None,
        load_risk: Callable[[Path | None], Risk] = load_model,
    ) -> None:
        """`load_risk`: how the learned risk is loaded (`surveillance.risk.load`; tests give
        their own)."""
        self.settings = settings
        self.charts = charts
        self.clock = clock
        self.scorer = OnlineScorer(charts, settings.online(action_key=action_key))
        self.counters = Counters()
        self.started = asyncio.Event()
        self.stop = asyncio.Event()
        self.link = BrokerLink(
            settings.broker_url(),
            client_id=settings.mqtt_client_id(),
            prefix=settings.broker.prefix,
            keepalive=settings.broker.keepalive,
            clock=clock,
        )
        self._writer: BufferedWriter | None = None
        self._store: SpoolingStore | None = None
        self._in_hand: InHand
        self._busy = False
        self._consuming: asyncio.Task[Any] | None = None
        self.waiting_for: str | None = "start"  # what keeps the service from consuming
        self._complained_at: float | None = None
        self._heartbeat_topic = f"{settings.broker.prefix}{HEARTBEAT_TOPIC}"
        self._outbox_epoch, self._outbox_n = time.time_ns(), 0
        self._load_risk = load_risk
        self.outbound = Outbound(settings)  # issue 17: out to the record ([outbound])
        self._risk: Risk | None = None
        self._model: dict[str, Any] = {"state": "off" if not settings.model.enabled else "loading"}
        # Set while no save of the learned model runs: the scorer (which asks the model) waits
        # for it, then runs without yielding, so a save never starts under it.
        self._model_idle = asyncio.Event()
        self._model_idle.set()
        self._model_saving: asyncio.Task[None] | None = None
        self._model_save_due: datetime | None = None
        self.model_save_hold = MODEL_SAVE_HOLD
        """Seconds scoring waits for a save of the learned model (`MODEL_SAVE_HOLD`)."""

    def health(self) -> dict[str, Any]:
        """The state of the broker and store connections, and the counters."""
        writer, store = self._writer, self._store
        return {
            "scorer": {
                "broker_connected": self.link.connected,
                "broker_error": self.link.last_error,
                "outbox": self.link.outbox,
                "store_ok": writer is not None and writer.last_error is None,
                "store_error": None if writer is None else _text(writer.last_error),
                "store_pending": 0 if writer is None else writer.pending,
                "store_behind": store is not None and store.behind,
                "spooled_records": 0 if store is None else store.spool.records,
                "store_poisoned": 0 if store is None else store.poisoned,
                "problem": self.problem(),
                "patients": self.scorer.patients,
                **{name: getattr(self.counters, name) for name in Counters.__slots__},
            },
            "model": self.model_health(),
            "outbound": self.outbound.health(),
        }

    def model_health(self) -> dict[str, Any]:
        """The learned risk for `/healthz`: `state` (`off`, `loading`, `unavailable` with the
        `reason`, or `loaded` with where from, `describe()`, the estimates made, failures by
        kind, and the last save)."""
        info = dict(self._model)
        guard = self.scorer.model
        if guard is not None:
            info |= {
                "shadow": guard.shadow,
                "learn": guard.learn,
                "estimates": guard.estimates,
                "failures": dict(guard.failures),
                "last_failure": guard.last_failure,
            }
        return info

    def problem(self) -> str | None:
        """Why the service cannot consume input now, or None."""
        if self.waiting_for is not None:
            return f"not consuming: {self.waiting_for}"
        consuming = self._consuming
        if consuming is None or consuming.done():
            return "not consuming: the consumer stopped (see the log)"
        if not self.link.connected:
            return f"not consuming: broker unreachable ({self.link.last_error or 'connecting'})"
        writer = self._writer
        if writer is not None and writer.last_error is not None:
            return f"store and spool both failing: {writer.last_error}"
        return None

    @property
    def healthy(self) -> bool:
        """Consuming input: connected to the broker, and storing (in the store or the spool)."""
        return self.problem() is None

    async def run(self) -> None:
        """Run until `stop` is set; then finish the batch in hand, flush the store and return."""
        settings = self.settings
        await self._start_model()
        async with contextlib.AsyncExitStack() as stack:
            opened = await self._open_store(stack)
            if opened is None:
                log.info("stopped before the store could be reached")
                return
            store, state = opened
            self._store = store
            # Out to the record (issue 17): its queue and senders, before any batch is made.
            await stack.enter_async_context(self.outbound)
            self.scorer.restore(state, self.clock())
            latest = [
                (score_topic(settings.broker.prefix, r.ward, r.bed), r.result)
                for r in state.latest_scores
                if self.scorer.patient_in(r.ward, r.bed) == r.patient_id
            ]
            latest += [  # their FHIR and HL7 v2 forms too, with `[outbound] topics`
                (p.topic, p.payload)
                for p in self.outbound.publications(
                    Publication(topic, result, retain=True) for topic, result in latest
                )
            ]
            await self.link.publish([(topic, result, True, None) for topic, result in latest])
            if state.outbox:  # committed but never published: first thing once connected
                log.info("publishing %d result(s) a stopped service had not", len(state.outbox))
                last = int(state.outbox[-1].key.split("-")[0])
                self._outbox_epoch = max(self._outbox_epoch, last + 1)
                await self.link.publish(
                    [(r.topic, r.payload, r.retain, r.key) for r in state.outbox]
                )
            log.info(
                "resumed: %d patient(s) with kept state, %d bed(s) occupied, %d open alert(s), "
                "%d recent message id(s)",
                sum(key.startswith("patient:") for key in state.scorer_state),
                len(state.placements),
                len(state.open_alerts),
                len(state.accepted) + len(state.recent_msg_ids),
            )
            writer = BufferedWriter(
                store,
                max_records=settings.store.flush_records,
                max_delay=settings.store.flush_interval,
                on_commit=self.link.ack,
                close_timeout=STOP_GRACE,
            )
            self.waiting_for = "connecting to the broker"
            async with writer, self.link:
                self._writer = writer
                consume: asyncio.Task[Any] = asyncio.create_task(
                    self._consume(writer, self._in_hand), name="scorer.consume"
                )
                self._consuming = consume
                consume.add_done_callback(_consumer_stopped)
                tick: asyncio.Task[Any] = asyncio.create_task(
                    self._tick(writer), name="scorer.tick"
                )
                stopping: asyncio.Task[Any] = asyncio.create_task(self.stop.wait())
                connected = asyncio.create_task(self.link.wait_connected())
                await asyncio.wait(
                    {connected, stopping, consume}, return_when=asyncio.FIRST_COMPLETED
                )
                if connected.done():
                    self.waiting_for = None
                    self.started.set()
                    notify_systemd("READY=1")
                connected.cancel()
                done, _ = await asyncio.wait({tick, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if self._busy:  # let the batch in hand finish: its results get published
                    await asyncio.wait({consume}, timeout=STOP_GRACE)
                for task in (consume, tick, stopping):
                    task.cancel()
                for task in (consume, tick, stopping):
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.gather(task, return_exceptions=task is consume)
                # Let go of the results the broker has, so a restart does not send them again.
                await writer.put(Batch(published=self.link.take_published()))
                await self._stop_model()
                for task in done:  # a crash of the tick is not a stop: raise it
                    if task is not stopping and not task.cancelled() and task.exception():
                        raise task.exception()  # type: ignore[misc]
            log.info("stopped")

    # -- the learned risk ---------------------------------------------------------------------

    async def _start_model(self) -> None:
        """Load the learned risk (in a thread) and give it to the scorer; if it cannot be
        loaded, say why and score without it."""
        if not self.settings.model.enabled:
            log.info("the learned risk is off ([model] enabled = false)")
            return
        try:
            risk, where, refused = await asyncio.to_thread(self._read_model)
            described = await asyncio.to_thread(_describe, risk)
        except Exception as error:
            reason = _model_failure(error)
            self._model = {"state": "unavailable", "reason": reason}
            log.error(
                "the learned risk is not running: %s; the chart scores and their alerts go on "
                "without it (see /healthz)",
                reason,
            )
            return
        self._risk = risk
        self.scorer.use_model(risk)
        self._model = {"state": "loaded", "from": where, "describe": described}
        if refused is not None:
            self._model["refused"] = refused
            log.error("the learned risk started afresh from %s: %s", where, refused)
        mode = "alerts on" if self.settings.model.alerts else "shadow"
        log.info("the learned risk is loaded from %s (%s)", where, mode)
        self._model_save_due = self.clock() + timedelta(seconds=self.settings.model.save_every)

    def _read_model(self) -> tuple[Risk, str, str | None]:
        """The model kept in `model.state` when there is one, else `model.path`'s (or the
        shipped default); where from; and why a kept one was refused, if it was (it is then
        moved aside, never overwritten)."""
        settings = self.settings
        state = settings.model_state_path()
        refused = None
        if state is not None and state.exists() and not state.is_file():
            # Never moved aside: it may be the directory that holds the store.
            raise ModelError(
                f"[model] state {state} is not a file (a directory?): it names the file the "
                f"model is kept in, such as {state / 'model'}"
            )
        if state is not None and state.exists():
            try:
                return self._load_risk(state), str(state), None
            except Exception as error:
                aside = _aside(state)
                os.replace(state, aside)
                refused = (
                    f"the model kept in {state} cannot be loaded ({_model_failure(error)}); "
                    f"it was moved to {aside}"
                )
        path = Path(settings.model.path) if settings.model.path else None
        risk = self._load_risk(path)
        return risk, str(path) if path is not None else "the shipped default", refused

    def _maybe_save_model(self, now: datetime) -> None:
        """Start a save of the learned model when one is due and none is running."""
        due = self._model_save_due
        if due is None or now < due or not self.settings.model.learn:
            return
        saving = self._model_saving
        if saving is not None and not saving.done():
            return
        self._model_save_due = now + timedelta(seconds=self.settings.model.save_every)
        self._model_saving = asyncio.create_task(self._save_model(), name="scorer.model-save")

    async def _save_model(self, hold: float | None = None) -> None:
        """Save the learned model (`Risk.save`, atomic) in a thread of its own while the
        scorer waits (at most `hold` seconds, default `model_save_hold`); a failure is logged
        and shown on `/healthz`, never raised."""
        hold = self.model_save_hold if hold is None else hold
        risk = self._risk
        path = self.settings.model_state_path()
        if risk is None or path is None:
            return
        while not self._model_idle.is_set():  # one save at a time
            await self._model_idle.wait()
        self._model_idle.clear()
        started = time.monotonic()
        saving = asyncio.ensure_future(_in_thread(_save, risk, path))
        saving.add_done_callback(_settled)
        try:
            described = await asyncio.wait_for(asyncio.shield(saving), hold)
        except TimeoutError:
            # The save still holds the model: it must not be asked again while the save may
            # be reading it, and scoring must not wait for it longer.
            self._risk = None
            self.scorer.use_model(None)
            reason = (
                f"a save of the learned model to {path} took more than {hold:g} s; the model "
                "was set aside (scoring and alerting go on without it until a restart)"
            )
            self._model = {"state": "unavailable", "reason": reason}
            log.error("%s", reason)
            return
        except Exception as error:
            self._model["save_error"] = _model_failure(error)
            log.error("the learned model could not be saved to %s: %s", path, _model_failure(error))
            return
        finally:
            self._model_idle.set()
        self._model |= {
            "describe": described,
            "saved_at": self.clock().isoformat(),
            "save_seconds": round(time.monotonic() - started, 3),
            "save_error": None,
            "state_file": str(path),
        }

    async def _model_quiet(self) -> None:
        """Return once no save of the learned model is running (at once, nearly always); the
        caller then uses the scorer without yielding to the loop."""
        if not self._model_idle.is_set():
            await self._model_idle.wait()

    async def _stop_model(self) -> None:
        """At a clean stop: the learned model saved (at most `MODEL_SAVE_GRACE` seconds)."""
        if self._risk is None or not self.settings.model.learn:
            return
        saving = self._model_saving
        if saving is None or saving.done():
            saving = asyncio.create_task(
                self._save_model(MODEL_SAVE_GRACE), name="scorer.model-save"
            )
        try:
            await asyncio.wait_for(asyncio.shield(saving), MODEL_SAVE_GRACE)
        except TimeoutError:
            log.error(
                "the learned model was not saved within %.0f s of the stop; the file kept "
                "before stays as it was",
                MODEL_SAVE_GRACE,
            )

    async def _open_store(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[SpoolingStore, StoredState] | None:
        """The store (behind its local spool) and the state to resume from; while either
        cannot be had, wait and try again (logging why), until `stop`."""
        settings, delay = self.settings, RETRY_FIRST
        while not self.stop.is_set():
            attempt = contextlib.AsyncExitStack()
            try:
                path = settings.spool_path()
                spool = await attempt.enter_async_context(Spool(path))
                self._in_hand = await attempt.enter_async_context(
                    InHand(path.with_name(path.name + "-inhand"))
                )
                raw = await attempt.enter_async_context(open_store(settings.store_url()))
                store = SpoolingStore(raw, spool)
                since = self.clock() - timedelta(seconds=settings.scorer.dedupe_window)
                state = await store.load_state(since, labs_since=self.clock() - AKI_LOOKBACK)
            except Exception as error:
                await attempt.aclose()
                self.waiting_for = f"the store cannot be reached ({error})"
                log.error("cannot start: %s; trying again in %.1f s", self.waiting_for, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)
                delay = min(delay * 2, RETRY_CAP)
                continue
            await stack.enter_async_context(attempt)
            return store, state
        return None

    async def _consume(self, writer: BufferedWriter, in_hand: InHand) -> None:
        online = self.settings.online()
        prefix, tz, freshness = self.settings.broker.prefix, online.tz, online.freshness
        skew = timedelta(seconds=online.max_skew)
        async for batch in self.link.batches():
            self._busy = True
            try:
                arrivals = [
                    Arrival(
                        parse(
                            r.topic,
                            r.payload,
                            prefix=prefix,
                            tz=tz,
                            freshness=freshness,
                            not_after=r.received + skew,
                        ),
                        r.topic,
                        r.payload,
                        r.received,
                    )
                    for r in batch
                ]
                out = await self._handle(arrivals, in_hand)
                self.counters.received += len(batch)
                await self._emit(out, writer, tokens=[r.token for r in batch])
            finally:
                self._busy = False
            if self.stop.is_set():
                return

    async def _handle(self, arrivals: list[Arrival], in_hand: InHand) -> Output:
        """Score a batch with its messages marked in hand (`InHand`); a batch holding a message
        that was in hand when the service died is handled one message at a time, and one that
        was in hand at `limit` deaths is quarantined."""
        unknown = self.scorer.unknown_ids(arrivals)
        if unknown and self._store is not None:  # ids older than the dedupe memory
            self.scorer.remember(await self._store.accepted_among(unknown), self.clock())
        keys = [digest(a.topic, a.payload) for a in arrivals]
        prior = await in_hand.mark(keys, only_if_clean=True)
        if not prior:
            await self._model_quiet()
            out = self.scorer.handle(arrivals)
            await in_hand.clear(keys)
            return out
        out = Output()
        for arrival, key in zip(arrivals, keys, strict=True):
            if prior.get(key, 0) >= in_hand.limit:
                log.error(
                    "quarantined a message on %s: in hand at %d deaths", arrival.topic, prior[key]
                )
                merge(out, self.scorer.set_aside(arrival, prior[key]))
                await in_hand.clear([key])
                continue
            await in_hand.mark([key])
            await self._model_quiet()
            merge(out, self.scorer.handle([arrival]))
            await in_hand.clear([key])
        return out

    async def _tick(self, writer: BufferedWriter) -> None:
        """Once a second: the scorer's clock (escalations, feeds, overdue sets); every
        `HEARTBEAT_TICKS`, the heartbeat, the spool drained if the store is back, a standing
        problem logged (at most once a `PROBLEM_EVERY`) and systemd's watchdog fed while the
        consumer runs."""
        beat = 0
        while True:
            await asyncio.sleep(TICK)
            now = self.clock()
            await self._model_quiet()
            out = self.scorer.tick(now)
            self._maybe_save_model(now)
            beat += 1
            if beat >= HEARTBEAT_TICKS:
                beat = 0
                out.publications.append(self._heartbeat(now))
                self._complain()
                if self._store is not None and self._store.behind:
                    await self._store.drain()
            await self._emit(out, writer, tokens=[])

    def _complain(self) -> None:
        consuming = self._consuming
        if consuming is not None and not consuming.done():
            # Alive: the loop ticks and the consumer runs (waiting for a broker or a store
            # is not a hang, and a restart would not bring either back).
            notify_systemd("WATCHDOG=1")
        problem = self.problem()
        store = self._store
        if problem is None and store is not None and store.poisoned:
            problem = (
                f"{store.poisoned} record(s) the store refused as data are kept in the poison "
                f"table of {store.spool.path}; scoring goes on"
            )
        if problem is None:
            self._complained_at = None
            return
        loop_now = asyncio.get_running_loop().time()
        if self._complained_at is None or loop_now - self._complained_at >= PROBLEM_EVERY:
            self._complained_at = loop_now
            log.error("the service is not healthy: %s", problem)

    def _heartbeat(self, now: datetime) -> Publication:
        """`surveillance/heartbeat`, retained: wallboards call the feed stale without it, and
        say so when the scorer is unhealthy or its storage is behind."""
        store = self._store
        body = {
            "time": now,
            "service": self.settings.broker.client_id,
            "healthy": self.healthy,
            "problem": self.problem(),
            "store_behind": store is not None and store.behind,
            "spooled_records": 0 if store is None else store.spool.records,
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
        # Out to the record (issue 17): the topic forms join the publications, and what goes
        # to the endpoints is queued durably before the inputs can be acknowledged.
        await self.outbound.take(out)
        # Stored first: whatever happens to the connection, the records are in the writer's
        # buffer; the inputs are acknowledged only once they are committed and published.
        # Each alert event and dead letter is kept in the store's outbox with its records
        # until the broker has it: a kill between the commit and the publication loses none.
        # (Scores are retained, only a bed's latest counts: each start publishes those again.)
        messages: list[tuple[str, bytes, bool, str | None]] = []
        for p in out.publications:
            key = None
            if p.topic != self._heartbeat_topic and not p.retain:
                key = self._outbox_key()
                out.batch.outbox.append(OutboxRecord(key, p.topic, p.payload, p.retain))
            messages.append((p.topic, p.payload, p.retain, key))
        out.batch.published.extend(self.link.take_published())
        await writer.put(out.batch, tokens)
        if messages:
            await self.link.publish(messages)

    def _outbox_key(self) -> str:
        """Keys in the order results are made, across restarts (`OutboxRecord`)."""
        self._outbox_n += 1
        return f"{self._outbox_epoch:020d}-{self._outbox_n:012d}"


def _text(error: object) -> str | None:
    return None if error is None else str(error)


def _model_failure(error: BaseException) -> str:
    """Why the learned model could not be loaded or saved: a `ModelError`'s own words (it names
    the file and what to do), else the error's type and where it was raised (never its text,
    which might quote what the file holds)."""
    if isinstance(error, ModelError):
        return str(error)
    if isinstance(error, OSError):
        return f"{type(error).__name__}: {error.strerror or error}"
    return failure_site(error)


def _aside(state: Path) -> Path:
    """Where a kept model that cannot be loaded is moved: `<state>.refused`, or `.refused.N`
    when that is taken (an earlier refused model, perhaps months of learning, is never
    overwritten)."""
    aside = state.with_name(state.name + ".refused")
    n = 0
    while aside.exists() or aside.is_symlink():
        n += 1
        aside = state.with_name(f"{state.name}.refused.{n}")
    return aside


def _describe(risk: Risk) -> dict[str, Any]:
    described = risk.describe()
    return dict(msgspec.to_builtins(described))


def _save(risk: Risk, path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    risk.save(path)
    return _describe(risk)


def _settled(task: asyncio.Future[Any]) -> None:
    """A save's outcome retrieved even when nobody waits for it any more."""
    if not task.cancelled():
        task.exception()


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a daemon thread of its own: a save that hangs never holds the
    process past its stop (asyncio's own threads are waited for at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            result = function(*args)
        except BaseException as error:  # handed to the waiting coroutine
            outcome = partial(future.set_exception, error)
        else:
            outcome = partial(future.set_result, result)
        try:
            loop.call_soon_threadsafe(settle, outcome)
        except RuntimeError:  # the loop closed meanwhile (the service stopped): nobody waits
            log.info("a model save finished after the service stopped")

    threading.Thread(target=work, name="model-save", daemon=True).start()
    return await future


def _consumer_stopped(task: asyncio.Task[Any]) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.critical(
            "the consumer stopped (%s): no input is read until a restart (systemd's watchdog "
            "restarts the service); alerts already open still escalate",
            failure_site(error),  # where, never the message: it may quote data
        )


def notify_systemd(state: str) -> bool:
    """Tell systemd `state` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`) when it supervises this
    process (`NOTIFY_SOCKET` set, `Type=notify`); the sd_notify(3) datagram, nothing more."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as error:
        log.warning("could not notify systemd (%s): %s", state, error)
        return False
    return True
