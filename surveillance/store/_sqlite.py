"""The SQLite backend: the demo's and a single ward's store, with nothing to install.

One `sqlite3` connection, owned by one worker thread: every call runs there (via
`loop.run_in_executor`), so the event loop never blocks on disk and the connection is never
shared between threads. The scorer's per-batch id lookup (`accepted_among`) has a second,
read-only connection on a thread of its own (WAL: readers do not wait for the writer), so it
never queues behind a large write. WAL journal with `synchronous=NORMAL`: a commit survives a crash of the
process, and at worst the last commits before a power cut are lost (never corrupted), which the
at-least-once MQTT inputs redeliver.

Times are stored as ISO-8601 UTC text with microseconds and a `Z`
(`2026-11-22T09:30:00.000000Z`): readable with the sqlite3 shell, and fixed width so text order
is time order (what the indexes and `received_at >= ?` rely on). JSON is stored as text;
JSON that comes encoded (`JsonBytes`) is stored as it is.
"""

from __future__ import annotations

import asyncio
import operator
import sqlite3
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self, TypeAlias, TypeVar

import msgspec

from surveillance.store._base import (
    DASHBOARD_LOOKBACK,
    AdtRecord,
    AlertRecord,
    AlertRow,
    Batch,
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DirtyPatient,
    EventRecord,
    LabRecord,
    NurseSetRow,
    OutboxRecord,
    PlanRecord,
    ScoreRecord,
    StoredState,
    dirty_patients_of,
)
from surveillance.store._dashboard_sql import (
    ADT_SQL,
    ALERTS_SQL,
    ITEM_COLUMNS,
    NURSE_SETS_SQL,
    PATIENT_ADT_SQL,
    PATIENT_ALERTS_SQL,
    PATIENT_EVENTS_SQL,
    PATIENT_SETS_SQL,
    SQLITE_DUE,
    SQLITE_SYSTEM,
    STAY_COLUMNS,
    WARDS_SQL,
    WINDOW_ITEMS_SQL,
    WINDOW_STAYS_SQL,
)
from surveillance.store._migrations import (
    ACCEPTED_SQL,
    LATEST_SCORES_SQL,
    OPEN_ALERTS_SQL,
    OUTBOX_SQL,
    PLACED_PLANS_SQL,
    PLACEMENTS_SQL,
    SCORER_STATE_SQL,
    TABLE_BY_NAME,
    TABLE_BY_RECORD,
    TABLES,
    StoreError,
    Table,
    check_version,
    events_sql,
    migrations,
    placed_labs_sql,
    recent_msg_ids_sql,
    split_sql,
)

T = TypeVar("T")
R = TypeVar("R")

_MIN_VERSION: Final = (3, 24, 0)  # INSERT ... ON CONFLICT DO NOTHING
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def to_text(value: datetime) -> str:
    """`value` as fixed-width ISO-8601 UTC text; a naive datetime is refused (its zone is unknown)."""
    if value.tzinfo is not UTC:  # the fast path is the common case: already UTC
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(
                f"naive datetime {value.isoformat()}: store times must be timezone-aware"
            )
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def _dumper(kind: str) -> Callable[[Any], Any] | None:
    if kind == "time":
        return to_text
    if kind == "json":
        return lambda v: _json_encode(v).decode()
    if kind in ("rawjson", "utf8"):
        return bytes.decode
    if kind == "bool":
        return int
    return None


def _loader(kind: str) -> Callable[[Any], Any] | None:
    if kind == "time":
        return datetime.fromisoformat
    if kind == "json":
        return _json_decode
    if kind in ("rawjson", "utf8"):
        return str.encode
    if kind == "bool":
        return bool
    if kind == "float":
        return float
    return None


_MARK_DIRTY: Final = (
    "INSERT INTO dashboard_dirty (patient_id, mark) VALUES (?, ?)"
    " ON CONFLICT (patient_id) DO UPDATE SET mark = excluded.mark"
)
_INSERT_ITEM: Final = "INSERT INTO dashboard_items ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(ITEM_COLUMNS), ", ".join("?" * len(ITEM_COLUMNS))
)
_INSERT_STAY: Final = "INSERT INTO dashboard_stays ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(STAY_COLUMNS), ", ".join("?" * len(STAY_COLUMNS))
)


def _item_row(i: DashboardItem) -> tuple[Any, ...]:
    return (
        i.patient_id, i.measure, to_text(i.time), None if i.decided is None else to_text(i.decided),
        i.ward, int(i.hospital), i.numerator, i.denominator, i.value, i.sex, i.ethnicity, i.age,
        i.imd, i.needs,
    )  # fmt: skip


def _stay_row(s: DashboardStay) -> tuple[Any, ...]:
    return (
        s.patient_id, s.ward, to_text(s.start), None if s.end is None else to_text(s.end), s.sex,
        s.ethnicity, s.age, s.imd, s.needs,
    )  # fmt: skip


def _time_or_none(text: str | None) -> datetime | None:
    """A JSON time (RFC 3339) read back, None for a JSON null."""
    return None if text is None else datetime.fromisoformat(text)


class _Codec:
    """Rows to and from the records of one table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.get = operator.attrgetter(*table.columns)
        self.dump = [(i, f) for i, k in enumerate(table.kinds) if (f := _dumper(k))]
        self.load = [(i, f) for i, k in enumerate(table.kinds) if (f := _loader(k))]
        placeholders = ", ".join("?" * len(table.columns))
        self.insert = (
            f"INSERT INTO {table.name} ({', '.join(table.columns)}) "  # noqa: S608 (constants)
            f"VALUES ({placeholders}) {table.on_conflict()}"
        )

    def to_row(self, record: Any) -> list[Any]:
        row = list(self.get(record))
        for i, f in self.dump:
            row[i] = f(row[i])
        return row

    def from_row(self, row: tuple[Any, ...]) -> Any:
        values = list(row)
        for i, f in self.load:
            values[i] = f(values[i])
        return self.table.record(*values)


_CODECS: Final[dict[str, _Codec]] = {t.name: _Codec(t) for t in TABLES}
_Rows: TypeAlias = tuple[
    list[tuple[_Codec, list[list[Any]]]],
    list[tuple[str, str, str]],
    list[tuple[str]],
    list[tuple[str]],
    list[str],
]
"""A batch's rows: each table's inserts, the state upserts and deletes, the outbox deletes,
the patients whose dashboard items it changes."""
_UPSERT_STATE: Final = (
    "INSERT INTO scorer_state (key, state, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
)


class SqliteStore:
    """The store in one SQLite file (or `:memory:`), migrated on open.

    Attributes:
        path: the database file, or `:memory:`.
        layout: `"sqlite"`, for `/healthz`.
    """

    layout: Final = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader_executor: ThreadPoolExecutor | None = None
        self._reader: sqlite3.Connection | None = None
        self.schema_version = 0

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    @property
    def store_info(self) -> dict[str, Any]:
        """What `/healthz` reports about the store."""
        return {
            "backend": "sqlite",
            "layout": self.layout,
            "path": self.path,
            "schema_version": self.schema_version,
            "sqlite_version": sqlite3.sqlite_version,
        }

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        if self._executor is None:
            raise StoreError("the store is not open (use `async with`)")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def __aenter__(self) -> Self:
        if sqlite3.sqlite_version_info < _MIN_VERSION:
            raise StoreError(f"SQLite {sqlite3.sqlite_version} is too old: 3.24 or later needed")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        try:
            await self._run(self._open)
        except BaseException:
            await self._close_executor()
            raise
        if self.path != ":memory:":  # a second connection to :memory: is another database
            self._reader_executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="sqlite-reader"
            )
            try:
                await self._read(self._open_reader)
            except BaseException:
                await self._close_executor()
                raise
        return self

    async def _read(self, fn: Callable[..., R], *args: Any) -> R:
        """`fn` on the reader's thread (on the writer's without a reader)."""
        if self._reader_executor is None:
            return await self._run(fn, *args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_executor, fn, *args)

    def _open_reader(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms:d}")
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {e}") from e
        self._reader = conn

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close_executor()

    async def _close_executor(self) -> None:
        if self._reader_executor is not None:
            try:
                await self._read(self._close_reader)
            finally:
                self._reader_executor.shutdown(wait=False)
                self._reader_executor = None
        if self._executor is None:
            return
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None

    # Everything below `_conn` runs on the worker thread.

    def _open(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)  # transactions explicit
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {e}") from e
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms:d}")
            self._wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except sqlite3.Error as e:
            self._close()
            raise StoreError(f"cannot open SQLite database {self.path!r}: {e}") from e
        except BaseException:
            self._close()
            raise

    def _wal(self, conn: sqlite3.Connection) -> None:
        """WAL journal. Switching to it takes a lock that the busy timeout does not wait for
        (services opening one new file together see "database is locked"): retry for as long."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the pending migrations, each in one IMMEDIATE transaction (one writer at a time)."""
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        known = migrations("sqlite")
        check_version(self._stored_version(conn), known)  # refuse a newer database first
        for migration in known:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                if migration in check_version(self._stored_version(conn), known):
                    for statement in split_sql(migration.sql):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        (migration.version, migration.name, to_text(datetime.now(UTC))),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self.schema_version = self._stored_version(conn)

    @staticmethod
    def _stored_version(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        return int(row[0])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is not open (use `async with`)")
        return self._conn

    @staticmethod
    def _rows(batch: Batch) -> _Rows:
        """`batch` as rows, table by table (Python: built on the caller's thread, see `write`)."""
        rows = [
            (_CODECS[t.name], [_CODECS[t.name].to_row(r) for r in t.records(batch)]) for t in TABLES
        ]
        states = batch.latest_states()
        upserts = [
            (s.key, s.state.decode(), to_text(s.time)) for s in states if s.state is not None
        ]
        deletes = [(s.key,) for s in states if s.state is None]
        published = [(key,) for key in batch.published]
        return rows, upserts, deletes, published, dirty_patients_of(batch)

    def _execute(self, prepared: _Rows) -> None:
        rows, upserts, deletes, published, dirty = prepared
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for codec, table_rows in rows:
                    if table_rows:
                        conn.executemany(codec.insert, table_rows)
                if deletes:
                    conn.executemany("DELETE FROM scorer_state WHERE key = ?", deletes)
                if published:
                    conn.executemany("DELETE FROM outbox WHERE key = ?", published)
                if upserts:
                    conn.executemany(_UPSERT_STATE, upserts)
                if dirty:  # in the same transaction: a kill never loses a change
                    conn.execute("UPDATE dashboard_mark SET mark = mark + 1")
                    (mark,) = conn.execute("SELECT mark FROM dashboard_mark").fetchone()
                    conn.executemany(_MARK_DIRTY, [(p, mark) for p in dirty])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreError(f"SQLite write failed: {e}") from e

    def _query(
        self, table: str, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[Any]:
        codec = _CODECS[table]
        try:
            return [codec.from_row(row) for row in self._connection().execute(sql, params)]
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e

    def _load_state(self, since: datetime, labs_since: datetime | None) -> StoredState:
        conn = self._connection()
        stamp = to_text(since)
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            placements: list[AdtRecord] = self._query("adt", PLACEMENTS_SQL)
            scores: list[ScoreRecord] = self._query("scores", LATEST_SCORES_SQL)
            alerts: list[AlertRecord] = self._query("alert_events", OPEN_ALERTS_SQL)
            ids = {r[0] for r in conn.execute(recent_msg_ids_sql("?"), (stamp, stamp, stamp))}
            labs: list[LabRecord] = []
            if labs_since is not None:
                labs = self._query("labs", placed_labs_sql("?"), (to_text(labs_since),))
            plans: list[PlanRecord] = self._query("plans", PLACED_PLANS_SQL)
            accepted = {
                msg_id: (key, datetime.fromisoformat(received))
                for msg_id, key, received in conn.execute(ACCEPTED_SQL.format("?"), (stamp,))
            }
            scorer_state = {
                key: _json_decode(state) for key, state in conn.execute(SCORER_STATE_SQL)
            }
            outbox: list[OutboxRecord] = self._query("outbox", OUTBOX_SQL)
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e
        finally:
            conn.execute("COMMIT")
        return StoredState(
            placements, scores, alerts, ids, labs, plans, accepted, scorer_state, outbox
        )

    def _fetch(self, kind: type[T], patient_id: str | None, since: datetime | None) -> list[T]:
        table = TABLE_BY_RECORD[kind]
        order = ", ".join(("time", *table.key))
        conditions, params = [], []
        if patient_id is not None:
            conditions.append("patient_id = ?")
            params.append(patient_id)
        if since is not None:
            conditions.append("time >= ?")
            params.append(to_text(since))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT {', '.join(table.columns)} FROM {table.name}{where} ORDER BY {order}"  # noqa: S608 (constants)
        return self._query(table.name, sql, tuple(params))

    def _events(
        self,
        since: datetime | None,
        until: datetime | None,
        kinds: list[str] | None,
        patient_id: str | None,
    ) -> list[EventRecord]:
        params: list[Any] = [to_text(t) for t in (since, until) if t is not None]
        params += kinds or []
        params += [] if patient_id is None else [patient_id]
        query = events_sql(
            "?",
            since=since is not None,
            until=until is not None,
            kinds=len(kinds or ()),
            patient=patient_id is not None,
        )
        return self._query("clinical_events", query, tuple(params))

    def _dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        conn = self._connection()
        start, end = to_text(since), to_text(until)
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            window = {"since": start, "until": end, "lookback": to_text(since - DASHBOARD_LOOKBACK)}
            query = ADT_SQL.format(since=":since", until=":until", lookback=":lookback")
            adt: list[AdtRecord] = self._query("adt", query, window)
            wards = [row[0] for row in conn.execute(WARDS_SQL.format(until=":until"), window)]
            sets = [
                NurseSetRow(datetime.fromisoformat(t), patient, ward, system, _time_or_none(due))
                for t, patient, ward, system, due in conn.execute(
                    NURSE_SETS_SQL.format(p="?", due=SQLITE_DUE),
                    (to_text(since - DASHBOARD_LOOKBACK), end),
                )
            ]
            alerts = [
                AlertRow(a, q, datetime.fromisoformat(t), w, pid, k, sev, st, sy)
                for a, q, t, w, pid, k, sev, st, sy in conn.execute(
                    ALERTS_SQL.format(p="?", system=SQLITE_SYSTEM), (start, end, end)
                )
            ]
            events = self._events(since, until, None, None)
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e
        finally:
            conn.execute("COMMIT")
        return DashboardRows(adt, sets, alerts, events, wards)

    def _dirty_patients(self, limit: int) -> list[DirtyPatient]:
        rows = self._connection().execute(
            "SELECT patient_id, mark FROM dashboard_dirty ORDER BY mark, patient_id LIMIT ?",
            (limit,),
        )
        return [DirtyPatient(p, m) for p, m in rows]

    def _set_aside_count(self) -> int:
        row = self._connection().execute("SELECT count(*) FROM dashboard_set_aside").fetchone()
        return int(row[0])

    def _dirty_count(self) -> int:
        row = self._connection().execute("SELECT count(*) FROM dashboard_dirty").fetchone()
        return int(row[0])

    def _patient_rows(self, patient_ids: list[str]) -> DashboardRows:
        conn = self._connection()
        ids = f"IN ({', '.join('?' * len(patient_ids))})"
        params = tuple(patient_ids)
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            adt: list[AdtRecord] = self._query("adt", PATIENT_ADT_SQL.format(ids=ids), params)
            sets = [
                NurseSetRow(datetime.fromisoformat(t), patient, ward, system, _time_or_none(due))
                for t, patient, ward, system, due in conn.execute(
                    PATIENT_SETS_SQL.format(ids=ids, due=SQLITE_DUE), params + params
                )
            ]
            alerts = [
                AlertRow(a, q, datetime.fromisoformat(t), w, pid, k, sev, st, sy)
                for a, q, t, w, pid, k, sev, st, sy in conn.execute(
                    PATIENT_ALERTS_SQL.format(ids=ids, system=SQLITE_SYSTEM), params
                )
            ]
            events: list[EventRecord] = self._query(
                "clinical_events", PATIENT_EVENTS_SQL.format(ids=ids), params
            )
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e
        finally:
            conn.execute("COMMIT")
        return DashboardRows(adt, sets, alerts, events)

    def _replace_dashboard_items(
        self,
        done: list[tuple[str, int]],
        items: list[tuple[Any, ...]],
        stays: list[tuple[Any, ...]],
        set_aside: list[tuple[str, str]],
    ) -> int:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = [(p,) for p, _ in done]
                conn.executemany("DELETE FROM dashboard_items WHERE patient_id = ?", ids)
                conn.executemany("DELETE FROM dashboard_stays WHERE patient_id = ?", ids)
                conn.executemany("DELETE FROM dashboard_set_aside WHERE patient_id = ?", ids)
                conn.executemany(
                    "INSERT INTO dashboard_set_aside (patient_id, reason) VALUES (?, ?)", set_aside
                )
                conn.executemany(_INSERT_ITEM, items)
                conn.executemany(_INSERT_STAY, stays)
                before = conn.total_changes
                conn.executemany(
                    "DELETE FROM dashboard_dirty WHERE patient_id = ? AND mark = ?", done
                )
                cleared = conn.total_changes - before
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreError(f"SQLite write failed: {e}") from e
        return cleared

    def _dashboard_sums(
        self, since: datetime, until: datetime, medians: Collection[str]
    ) -> DashboardSums:
        conn = self._connection()
        window = {"since": to_text(since), "until": to_text(until)}
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            wards = [row[0] for row in conn.execute(WARDS_SQL.format(until=":until"), window)]
            items = [
                DashboardItem(
                    p, m, datetime.fromisoformat(t), _time_or_none(d), w, bool(h), n, dn, v,
                    sx, e, a, i, nd,
                )
                for p, m, t, d, w, h, n, dn, v, sx, e, a, i, nd in conn.execute(
                    WINDOW_ITEMS_SQL.format(since=":since", until=":until", measures=""), window
                )
            ]  # fmt: skip
            stays = [
                DashboardStay(p, w, datetime.fromisoformat(s), _time_or_none(e), *groups)
                for p, w, s, e, *groups in conn.execute(
                    WINDOW_STAYS_SQL.format(since=":since", until=":until"), window
                )
            ]
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e
        finally:
            conn.execute("COMMIT")
        return DashboardSums(wards, items, stays)

    def _count(self, table: str) -> int:
        name = TABLE_BY_NAME[table].name
        row = self._connection().execute(f"SELECT count(*) FROM {name}").fetchone()  # noqa: S608
        return int(row[0])

    def _accepted_among(self, msg_ids: list[str]) -> dict[str, tuple[str, datetime]]:
        conn, found = self._reader or self._connection(), {}
        try:
            for start in range(0, len(msg_ids), 500):
                chunk = msg_ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT msg_id, digest, received_at FROM accepted WHERE msg_id IN ({marks})"  # noqa: S608
                for msg_id, key, received in conn.execute(sql, chunk):
                    found[msg_id] = (key, datetime.fromisoformat(received))
        except sqlite3.Error as e:
            raise StoreError(f"SQLite query failed: {e}") from e
        return found

    def _ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"SQLite ping failed: {e}") from e

    # The async interface.

    async def write(self, batch: Batch) -> None:
        """Write every record of `batch` in one transaction; records already stored are kept.

        The rows are built here, on the event loop's thread, and only SQLite runs on the
        store's thread: SQLite's C code lets go of the GIL, whereas Python row building there
        would hold it while the loop, after each socket call, waits its turn (up to the 5 ms
        switch interval each time)."""
        await self._run(self._execute, self._rows(batch))

    async def load_state(
        self, since: datetime, *, labs_since: datetime | None = None
    ) -> StoredState:
        """The state the scorer resumes from; msg_ids received since `since`, and the placed
        patients' lab results since `labs_since`."""
        return await self._run(self._load_state, since, labs_since)

    async def accepted_among(self, msg_ids: list[str]) -> dict[str, tuple[str, datetime]]:
        """Those of `msg_ids` ever accepted: (content digest, when received) of each."""
        return await self._read(self._accepted_among, msg_ids)

    async def ping(self) -> None:
        """Raise `StoreError` if the database cannot be read."""
        await self._run(self._ping)

    async def fetch(
        self, kind: type[T], *, patient_id: str | None = None, since: datetime | None = None
    ) -> list[T]:
        """Every stored record of type `kind` (of one patient, from `since`, if given), by
        time then key."""
        return await self._run(self._fetch, kind, patient_id, since)

    async def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        patient_id: str | None = None,
    ) -> list[EventRecord]:
        """The clinical events whose time is in `[since, until)`, of `kinds` (every kind
        without it; none for an empty collection), of one patient if given; by time."""
        if kinds is not None and not kinds:
            return []
        chosen = None if kinds is None else sorted(set(kinds))
        return await self._run(self._events, since, until, chosen, patient_id)

    async def dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        """The rows the safety dashboard computes its measures from (one snapshot)."""
        return await self._run(self._dashboard_rows, since, until)

    async def dirty_patients(self, limit: int) -> list[DirtyPatient]:
        """Up to `limit` patients whose dashboard items are out of date (oldest marks first)."""
        return await self._run(self._dirty_patients, limit)

    async def dirty_count(self) -> int:
        """How many patients' dashboard items are out of date."""
        return await self._run(self._dirty_count)

    async def patient_rows(self, patient_ids: Collection[str]) -> DashboardRows:
        """Every dashboard row of these patients, whatever their time (one snapshot)."""
        ids = sorted(set(patient_ids))
        if not ids:
            return DashboardRows([], [], [], [])
        return await self._run(self._patient_rows, ids)

    async def replace_dashboard_items(
        self,
        done: Collection[DirtyPatient],
        items: Collection[DashboardItem],
        stays: Collection[DashboardStay],
        set_aside: Mapping[str, str] | None = None,
    ) -> int:
        """In one transaction: the items and stays of the patients of `done` replaced, and
        their marks cleared where still as read; those of `set_aside` recorded as set aside
        (with their reason), the others no longer. Returns the marks cleared."""
        marks = [(d.patient_id, d.mark) for d in done]
        item_rows = [_item_row(i) for i in items]
        stay_rows = [_stay_row(s) for s in stays]
        aside = list((set_aside or {}).items())
        return await self._run(self._replace_dashboard_items, marks, item_rows, stay_rows, aside)

    async def refresh_rollups(self, tz: str, cells: CellSpec) -> int:
        """Nothing: SQLite keeps no rollups (it returns the items; one ward's store)."""
        return 0

    async def set_aside_count(self) -> int:
        """How many patients are set aside (their items could not be made)."""
        return await self._run(self._set_aside_count)

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
        """The window's items and stays as they are (SQLite, the one-ward store, sums
        nothing: the dashboard sums them, whatever `cells`); one snapshot."""
        return await self._run(self._dashboard_sums, since, until, medians)

    async def count(self, table: str) -> int:
        """The number of rows of `table` (one of the six record tables)."""
        return await self._run(self._count, table)
