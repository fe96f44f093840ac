"""A local, durable spool in front of the store: a database outage neither loses data nor
stops alerting.

Inputs are acknowledged to the broker only once their records are stored; with the store down,
the broker's window of unacknowledged messages would fill within seconds and scoring would
stop with it. So when a write to the store fails, the batch is written to a spool on the
service's own disk instead (SQLite, `synchronous=FULL`: on disk before the write returns),
which counts as stored: inputs are acknowledged, scoring and alerting go on. Once the store
answers again the spool is drained into it, oldest batch first, and every write goes to the
spool while it holds anything, so the store receives batches in the order they were made (the
scorer's state rows are last-write-wins).

On start the service drains the spool before it reads its state from the store, so a service
killed during an outage resumes from its newest state.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import msgspec

from surveillance.store._base import (
    Batch,
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DirtyPatient,
    EventRecord,
    Store,
    StoredState,
)
from surveillance.store._migrations import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

_FIRST_PAUSE = 0.5  # seconds after a failed store write before the store is tried again
_MAX_PAUSE = 15.0
_encode = msgspec.msgpack.Encoder().encode
_decode_batch = msgspec.msgpack.Decoder(Batch).decode
_json_encode = msgspec.json.Encoder().encode
_ENCODED: Final = (
    ("scores", "result"),
    ("alerts", "event"),
    ("outbox", "payload"),
    ("states", "state"),
)
"""The fields a spool written before they were carried encoded holds as objects (or text)."""


def _decode(blob: bytes) -> Batch:
    """A spooled batch; also one spooled by an earlier version, whose score results, alert
    events and scorer states were objects and outbox payloads text (a spool outlives an
    upgrade)."""
    try:
        return _decode_batch(blob)
    except msgspec.ValidationError:
        raw = msgspec.msgpack.decode(blob)
        for table, name in _ENCODED:
            for record in raw.get(table, ()):
                value = record[name]
                if value is None:  # a state row's deletion
                    continue
                if isinstance(value, str):
                    record[name] = value.encode()
                elif not isinstance(value, bytes):
                    record[name] = _json_encode(value)
        return msgspec.convert(raw, Batch)


class LocalFile:
    """One SQLite file on the service's own disk, owned by one thread (every call runs there):
    the plumbing `Spool`, `InHand` and the service's outbound queue share. Subclasses give the
    `SYNCHRONOUS` level and the `SCHEMA`, and may read what they need at `_opened`; with
    `LOOP_THREAD` the connection is opened and closed on the thread but used by the event
    loop's thread between the two. `NAME` (with its trailing space) names the file in errors."""

    SYNCHRONOUS = "FULL"
    SCHEMA: tuple[str, ...] = ()
    LOOP_THREAD = False
    NAME = ""
    THREAD = "local-file"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def __aenter__(self) -> Self:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.THREAD)
        try:
            await self._run(self._open)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._executor is not None:
            await self._run(self._close)
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            raise StoreError(f"{self.NAME}{self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _open(self) -> None:
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=not self.LOOP_THREAD
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.SYNCHRONOUS}")
            for statement in self.SCHEMA:
                conn.execute(statement)
            self._opened(conn)
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open {self.NAME}{self.path!r}: {e}") from e
        self._conn = conn

    def _opened(self, conn: sqlite3.Connection) -> None:
        """Read what the object keeps in memory (on the file's thread)."""

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        assert self._conn is not None  # noqa: S101 - only called between enter and exit
        return self._conn


class Spool(LocalFile):
    """Batches kept on local disk, in order; `synchronous=FULL`: on disk before a write
    returns. Records the store refuses as data are kept apart, in `poison`."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS spool ("
        "seq INTEGER PRIMARY KEY, records INTEGER NOT NULL, batch BLOB NOT NULL)",
        "CREATE TABLE IF NOT EXISTS poison ("
        "seq INTEGER PRIMARY KEY, batch BLOB NOT NULL, error TEXT NOT NULL)",
    )

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.batches = 0
        self.records = 0

    def _opened(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT count(*), coalesce(sum(records), 0) FROM spool").fetchone()
        self.batches, self.records = int(row[0]), int(row[1])

    def _append(self, blob: bytes, records: int) -> None:
        try:
            self._connection().execute(
                "INSERT INTO spool (records, batch) VALUES (?, ?)", (records, blob)
            )
        except sqlite3.Error as e:
            raise StoreError(f"spool write failed: {e}") from e

    def _first(self) -> tuple[int, bytes] | None:
        row = (
            self._connection()
            .execute("SELECT seq, batch FROM spool ORDER BY seq LIMIT 1")
            .fetchone()
        )
        return None if row is None else (int(row[0]), bytes(row[1]))

    def _poison(self, blob: bytes, error: str) -> None:
        self._connection().execute("INSERT INTO poison (batch, error) VALUES (?, ?)", (blob, error))

    def _delete(self, seq: int) -> None:
        self._connection().execute("DELETE FROM spool WHERE seq = ?", (seq,))

    async def append(self, batch: Batch) -> None:
        """Keep `batch` on disk (durably) after those already kept."""
        await self._run(self._append, _encode(batch), len(batch))
        self.batches += 1
        self.records += len(batch)

    async def first(self) -> tuple[int, Batch] | None:
        """The oldest batch kept, with its number, or None when empty."""
        found = await self._run(self._first)
        return None if found is None else (found[0], _decode(found[1]))

    async def poison(self, batch: Batch, error: str) -> None:
        """Keep, apart, records the store refuses whatever is tried (for a person to look at)."""
        await self._run(self._poison, _encode(batch), error)

    async def delete(self, seq: int, records: int) -> None:
        """Forget batch `seq` (now in the store)."""
        await self._run(self._delete, seq)
        self.batches -= 1
        self.records -= records


class SpoolingStore:
    """A `Store` that keeps what the store cannot take in a local `Spool` (see the module).

    Reads go to the store; `drain()` moves the spool into it. `behind` says whether anything
    waits in the spool (for the heartbeat and the wallboards), and `behind_since` since when.
    """

    def __init__(self, store: Store, spool: Spool) -> None:
        self.store = store
        self.spool = spool
        self._lock = asyncio.Lock()
        self._pause_until = 0.0
        self._pause = _FIRST_PAUSE
        self.behind_since: float | None = None  # monotonic time the spool took its first batch
        self.last_error: str | None = None
        self.poisoned = 0  # records the store refused as data, kept in the spool's poison table
        self._head_failures = 0

    @property
    def behind(self) -> bool:
        """Whether records wait in the spool for the store."""
        return self.spool.batches > 0

    def __getattr__(self, name: str) -> Any:  # store_info, layout, count, ... of the store
        return getattr(self.store, name)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def write(self, batch: Batch) -> None:
        """Into the store, or (while it fails, or while the spool holds older batches) into
        the spool; raises `StoreError` only if neither can take it."""
        async with self._lock:
            if self.spool.batches:
                await self._drain()
            if not self.spool.batches and time.monotonic() >= self._pause_until:
                try:
                    await self.store.write(batch)
                except Exception as error:
                    self._failed(error)
                else:
                    self._pause = _FIRST_PAUSE
                    return
            await self.spool.append(batch)
            if self.behind_since is None:
                self.behind_since = time.monotonic()

    async def drain(self) -> None:
        """Move what the spool holds into the store, oldest first, while the store takes it."""
        async with self._lock:
            await self._drain()

    async def _drain(self) -> None:
        while self.spool.batches and time.monotonic() >= self._pause_until:
            found = await self.spool.first()
            if found is None:
                break
            seq, batch = found
            try:
                await self.store.write(batch)
            except Exception as error:
                if not await self._refused_as_data():
                    self._failed(error)
                    return
                await self._set_aside(batch, error)
            self._head_failures = 0
            await self.spool.delete(seq, len(batch))
            self._pause = _FIRST_PAUSE
        if not self.spool.batches and self.behind_since is not None:
            log.info("the spool is drained: the store has every record again")
            self.behind_since = None
            self.last_error = None

    async def _refused_as_data(self) -> bool:
        """Whether the store answers but keeps refusing the spool's oldest batch (3 times):
        something in it, not the store, is at fault; waiting would hold back every later batch
        for ever."""
        try:
            await self.store.ping()
        except Exception:  # down: an outage, not bad data
            return False
        self._head_failures += 1
        return self._head_failures >= 3

    async def _set_aside(self, batch: Batch, error: Exception) -> None:
        """Write the batch record by record; keep the records the store refuses in the
        spool's poison table."""
        refused = 0
        for single in _singles(batch):
            try:
                await self.store.write(single)
            except Exception as why:  # this record is the bad one
                refused += 1
                await self.spool.poison(single, str(why))
        self.poisoned += refused
        log.critical(
            "the store refused %d record(s) of a batch as data (%s): kept in the poison table of "
            "%s for a person to look at; the %d others are stored",
            refused,
            error,
            self.spool.path,
            len(batch) - refused,
        )

    def _failed(self, error: Exception) -> None:
        self.last_error = str(error)
        self._pause_until = time.monotonic() + self._pause
        log.error(
            "store write failed (%s); keeping records in the local spool %s (%d batches); "
            "trying the store again in %.1f s",
            error,
            self.spool.path,
            self.spool.batches,
            self._pause,
        )
        self._pause = min(self._pause * 2, _MAX_PAUSE)

    async def load_state(
        self, since: datetime, *, labs_since: datetime | None = None
    ) -> StoredState:
        """The store's state, once the spool is drained into it (else `StoreError`)."""
        await self.drain()
        if self.spool.batches:
            raise StoreError(
                f"the local spool {self.spool.path} still holds {self.spool.batches} batches "
                f"the store has not taken ({self.last_error}); waiting for the store"
            )
        return await self.store.load_state(since, labs_since=labs_since)

    async def ping(self) -> None:
        await self.store.ping()

    async def accepted_among(self, msg_ids: list[str]) -> dict[str, tuple[str, datetime]]:
        """From the store; nothing while it cannot answer (the scorer's memory still holds
        what arrived recently, and the spool's ids are recent)."""
        if self.behind or time.monotonic() < self._pause_until:
            return {}
        try:
            return await self.store.accepted_among(msg_ids)
        except Exception as error:  # degraded: memory only
            log.warning("could not look up message ids in the store: %s", error)
            return {}

    async def fetch(
        self, kind: type[T], *, patient_id: str | None = None, since: datetime | None = None
    ) -> list[T]:
        return await self.store.fetch(kind, patient_id=patient_id, since=since)

    async def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        patient_id: str | None = None,
    ) -> list[EventRecord]:
        return await self.store.events(since=since, until=until, kinds=kinds, patient_id=patient_id)

    async def dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        return await self.store.dashboard_rows(since, until)

    async def dirty_patients(self, limit: int) -> list[DirtyPatient]:
        return await self.store.dirty_patients(limit)

    async def dirty_count(self) -> int:
        return await self.store.dirty_count()

    async def patient_rows(self, patient_ids: Collection[str]) -> DashboardRows:
        return await self.store.patient_rows(patient_ids)

    async def replace_dashboard_items(
        self,
        done: Collection[DirtyPatient],
        items: Collection[DashboardItem],
        stays: Collection[DashboardStay],
        set_aside: Mapping[str, str] | None = None,
    ) -> int:
        return await self.store.replace_dashboard_items(done, items, stays, set_aside)

    async def set_aside_count(self) -> int:
        return await self.store.set_aside_count()

    async def refresh_rollups(self, tz: str, cells: CellSpec) -> int:
        return await self.store.refresh_rollups(tz, cells)

    async def dashboard_sums(
        self,
        since: datetime,
        until: datetime,
        *,
        period: str,
        spans: Collection[tuple[str, datetime, datetime]],
        tz: str,
        medians: Collection[str],
        cells: CellSpec | None = None,
    ) -> DashboardSums:
        return await self.store.dashboard_sums(
            since, until, period=period, spans=spans, tz=tz, medians=medians, cells=cells
        )


class InHand(LocalFile):
    """Which inputs the service had in hand when it died, so that a message that kills the
    service is set aside rather than retried forever.

    Before the scorer handles a batch its messages' keys are marked, and unmarked as soon as
    it has handled them. A mark found at the next start means the service died with that
    message in hand (a hang and a supervisor's kill, memory exhausted, a crash in native
    code: a Python exception never gets this far, it is that message's dead letter). The
    service then handles the batch's marked messages one at a time, each marked alone, and a
    message found marked `limit` times is quarantined: a dead letter, never handled again.

    Cheap enough to run on the event loop, twice a batch: the marks are read once, at open
    (only this process writes the file, so after that memory knows them); a mark or a clear
    is one transaction in WAL mode with `synchronous=OFF`. That survives what it is for, the
    process dying (kill -9, OOM, a native crash): a commit has written its WAL frames into the
    operating system's page cache, which outlives the process. A power cut or kernel crash
    may lose the last marks (never corrupt the file: WAL); at worst a message that killed
    the service then gets one attempt more before it is quarantined.
    """

    SYNCHRONOUS = "OFF"  # a killed process keeps what it wrote; that is all this needs
    LOOP_THREAD = True
    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS in_hand (key TEXT PRIMARY KEY, attempts INTEGER NOT NULL)",
    )

    def __init__(self, path: str | Path, *, limit: int = 2) -> None:
        super().__init__(path)
        self.limit = limit
        self._marks: dict[str, int] = {}

    def _opened(self, conn: sqlite3.Connection) -> None:
        self._marks = dict(conn.execute("SELECT key, attempts FROM in_hand").fetchall())

    def _transaction(self, sql: str, rows: list[tuple[str]]) -> None:
        conn = self._connection()
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreError(f"in-hand journal {self.path}: {e}") from e

    async def mark(self, keys: list[str], *, only_if_clean: bool = False) -> dict[str, int]:
        """Mark `keys` as in hand (each one attempt more); the marks they had before. With
        `only_if_clean`, nothing is marked if any of them already was."""
        marks = self._marks
        prior = {key: marks[key] for key in keys if key in marks}
        if only_if_clean and prior:
            return prior
        self._transaction(
            "INSERT INTO in_hand (key, attempts) VALUES (?, 1) "
            "ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1",
            [(key,) for key in keys],
        )
        for key in keys:
            marks[key] = marks.get(key, 0) + 1
        return prior

    async def clear(self, keys: list[str]) -> None:
        """Handled: no longer in hand."""
        self._transaction("DELETE FROM in_hand WHERE key = ?", [(key,) for key in keys])
        for key in keys:
            self._marks.pop(key, None)


def _singles(batch: Batch) -> list[Batch]:
    """Every record of `batch` as a batch of its own, in order, table by table."""
    return [
        Batch(**{name: [record]})
        for name in Batch.__dataclass_fields__
        for record in getattr(batch, name)
    ]
