"""The durable outbound queue: what is to go out to the record and the alert managers, kept on
the service's own disk until the endpoint has taken it.

One SQLite file (WAL, `synchronous=FULL`, as the spool: on disk before an append returns),
one row per message and endpoint (`target`: `mllp`, `fhir`, `acm`), unique on `(target, key)`
so the same score made again (a redelivered input after a kill) is queued once; and the keys
delivered in the last `SENT_MEMORY` (7 days) are remembered (`sent`), so a score made again
after its first making was delivered is not sent twice either. The service
appends a batch's messages *before* it hands the batch's records to the store writer, and the
inputs are acknowledged to the broker only after those records are committed: so a `kill -9`
at any moment either finds the messages queued or the inputs not acknowledged (the broker
sends them again, they are scored again, and queued under the same keys). A row leaves the
queue only when its endpoint has accepted it (`delete`) or refused it for good (`bury`: kept
in `refused` with the reason, for a person to look at).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from surveillance.store import LocalFile, StoreError

PRUNE_EVERY: Final = 60.0
"""Seconds between prunings of the delivered keys older than `SENT_MEMORY` (while running, not
only at each start: a service up for months kept every key it ever delivered)."""
SENT_MEMORY: Final = 7 * 86400.0
"""Seconds a delivered message's key is remembered (a redelivered input is scored again within
minutes; the broker's and the scorer's own memories are shorter still)."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbound ("
    "seq INTEGER PRIMARY KEY, target TEXT NOT NULL, key TEXT NOT NULL, patient TEXT NOT NULL, "
    "body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, "
    "UNIQUE (target, key))",
    "CREATE TABLE IF NOT EXISTS sent ("
    "target TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (target, key))",
    "CREATE INDEX IF NOT EXISTS sent_at ON sent (at)",
    "CREATE TABLE IF NOT EXISTS refused ("
    "seq INTEGER PRIMARY KEY, target TEXT NOT NULL, key TEXT NOT NULL, patient TEXT NOT NULL, "
    "body BLOB NOT NULL, reason TEXT NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for one endpoint: `key` is stable (the same score, the same key)."""

    target: str
    key: str
    patient: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Queued:
    """A row of the queue, oldest first by `seq`."""

    seq: int
    target: str
    key: str
    patient: str
    body: bytes
    attempts: int


class OutboundQueue(LocalFile):
    """The queue file, used from one thread of its own (every call runs there), locked for
    this service alone while it is open."""

    SCHEMA = _SCHEMA
    NAME = "the outbound queue "
    THREAD = "outbound-queue"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.pending: dict[str, int] = {}
        """Rows waiting, by target (kept in memory: the health and heartbeat read it)."""
        self.refused: dict[str, int] = {}
        self._pruned_at = 0.0
        self._lock: int | None = None

    def _open(self) -> None:
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = _exclusive(f"{self.path}.lock")
        except OSError as e:
            raise StoreError(f"cannot open {self.NAME}{self.path!r}: {e}") from e
        try:
            super()._open()
        except BaseException:
            self._unlock()
            raise

    def _opened(self, conn: sqlite3.Connection) -> None:
        self._prune(conn)
        self.pending = dict(
            conn.execute("SELECT target, count(*) FROM outbound GROUP BY target").fetchall()
        )
        self.refused = dict(
            conn.execute("SELECT target, count(*) FROM refused GROUP BY target").fetchall()
        )

    def _close(self) -> None:
        super()._close()
        self._unlock()

    def _unlock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)  # and with it the lock (the kernel's too on kill -9)

    def _append(self, items: Sequence[Outgoing]) -> dict[str, int]:
        conn = self._connection()
        added: dict[str, int] = {}
        try:
            conn.execute("BEGIN")
            for item in items:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO outbound (target, key, patient, body) "
                    "SELECT ?, ?, ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM sent WHERE target = ? AND key = ?)",
                    (item.target, item.key, item.patient, item.body, item.target, item.key),
                )
                if cursor.rowcount:
                    added[item.target] = added.get(item.target, 0) + 1
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"outbound queue write failed: {e}") from e
        return added

    async def append(self, items: Sequence[Outgoing]) -> int:
        """Queue `items` durably (on disk when this returns); a key already queued for its
        target is not queued again. The number queued."""
        if not items:
            return 0
        added = await self._run(self._append, list(items))
        for target, n in added.items():
            self.pending[target] = self.pending.get(target, 0) + n
        return sum(added.values())

    def _head(self, target: str, limit: int, skip: str) -> list[Queued]:
        rows = (
            self._connection()
            .execute(
                "SELECT seq, target, key, patient, body, attempts FROM outbound "
                "WHERE target = ? AND patient NOT IN (SELECT value FROM json_each(?)) "
                "ORDER BY seq LIMIT ?",
                (target, skip, limit),
            )
            .fetchall()
        )
        return [Queued(int(r[0]), r[1], r[2], r[3], bytes(r[4]), int(r[5])) for r in rows]

    async def head(self, target: str, limit: int = 100, skip: Collection[str] = ()) -> list[Queued]:
        """The oldest `limit` rows for `target`, oldest first, but none of the patients in
        `skip` (those waiting to be retried: their rows must not crowd the others out)."""
        result: list[Queued] = await self._run(self._head, target, limit, json.dumps(sorted(skip)))
        return result

    def _prune(self, conn: sqlite3.Connection) -> None:
        now = time.time()
        conn.execute("DELETE FROM sent WHERE at < ?", (now - SENT_MEMORY,))
        self._pruned_at = now

    def _delete(self, row: Queued) -> int:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if time.time() - self._pruned_at >= PRUNE_EVERY:
                self._prune(conn)
            conn.execute(
                "INSERT OR REPLACE INTO sent (target, key, at) VALUES (?, ?, ?)",
                (row.target, row.key, time.time()),
            )
            deleted = conn.execute("DELETE FROM outbound WHERE seq = ?", (row.seq,)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return deleted

    async def delete(self, row: Queued) -> None:
        """The endpoint has it: forget it (its key is remembered as sent)."""
        if await self._run(self._delete, row):
            self.pending[row.target] -= 1

    def _failed(self, seq: int, error: str) -> None:
        self._connection().execute(
            "UPDATE outbound SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
            (error[:1024], seq),
        )

    async def failed(self, row: Queued, error: str) -> None:
        """An attempt failed (it stays queued): count it, keep why."""
        await self._run(self._failed, row.seq, error)

    def _bury(self, row: Queued, reason: str) -> int:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            conn.execute(
                "INSERT INTO refused (target, key, patient, body, reason) VALUES (?, ?, ?, ?, ?)",
                (row.target, row.key, row.patient, row.body, reason[:4096]),
            )
            deleted = conn.execute("DELETE FROM outbound WHERE seq = ?", (row.seq,)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return deleted

    async def bury(self, row: Queued, reason: str) -> None:
        """The endpoint refused it for good (HL7 AR, HTTP 4xx): keep it apart with the reason
        (the `refused` table), never retried, never dropped."""
        if await self._run(self._bury, row, reason):
            self.pending[row.target] -= 1
            self.refused[row.target] = self.refused.get(row.target, 0) + 1

    def _refused_rows(self) -> list[tuple[str, str, str]]:
        return (
            self._connection()
            .execute("SELECT target, key, reason FROM refused ORDER BY seq")
            .fetchall()
        )

    async def refused_rows(self) -> list[tuple[str, str, str]]:
        """`(target, key, reason)` of every refused message, oldest first."""
        result: list[tuple[str, str, str]] = await self._run(self._refused_rows)
        return result


def _exclusive(path: str) -> int:
    """An open descriptor of `path` holding an exclusive `flock`: one service per queue file
    (two would both send every row, and a patient's out of order)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        msg = f"another service has it open ({path} is locked)"
        raise OSError(e.errno, msg) from None
    return fd
