"""Batches the service's records into few, large store writes, and never drops one.

Writing each message in its own transaction caps the service at a few hundred messages a second
(one fsync each); batching for a few tens of milliseconds costs that much latency and gives tens
of thousands. Callers `put()` batches with opaque tokens (the service passes MQTT messages) and
the writer calls `on_commit(tokens)` once their records are committed, so an input is acknowledged
only when it can no longer be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from ingest import failure_site
from surveillance.store._base import Batch, Store
from surveillance.store._migrations import StoreError

log = logging.getLogger(__name__)

_FIRST_RETRY = 0.05  # seconds; doubles on every failure up to retry_cap


class BufferedWriter:
    """An async context manager that writes `put()` batches to `store` in the background.

    A flush happens when `max_records` records are buffered, or `max_delay` seconds after the
    first unflushed record, whichever comes first. A failed write is retried with capped
    exponential backoff and jitter, with the same records (none is dropped); while it retries,
    puts keep buffering until `max_records`, then wait (backpressure).

    Args:
        store: an open store.
        max_records: flush at this many buffered records; `put()` waits while the buffer holds
            this many or more.
        max_delay: seconds a record may wait in the buffer before its flush starts.
        on_commit: called after each successful write with the tokens of its puts, in put order.
        retry_cap: the longest wait between two attempts, in seconds.
        close_timeout: seconds leaving the block may spend flushing (None: until done). What
            is not committed by then is left unacknowledged: the broker sends it again.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_records: int = 5000,
        max_delay: float = 0.05,
        on_commit: Callable[[list[object]], None] | None = None,
        retry_cap: float = 5.0,
        close_timeout: float | None = None,
    ) -> None:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self.store = store
        self.max_records = max_records
        self.max_delay = max_delay
        self.on_commit = on_commit
        self.retry_cap = retry_cap
        self.close_timeout = close_timeout
        #: The error of the last failed write while retrying it; None when healthy.
        self.last_error: BaseException | None = None
        self._buffer = Batch()
        self._tokens: list[object] = []
        self._first_at: float | None = None  # loop time of the first unflushed record
        self._in_flight = 0
        self._put_seq = 0  # puts so far
        self._committed_seq = 0  # puts committed so far
        self._flush_wanted = False
        self._wake = asyncio.Event()  # something for the flusher to look at
        self._changed = asyncio.Condition()  # buffer drained or puts committed
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Records not yet committed: buffered, plus those of the write in progress."""
        return len(self._buffer) + self._in_flight

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("a BufferedWriter is entered once")
        self._task = asyncio.create_task(self._run(), name="store-writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Flush everything (retrying until success, cancellation or `close_timeout`), then
        stop."""
        try:
            await asyncio.wait_for(self.flush(), self.close_timeout)
        except TimeoutError:
            log.error(
                "stopping with %d records not stored (the store did not answer within %.0f s); "
                "their inputs were not acknowledged, so the broker sends them again",
                self.pending,
                self.close_timeout or 0,
            )
        finally:
            self._closed = True
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def put(self, batch: Batch, tokens: Iterable[object] = ()) -> None:
        """Buffer `batch`; return at once unless the buffer is full, then wait for room."""
        self._check_running()
        if len(self._buffer) >= self.max_records:
            async with self._changed:
                await self._changed.wait_for(self._room_or_dead)
            self._check_running()
        if not len(batch) and not tokens:
            return
        self._buffer.extend(batch)
        self._tokens.extend(tokens)
        self._put_seq += 1
        if self._first_at is None:
            self._first_at = asyncio.get_running_loop().time()
            self._wake.set()
        if len(self._buffer) >= self.max_records:
            self._wake.set()

    async def flush(self) -> None:
        """Flush now, and return once everything put before this call is committed."""
        target = self._put_seq
        if self._committed_seq >= target:
            return
        self._check_running()
        self._flush_wanted = True
        self._wake.set()
        async with self._changed:
            await self._changed.wait_for(lambda: self._committed_seq >= target or self._dead())
        if self._committed_seq < target:
            self._check_running()

    def _room_or_dead(self) -> bool:
        return len(self._buffer) < self.max_records or self._dead()

    def _dead(self) -> bool:
        return self._task is None or self._task.done()

    def _check_running(self) -> None:
        if self._closed or self._task is None:
            raise RuntimeError("the BufferedWriter is not running (use `async with`)")
        if self._task.done():
            raise StoreError("the store writer stopped") from (
                None if self._task.cancelled() else self._task.exception()
            )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _run(self) -> None:
        try:
            while True:
                await self._wait_for_flush()
                batch, tokens, seq = self._buffer, self._tokens, self._put_seq
                self._buffer, self._tokens, self._first_at = Batch(), [], None
                self._flush_wanted = False
                self._in_flight = len(batch)
                await self._notify()  # room in the buffer
                await self._write(batch)
                self._in_flight = 0
                self._committed_seq = seq
                if self.on_commit is not None and tokens:
                    try:
                        self.on_commit(tokens)
                    except Exception as error:  # where, never the message: it may quote data
                        log.error(
                            "on_commit failed (the records are committed): %s",
                            failure_site(error),
                        )
                await self._notify()
        finally:
            await asyncio.shield(self._notify())  # wake waiters so they see the writer stopped

    async def _wait_for_flush(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._put_seq > self._committed_seq and self._first_at is not None:
                if self._flush_wanted or len(self._buffer) >= self.max_records:
                    return
                timeout = self._first_at + self.max_delay - loop.time()
                if timeout <= 0:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            else:
                self._flush_wanted = False
                await self._wake.wait()
            self._wake.clear()

    async def _write(self, batch: Batch) -> None:
        """Write `batch`, retrying until it succeeds (or the task is cancelled)."""
        failures = 0
        while True:
            try:
                await self.store.write(batch)
            except Exception as e:
                failures += 1
                self.last_error = e
                delay = min(self.retry_cap, _FIRST_RETRY * 2 ** min(failures - 1, 30))
                delay *= 0.5 + random.random() / 2  # noqa: S311 (jitter, not cryptography)
                log.warning(
                    "store write of %d records failed (attempt %d), retrying in %.2fs: %s",
                    len(batch),
                    failures,
                    delay,
                    e,
                )
                await asyncio.sleep(delay)
            else:
                if failures:
                    log.info("store write succeeded after %d failed attempts", failures)
                self.last_error = None
                return
