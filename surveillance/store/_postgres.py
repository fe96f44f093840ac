"""The PostgreSQL backend (TimescaleDB when the server has it): the hospital deployment's store.

One `psycopg.AsyncConnection` in autocommit mode with explicit transactions, used by one
operation at a time (an `asyncio.Lock`: a `/healthz` ping must not run inside a write's
transaction). `write()` COPYs each record list into a TEMP staging table created once per
connection (`ON COMMIT DELETE ROWS`), then `INSERT INTO target SELECT ... FROM staging
ON CONFLICT DO NOTHING`, all in one transaction: COPY is the fast path in, and the INSERT makes
redelivered records no-ops. A lost connection makes that one call raise `StoreError`; the next
call reconnects by itself. The scorer's per-batch id lookup (`accepted_among`) has a second
connection of its own, so it never waits behind a write's transaction.

Layouts (`store.layout`, reported by `/healthz`):

- `"postgresql"`: plain tables; each record's key is unique on its own, and BRIN indexes on `time`
  serve time ranges of the append-mostly tables at almost no write cost.
- `"timescaledb"`: when the extension is available, `observations` and `scores` (the high-volume
  tables) become hypertables on `time`, compressed (segmented by `patient_id`) after
  `compress_after` and dropped after `retention`. TimescaleDB requires the time column in every
  unique index of a hypertable, so their unique keys become `(msg_id, time)` and
  `(obs_msg_id, time)`: a redelivery (same msg_id, same time) is still stored once, but the same
  msg_id arriving with a *different* time would be stored twice. The service also dedupes
  msg_ids in memory (`load_state().recent_msg_ids`), which catches that case in practice. ADT,
  labs, alerts and dead letters are small and stay plain tables with their exact keys.
  Inserting into an already-compressed chunk (a record older than `compress_after`) needs
  TimescaleDB 2.11 or later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import operator
import re
import time
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads

from surveillance.store._base import (
    DASHBOARD_LOOKBACK,
    AlertRow,
    Batch,
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DirtyPatient,
    EventRecord,
    NurseSetRow,
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
    POSTGRES_CELLS,
    POSTGRES_DUE,
    POSTGRES_MARK_DIRTY,
    POSTGRES_PATIENT_STAYS,
    POSTGRES_PATIENT_SUMS,
    POSTGRES_PERIOD_SUMS,
    POSTGRES_STAY_SUMS,
    POSTGRES_SYSTEM,
    POSTGRES_VALUE_ROWS,
    POSTGRES_WARDS_SQL,
    ROLLUP_ASSIGN,
    ROLLUP_BUCKET_PATIENTS,
    ROLLUP_CELL_SUMS,
    ROLLUP_CELLS,
    ROLLUP_CLEAR,
    ROLLUP_DIRTY_BUCKETS,
    ROLLUP_DIRTY_QUARTER_LIST,
    ROLLUP_DIRTY_QUARTERS,
    ROLLUP_DONE,
    ROLLUP_DROP_EMPTY,
    ROLLUP_FOOTPRINTS,
    ROLLUP_FORGET_OTHER_TZ,
    ROLLUP_LOCK,
    ROLLUP_NEW_BUCKETS,
    ROLLUP_NEW_QUARTERS,
    ROLLUP_PERIOD_SUMS,
    ROLLUP_PERIODS,
    ROLLUP_QUARTER,
    ROLLUP_QUARTER_CHECK,
    ROLLUP_RAW,
    ROLLUP_REBUILT_QUARTER,
    ROLLUP_STAY_SUMS,
    ROLLUP_STAYS,
    ROLLUP_UNSETTLED,
    ROLLUP_USABLE,
    STAY_COLUMNS,
    WARDS_SQL,
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
    Migration,
    StoreError,
    Table,
    check_version,
    events_sql,
    migrations,
    placed_labs_sql,
    recent_msg_ids_sql,
)

T = TypeVar("T")

#: Held (transaction-scoped) while migrating, so services starting together migrate once.
MIGRATION_LOCK: Final = 0x5375_7276_5354_4F52  # "SurvSTOR"
DEFAULT_COMPRESS_AFTER: Final = timedelta(days=7)
DEFAULT_RETENTION: Final = timedelta(days=8 * 365 + 2)  # 8 years: NHS adult records retention
#: The hypertables and the key each is unique on (with `time`).
HYPERTABLES: Final = (("observations", "msg_id"), ("scores", "obs_msg_id"))

_PG_TYPES: Final = {
    "text": "text",
    "text?": "text",
    "time": "timestamptz",
    "json": "jsonb",
    "rawjson": "jsonb",
    "utf8": "text",
    "int": "int4",
    "int?": "int4",
    "float": "float8",
    "bool": "bool",
}
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


def _json_dumps(value: Any) -> bytes:
    """JSON for a json/jsonb parameter: `JsonBytes` are JSON already, sent as they are."""
    return value if type(value) is bytes else _json_encode(value)


_UPSERT_STATE: Final = (
    "INSERT INTO scorer_state (key, state, updated_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
)


_SECRET_QUERY: Final = re.compile(r"(?i)((?:^|&)(?:ssl)?password=)[^&]*")
"""libpq reads any connection parameter from the URL's query too: `?password=...`,
`?sslpassword=...` (the client key's passphrase)."""


def redact_url(url: str) -> str:
    """`url` with its password replaced by `***`, in the user part or the query (for
    messages, logs and reprs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return _redact_query(url)
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return _redact_query(urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}")))


def _redact_query(url: str) -> str:
    """`url` with the values of `password` and `sslpassword` in its query replaced by `***`
    (the rest of the text as it was)."""
    head, sep, query = url.partition("?")
    return head + sep + _SECRET_QUERY.sub(r"\1***", query) if sep else url


def describe(e: psycopg.Error) -> str:
    """What went wrong, for a `StoreError` (which goes to logs and `/healthz`), without the
    data: PostgreSQL's DETAIL (`Failing row contains (...)`, `Key (msg_id)=(...)`), its
    statement excerpt (`LINE 1: ...`) and, for a data or integrity error, its primary message
    too (`invalid input syntax for type integer: "..."` quotes the value) are left out; the
    table, column and constraint are named instead."""
    if isinstance(e, psycopg.DataError | psycopg.IntegrityError):
        diag = e.diag
        names = [
            f"{what} {name}"
            for what, name in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if name
        ]
        where = f" ({', '.join(names)})" if names else ""
        return f"{type(e).__name__}, SQLSTATE {e.sqlstate}{where}"
    return str(e).split("\nDETAIL:", 1)[0].split("\nLINE ", 1)[0]


def _stage(table: Table) -> str:
    return f"_stage_{table.name}"


class _Plan:
    """The staging statements of one table, built once from constants."""

    def __init__(self, table: Table) -> None:
        cols = sql.SQL(", ").join(map(sql.Identifier, table.columns))
        target, stage = sql.Identifier(table.name), sql.Identifier(_stage(table))
        self.table = table
        self.get = operator.attrgetter(*table.columns)
        self.create = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(stage, target)
        self.copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, cols)
        self.insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ").format(
            target, cols, cols, stage
        ) + sql.SQL(table.on_conflict())  # built from constants
        self.types = [_PG_TYPES[k] for k in table.kinds]
        self.times = [i for i, k in enumerate(table.kinds) if k == "time"]
        self.texts = [i for i, k in enumerate(table.kinds) if k == "utf8"]
        # Read back: jsonb comes decoded (and reordered by PostgreSQL); encoded again.
        self.reads = [
            (i, _json_encode if k == "rawjson" else str.encode)
            for i, k in enumerate(table.kinds)
            if k in ("rawjson", "utf8")
        ]
        self.select = sql.SQL("SELECT {} FROM {}").format(cols, target)
        self.order = sql.SQL(" ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, ("time", *table.key)))
        )

    def row(self, record: Any) -> tuple[Any, ...]:
        row: tuple[Any, ...] = self.get(record)
        for i in self.times:
            value: datetime = row[i]
            if value.tzinfo is not UTC and (value.tzinfo is None or value.utcoffset() is None):
                raise StoreError(
                    f"naive datetime {value.isoformat()}: store times must be timezone-aware"
                )
        if self.texts:
            values = list(row)
            for i in self.texts:
                values[i] = values[i].decode()
            return tuple(values)
        return row

    def record(self, row: tuple[Any, ...]) -> Any:
        """The record of a row read back."""
        if not self.reads:
            return self.table.record(*row)
        values = list(row)
        for i, f in self.reads:
            values[i] = f(values[i])
        return self.table.record(*values)


_PLANS: Final[dict[str, _Plan]] = {t.name: _Plan(t) for t in TABLES}

_log = logging.getLogger(__name__)

SUMS_WORK_MEM: Final = "128MB"


def _cell_params(cells: CellSpec, params: dict[str, Any]) -> dict[str, Any]:
    """`POSTGRES_CELLS`'s parameters: the window's (`params`) and `cells`'."""
    return {
        **params,
        "map_measures": [m for m, _, _ in cells.names],
        "map_names": [n for _, n, _ in cells.names],
        "map_own": [o for _, _, o in cells.names],
        "rates": [r for r, _ in cells.rates],
        "exposures": [e for _, e in cells.rates],
        "days": cells.days,
        "needs": list(cells.needs),
        "no_needs": cells.no_needs,
        "all": cells.all,
        "every": cells.wards is None,
        "scopes": ["h", *("w" + w for w in cells.wards or ())],
    }


def local_days(start: datetime, stop: datetime, tz: str) -> tuple[list[datetime], list[datetime]]:
    """The local days of `[start, stop)` (the first from `start`), as Python's rules of `tz`
    make them: the windows' periods are Python's, and the database server's rules may be
    another tzdata's. A day of no length (a day skipped: Apia, 30 December 2011) is left out,
    as `width_bucket` puts its instant in the next day. Their starts and their ends."""
    zone = ZoneInfo(tz)
    starts = [start]
    day = start.astimezone(zone).date()
    while True:
        day += timedelta(days=1)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        if midnight >= stop:
            return starts, [*starts[1:], stop]
        if midnight > starts[-1]:
            starts.append(midnight)


def spec_key(cells: CellSpec) -> str:
    """What a bucket's cells were summed with (`CellSpec` but the wards), as a digest."""
    text = repr((cells.names, cells.rates, cells.days, cells.needs, cells.no_needs, cells.all))
    return hashlib.sha256(text.encode()).hexdigest()


def _int(value: Any) -> int | None:
    """A sum as a whole number (PostgreSQL's `sum` of bigints is numeric); None stays."""
    return None if value is None else int(value)


async def _sums_settings(cur: psycopg.AsyncCursor[Any]) -> None:
    """A dashboard read's settings: room for the hash aggregations of a year of a big hospital
    (~250k groups: with the default 4 MB they sort on disk, 3x slower), hash joins only (see
    `POSTGRES_CELLS`), no JIT (half a second to compile)."""
    await cur.execute(f"SET LOCAL work_mem = '{SUMS_WORK_MEM}'")
    await cur.execute("SET LOCAL enable_mergejoin = off")
    await cur.execute("SET LOCAL jit = off")


async def _timed_rows(
    cur: psycopg.AsyncCursor[Any], name: str, query: str, args: Mapping[str, Any]
) -> list[Any]:
    """The rows of `query`; its time logged at DEBUG (`bench/dashboard --queries` reads it)."""
    began = time.perf_counter()
    await cur.execute(query, args)
    found = await cur.fetchall()
    _log.debug("dashboard_sums %s: %.3f s, %d rows", name, time.perf_counter() - began, len(found))
    return found


SIDE_LOCK_TIMEOUT: Final = "2s"
"""How long the second lane of a dashboard read waits for a table's lock. The first lane
holds its tables' locks while it waits (in Python) for the second: a lock that conflicts with
them (ACCESS EXCLUSIVE: a migration's, an ALTER's) asked for meanwhile waits for the first,
and the second, asking for a table after it, waits behind it, a deadlock PostgreSQL cannot
see (the store's connection lock held all the while). The second lane fails instead: the
read fails, its locks go, the other's lock is granted."""

RAW_LANE: Final = 2000
"""Patients summed from items up to which their cells leave room for the period and stay sums
in the first lane (a year's edges: about a thousand, 0.2 s; a window off the months: several
thousand, 0.9 s)."""


def _sums_jobs(
    params: dict[str, Any], cells: CellSpec | None, raw: int | None, medians: bool
) -> tuple[list[tuple[str, str, Mapping[str, Any]]], list[tuple[str, str, Mapping[str, Any]]]]:
    """A dashboard read's queries, `(name, query, parameters)`, split in two lanes of about
    equal time: the equity cells of the patients summed from items on the first; when the
    window contains buckets (`raw`: the patients summed from items, else None) their cells on
    the second, and the period and stay sums on the first if few patients are summed from
    items; the rest (the medians' values among them) on the second."""
    rolled = raw is not None
    mine = "AND patient_id = ANY(%(raw)s::text[])" if rolled else ""
    periods = POSTGRES_PERIOD_SUMS.format(patients=mine)
    stays = POSTGRES_STAY_SUMS.format(patients=mine.replace("patient_id", "s.patient_id"))
    if rolled:
        periods = f"{periods} UNION ALL {ROLLUP_PERIOD_SUMS}"
        stays = f"{stays} UNION ALL {ROLLUP_STAY_SUMS}"
    main: list[tuple[str, str, Mapping[str, Any]]] = []
    side: list[tuple[str, str, Mapping[str, Any]]] = []
    if cells is None:
        main.append(("patient sums", POSTGRES_PATIENT_SUMS, params))
        side.append(("patient stays", POSTGRES_PATIENT_STAYS, params))
    else:
        cell_params = {"all_sums": False, **_cell_params(cells, params)}
        main.append(("cells", POSTGRES_CELLS.format(patients=mine), cell_params))
        if rolled:
            side.append(("rollup cells", ROLLUP_CELL_SUMS, cell_params))
    sums = [("period sums", periods, params), ("stay sums", stays, params)]
    (main if raw is not None and raw <= RAW_LANE else side).extend(sums)
    if medians:
        side.append(("medians", POSTGRES_VALUE_ROWS, params))
    return main, side


def _summed_buckets(found: list[Any]) -> tuple[list[int], list[int]]:
    """Of the clean buckets a window contains, `(id, level, start, stop)`: the level-1 ones
    (their patients are not summed from items) and those whose rollups are added: quarters
    that overlap none added before them, and the level-1 buckets in none of those (a clean
    quarter's buckets are all clean, so all of them are among those found). Two quarters
    overlap when the server's zone rules changed between refreshes (the quarter made again,
    an hour off): they hold the same buckets, and only one of them may be added."""
    quarters: list[tuple[int, Any, Any]] = []
    for i, level, start, stop in sorted(found, key=lambda row: (row[2], row[3], row[0])):
        if level == 2 and all(stop <= a or b <= start for _, a, b in quarters):
            quarters.append((int(i), start, stop))
    covered = [int(i) for i, level, _, _ in found if level == 1]
    summed = [i for i, _, _ in quarters] + [
        int(i)
        for i, level, start, stop in found
        if level == 1 and not any(a <= start and stop <= b for _, a, b in quarters)
    ]
    return covered, summed


def _added_cells(*parts: list[Any]) -> list[tuple[Any, ...]]:
    """Cell rows `(kind, name, scope, dimension, group, n, nx, y, x, yy, xy, xx)` of disjoint
    sets of patients added cell by cell (whole numbers; None where a kind has none)."""
    added: dict[tuple[Any, ...], list[int | None]] = {}
    for part in parts:
        for kind, name, scope, dim, grp, *values in part:
            key = (kind, name, scope, dim, grp)
            numbers = [_int(v) for v in values]
            before = added.get(key)
            if before is None:
                added[key] = numbers
            else:
                added[key] = [
                    a if b is None else b if a is None else a + b
                    for a, b in zip(before, numbers, strict=True)
                ]
    return [(*key, *numbers) for key, numbers in added.items()]


"""`work_mem` of the dashboard's sums (per transaction, `SET LOCAL`)."""

_COPY_ITEMS: Final = sql.SQL("COPY dashboard_items ({}) FROM STDIN (FORMAT BINARY)").format(
    sql.SQL(", ").join(map(sql.Identifier, ITEM_COLUMNS))
)
_ITEM_TYPES: Final = [
    "text", "text", "timestamptz", "timestamptz", "text", "bool", "float8", "float8", "float8",
    "text", "text", "text", "text", "int4",
]  # fmt: skip
_ITEM_ROW: Final = operator.attrgetter(*DashboardItem.__slots__)
_COPY_STAYS: Final = sql.SQL("COPY dashboard_stays ({}) FROM STDIN (FORMAT BINARY)").format(
    sql.SQL(", ").join(map(sql.Identifier, STAY_COLUMNS))
)
_STAY_TYPES: Final = [
    "text", "text", "timestamptz", "timestamptz", "text", "text", "text", "text", "int4",
]  # fmt: skip
_STAY_ROW: Final = operator.attrgetter(*DashboardStay.__slots__)


class PostgresStore:
    """The store in a PostgreSQL database, migrated on open.

    Args:
        url: `postgresql://user:pass@host:port/db` (or `postgres://`); never shown with its password.
        compress_after: TimescaleDB only: compress chunks older than this (`None`: never).
        retention: TimescaleDB only: drop observation and score chunks older than this
            (`None`: keep for ever). The default is 8 years, the NHS adult records retention.
        timescaledb: `None` uses TimescaleDB when the server offers it; `False` never does;
            `True` refuses to open without it.
        connect_timeout: seconds to wait for a connection.
    """

    describe = staticmethod(describe)
    """What a psycopg error says, without the data it quotes (for messages and logs)."""

    def __init__(
        self,
        url: str,
        *,
        compress_after: timedelta | None = DEFAULT_COMPRESS_AFTER,
        retention: timedelta | None = DEFAULT_RETENTION,
        timescaledb: bool | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self._url = url
        self.url = redact_url(url)
        self.compress_after = compress_after
        self.retention = retention
        self._timescaledb = timescaledb
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._lock = asyncio.Lock()
        self._reader: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._reader_lock = asyncio.Lock()
        self._side: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        """The dashboard's second connection (`dashboard_sums`)."""
        self._side_lock = asyncio.Lock()
        self._opened = False
        self.layout = "postgresql"
        self.schema_version = 0
        self.server_version = 0

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r}, layout={self.layout!r})"

    @property
    def store_info(self) -> dict[str, Any]:
        """What `/healthz` reports about the store (no password)."""
        info: dict[str, Any] = {
            "backend": "postgresql",
            "layout": self.layout,
            "url": self.url,
            "schema_version": self.schema_version,
            "server_version": self.server_version,
        }
        if self.layout == "timescaledb":
            info["hypertables"] = [t for t, _ in HYPERTABLES]
            info["compress_after_s"] = self.compress_after and self.compress_after.total_seconds()
            info["retention_s"] = self.retention and self.retention.total_seconds()
        return info

    @property
    def backend_pid(self) -> int | None:
        """The server process of the current connection (diagnostics), None when disconnected."""
        if self._conn is None or self._conn.closed:
            return None
        return self._conn.info.backend_pid

    async def __aenter__(self) -> Self:
        conn = await self._connect()
        try:
            await self._migrate(conn)
            await self._prepare(conn)
        except psycopg.Error as e:
            await conn.close()
            raise StoreError(
                f"cannot set up the PostgreSQL store at {self.url}: {describe(e)}"
            ) from e
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._opened = False
        async with self._reader_lock:
            if self._reader is not None:
                await self._reader.close()
                self._reader = None
        async with self._lock:
            # The second connection under the first's lock (the order of `dashboard_sums`): a
            # read running now opens it only once it has the lock, and none starts after.
            async with self._side_lock:
                if self._side is not None:
                    await self._side.close()
                    self._side = None
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _connect(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._connect_timeout)),
                application_name="surveillance-store",
            )
        except psycopg.Error as e:
            raise StoreError(f"cannot connect to PostgreSQL at {self.url}: {describe(e)}") from e
        set_json_dumps(_json_dumps, context=conn)
        set_json_loads(_json_decode, context=conn)
        try:
            await conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as e:
            await conn.close()
            raise StoreError(f"cannot set up the connection to {self.url}: {describe(e)}") from e
        self.server_version = conn.info.server_version
        return conn

    async def _prepare(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """Create this connection's staging tables (TEMP tables live as long as the session)."""
        for plan in _PLANS.values():
            await conn.execute(plan.create)

    async def _connection(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        """The open connection, reconnecting when the previous one was lost."""
        if not self._opened:
            raise StoreError("the store is not open (use `async with`)")
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        await self._discard()
        conn = await self._connect()
        try:
            await self._prepare(conn)
        except psycopg.Error as e:
            await conn.close()
            raise StoreError(f"cannot set up the connection to {self.url}: {describe(e)}") from e
        self._conn = conn
        return conn

    async def _discard(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _failed(self, what: str, e: psycopg.Error) -> StoreError:
        """The error to raise for `e`; forget the connection when it is the connection that failed."""
        if isinstance(e, psycopg.OperationalError | psycopg.InterfaceError) or (
            self._conn is not None and (self._conn.closed or self._conn.broken)
        ):
            await self._discard()
        return StoreError(f"PostgreSQL {what} failed: {describe(e)}")

    # Migrations.

    async def _stored_version(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        known = migrations("postgres")
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            check_version(await self._stored_version(conn), known)
        for migration in known:
            await self._apply(conn, migration, known)
        self.schema_version = await self._stored_version(conn)
        self.layout = await self._timescale(conn)

    async def _apply(
        self,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        migration: Migration,
        known: list[Migration],
    ) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            # Re-read under the lock: another service may have migrated meanwhile.
            if migration in check_version(await self._stored_version(conn), known):
                await conn.execute(migration.sql.encode())  # no parameters: several statements
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )

    async def _timescale(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> str:
        """Convert to the TimescaleDB layout when available (idempotent); the layout in use."""
        if self._timescaledb is False:
            return "postgresql"
        cur = await conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = %s", ("timescaledb",)
        )
        if await cur.fetchone() is None:
            if self._timescaledb:
                raise StoreError("timescaledb=True but the server has no timescaledb extension")
            return "postgresql"
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            for table, key in HYPERTABLES:
                await self._hypertable(conn, table, key)
        return "timescaledb"

    async def _hypertable(
        self, conn: psycopg.AsyncConnection[tuple[Any, ...]], table: str, key: str
    ) -> None:
        ident, constraint = sql.Identifier(table), sql.Identifier(f"{table}_key")
        cur = await conn.execute(
            "SELECT 1 FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = current_schema() AND hypertable_name = %s",
            (table,),
        )
        if await cur.fetchone() is None:
            # Every unique index of a hypertable must contain its time column.
            await conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident, constraint)
            )
            await conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({}, time)").format(
                    ident, constraint, sql.Identifier(key)
                )
            )
            # The hypertable's own (time DESC) index replaces the BRIN index.
            await conn.execute(
                sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(f"{table}_time"))
            )
            await conn.execute(
                "SELECT create_hypertable(%s::regclass, 'time', migrate_data => TRUE,"
                " if_not_exists => TRUE)",
                (table,),
            )
            await conn.execute(
                sql.SQL(
                    "ALTER TABLE {} SET (timescaledb.compress,"
                    " timescaledb.compress_segmentby = 'patient_id',"
                    " timescaledb.compress_orderby = {})"
                ).format(ident, sql.Literal(f"time DESC, {key}"))
            )
        # Policies follow the configuration of the service that started last.
        await conn.execute(
            "SELECT remove_compression_policy(%s::regclass, if_exists => TRUE)", (table,)
        )
        if self.compress_after is not None:
            await conn.execute(
                "SELECT add_compression_policy(%s::regclass, compress_after => %s::interval,"
                " if_not_exists => TRUE)",
                (table, self.compress_after),
            )
        await conn.execute(
            "SELECT remove_retention_policy(%s::regclass, if_exists => TRUE)", (table,)
        )
        if self.retention is not None:
            await conn.execute(
                "SELECT add_retention_policy(%s::regclass, drop_after => %s::interval,"
                " if_not_exists => TRUE)",
                (table, self.retention),
            )

    # The interface.

    async def write(self, batch: Batch) -> None:
        """Write every record of `batch` in one transaction; records already stored are kept.

        Raises:
            StoreError: nothing was written (lost connection, server error); retry the batch.
        """
        work = [(p, [p.row(r) for r in p.table.records(batch)]) for p in _PLANS.values()]
        work = [(p, rows) for p, rows in work if rows]
        states = batch.latest_states()
        upserts = [(s.key, Jsonb(s.state), s.time) for s in states if s.state is not None]
        deletes = [s.key for s in states if s.state is None]
        dirty = dirty_patients_of(batch)
        if not work and not states and not batch.published:
            return
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    for plan, rows in work:
                        async with cur.copy(plan.copy) as copy:
                            copy.set_types(plan.types)
                            for row in rows:
                                await copy.write_row(row)
                        await cur.execute(plan.insert)
                    if deletes:
                        await cur.execute(
                            "DELETE FROM scorer_state WHERE key = ANY(%s)", (deletes,)
                        )
                    if upserts:
                        await cur.executemany(_UPSERT_STATE, upserts)
                    if batch.published:
                        await cur.execute(
                            "DELETE FROM outbox WHERE key = ANY(%s)", (batch.published,)
                        )
                    if dirty:  # in the same transaction: a kill never loses a change
                        await cur.execute(POSTGRES_MARK_DIRTY, (dirty,))
            except psycopg.Error as e:
                raise await self._failed("write", e) from e

    async def load_state(
        self, since: datetime, *, labs_since: datetime | None = None
    ) -> StoredState:
        """The state the scorer resumes from; msg_ids received since `since`, and the placed
        patients' lab results since `labs_since` (one snapshot)."""
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    placements = await self._records(cur, "adt", PLACEMENTS_SQL)
                    scores = await self._records(cur, "scores", LATEST_SCORES_SQL)
                    alerts = await self._records(cur, "alert_events", OPEN_ALERTS_SQL)
                    await cur.execute(recent_msg_ids_sql("%(since)s"), {"since": since})
                    ids = {row[0] for row in await cur.fetchall()}
                    labs = []
                    if labs_since is not None:
                        query = placed_labs_sql("%s")
                        labs = await self._records(cur, "labs", query, (labs_since,))
                    plans = await self._records(cur, "plans", PLACED_PLANS_SQL)
                    await cur.execute(ACCEPTED_SQL.format("%s"), (since,))
                    accepted = {row[0]: (row[1], row[2]) for row in await cur.fetchall()}
                    await cur.execute(SCORER_STATE_SQL)
                    scorer_state = {row[0]: row[1] for row in await cur.fetchall()}
                    outbox = await self._records(cur, "outbox", OUTBOX_SQL)
            except psycopg.Error as e:
                raise await self._failed("load_state", e) from e
        return StoredState(
            placements, scores, alerts, ids, labs, plans, accepted, scorer_state, outbox
        )

    @staticmethod
    async def _records(
        cur: psycopg.AsyncCursor[tuple[Any, ...]],
        table: str,
        query: str | sql.SQL | sql.Composed,
        params: tuple[Any, ...] | dict[str, Any] = (),
    ) -> list[Any]:
        record = _PLANS[table].record
        await cur.execute(query, params or None)
        return [record(row) for row in await cur.fetchall()]

    async def accepted_among(self, msg_ids: list[str]) -> dict[str, tuple[str, datetime]]:
        """Those of `msg_ids` ever accepted: (content digest, when received) of each (on the
        reader connection: never behind a write)."""
        if not self._opened:
            raise StoreError("the store is not open (use `async with`)")
        async with self._reader_lock:
            try:
                conn = self._reader
                if conn is None or conn.closed or conn.broken:
                    self._reader = None
                    if conn is not None:
                        await conn.close()
                    conn = self._reader = await self._connect()
                cur = await conn.execute(
                    "SELECT msg_id, digest, received_at FROM accepted WHERE msg_id = ANY(%s)",
                    (msg_ids,),
                )
                rows = await cur.fetchall()
            except psycopg.Error as e:
                if self._reader is not None and (self._reader.closed or self._reader.broken):
                    await self._reader.close()
                    self._reader = None
                raise StoreError(f"PostgreSQL accepted_among failed: {describe(e)}") from e
        return {row[0]: (row[1], row[2]) for row in rows}

    async def ping(self) -> None:
        """Raise `StoreError` if the server cannot be reached (`SELECT 1`; reconnects if needed)."""
        async with self._lock:
            conn = await self._connection()
            try:
                await conn.execute("SELECT 1")
            except psycopg.Error as e:
                raise await self._failed("ping", e) from e

    async def fetch(
        self, kind: type[T], *, patient_id: str | None = None, since: datetime | None = None
    ) -> list[T]:
        """Every stored record of type `kind` (of one patient, from `since`, if given), by
        time then key."""
        plan = _PLANS[TABLE_BY_RECORD[kind].name]
        conditions: list[sql.Composable] = []
        params: list[Any] = []
        if patient_id is not None:
            conditions.append(sql.SQL("patient_id = %s"))
            params.append(patient_id)
        if since is not None:
            conditions.append(sql.SQL("time >= %s"))
            params.append(since)
        query = plan.select
        if conditions:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
        query += plan.order
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.cursor() as cur:
                    return await self._records(cur, plan.table.name, query, tuple(params))
            except psycopg.Error as e:
                raise await self._failed("fetch", e) from e

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
        chosen = [] if kinds is None else sorted(set(kinds))
        params: list[Any] = [t for t in (since, until) if t is not None]
        params += chosen
        params += [] if patient_id is None else [patient_id]
        query = events_sql(
            "%s",
            since=since is not None,
            until=until is not None,
            kinds=len(chosen),
            patient=patient_id is not None,
        )
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.cursor() as cur:
                    return await self._records(cur, "clinical_events", query, tuple(params))
            except psycopg.Error as e:
                raise await self._failed("events", e) from e

    async def dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        """The rows the safety dashboard computes its measures from (one snapshot)."""
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    window = {
                        "since": since,
                        "until": until,
                        "lookback": since - DASHBOARD_LOOKBACK,
                    }
                    query = ADT_SQL.format(
                        since="%(since)s", until="%(until)s", lookback="%(lookback)s"
                    )
                    adt = await self._records(cur, "adt", query, window)
                    await cur.execute(WARDS_SQL.format(until="%(until)s"), window)
                    wards = [row[0] for row in await cur.fetchall()]
                    await cur.execute(
                        NURSE_SETS_SQL.format(p="%s", due=POSTGRES_DUE),
                        (since - DASHBOARD_LOOKBACK, until),
                    )
                    sets = [
                        NurseSetRow(
                            t, pid, w, sy, None if due is None else datetime.fromisoformat(due)
                        )
                        for t, pid, w, sy, due in await cur.fetchall()
                    ]
                    await cur.execute(
                        ALERTS_SQL.format(p="%s", system=POSTGRES_SYSTEM), (since, until, until)
                    )
                    alerts = [AlertRow(*row) for row in await cur.fetchall()]
                    query = events_sql("%s", since=True, until=True, kinds=0, patient=False)
                    events = await self._records(cur, "clinical_events", query, (since, until))
            except psycopg.Error as e:
                raise await self._failed("dashboard_rows", e) from e
        return DashboardRows(adt, sets, alerts, events, wards)

    async def dirty_patients(self, limit: int) -> list[DirtyPatient]:
        """Up to `limit` patients whose dashboard items are out of date (oldest marks first)."""
        async with self._lock:
            conn = await self._connection()
            try:
                cur = await conn.execute(
                    "SELECT patient_id, mark FROM dashboard_dirty ORDER BY mark LIMIT %s", (limit,)
                )
                rows = await cur.fetchall()
            except psycopg.Error as e:
                raise await self._failed("dirty_patients", e) from e
        return [DirtyPatient(p, m) for p, m in rows]

    async def dirty_count(self) -> int:
        """How many patients' dashboard items are out of date."""
        async with self._lock:
            conn = await self._connection()
            try:
                cur = await conn.execute("SELECT count(*) FROM dashboard_dirty")
                row = await cur.fetchone()
            except psycopg.Error as e:
                raise await self._failed("dirty_count", e) from e
        return int(row[0]) if row else 0

    async def set_aside_count(self) -> int:
        """How many patients are set aside (their items could not be made)."""
        async with self._lock:
            conn = await self._connection()
            try:
                cur = await conn.execute("SELECT count(*) FROM dashboard_set_aside")
                row = await cur.fetchone()
            except psycopg.Error as e:
                raise await self._failed("set_aside_count", e) from e
        return int(row[0]) if row else 0

    async def patient_rows(self, patient_ids: Collection[str]) -> DashboardRows:
        """Every dashboard row of these patients, whatever their time (one snapshot)."""
        ids = {"ids": sorted(set(patient_ids))}
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    adt = await self._records(
                        cur, "adt", PATIENT_ADT_SQL.format(ids="= ANY(%(ids)s)"), ids
                    )
                    await cur.execute(
                        PATIENT_SETS_SQL.format(ids="= ANY(%(ids)s)", due=POSTGRES_DUE), ids
                    )
                    sets = [
                        NurseSetRow(
                            t, pid, w, sy, None if due is None else datetime.fromisoformat(due)
                        )
                        for t, pid, w, sy, due in await cur.fetchall()
                    ]
                    await cur.execute(
                        PATIENT_ALERTS_SQL.format(ids="= ANY(%(ids)s)", system=POSTGRES_SYSTEM), ids
                    )
                    alerts = [AlertRow(*row) for row in await cur.fetchall()]
                    events = await self._records(
                        cur, "clinical_events", PATIENT_EVENTS_SQL.format(ids="= ANY(%(ids)s)"), ids
                    )
            except psycopg.Error as e:
                raise await self._failed("patient_rows", e) from e
        return DashboardRows(adt, sets, alerts, events)

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
        aside = dict(set_aside or {})
        ids = sorted({d.patient_id for d in done})
        marks = sorted(done, key=lambda d: d.patient_id)
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    # The rollups' lock first: its holder (a bucket rebuild, seconds) must not
                    # be waited for holding the marks, which the scorer's writes update.
                    await cur.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
                    # Lock the marks, in the order writers take them (no deadlock).
                    await cur.execute(
                        "SELECT 1 FROM dashboard_dirty WHERE patient_id = ANY(%s)"
                        " ORDER BY patient_id FOR UPDATE",
                        (ids,),
                    )
                    # Their buckets no longer hold their sums: dirty; they are summed from
                    # items until the rollup refresh assigns them again (migration 0008).
                    await cur.execute(
                        "UPDATE dashboard_buckets SET dirty = true WHERE id IN (SELECT bucket"
                        " FROM dashboard_patients WHERE patient_id = ANY(%s)) AND NOT dirty",
                        (ids,),
                    )
                    await cur.execute(ROLLUP_DIRTY_QUARTERS)
                    await cur.execute(
                        "INSERT INTO dashboard_patients (patient_id) SELECT unnest(%s::text[])"
                        " ON CONFLICT (patient_id) DO UPDATE SET pending = true, bucket = NULL,"
                        " first_time = NULL, last_time = NULL",
                        (ids,),
                    )
                    await cur.execute(
                        "DELETE FROM dashboard_items WHERE patient_id = ANY(%s)", (ids,)
                    )
                    await cur.execute(
                        "DELETE FROM dashboard_stays WHERE patient_id = ANY(%s)", (ids,)
                    )
                    await cur.execute(
                        "DELETE FROM dashboard_set_aside WHERE patient_id = ANY(%s)", (ids,)
                    )
                    if aside:
                        await cur.execute(
                            "INSERT INTO dashboard_set_aside (patient_id, reason)"
                            " SELECT * FROM unnest(%s::text[], %s::text[])",
                            (list(aside), list(aside.values())),
                        )
                    async with cur.copy(_COPY_ITEMS) as copy:
                        copy.set_types(_ITEM_TYPES)
                        for item in items:
                            await copy.write_row(_ITEM_ROW(item))
                    async with cur.copy(_COPY_STAYS) as copy:
                        copy.set_types(_STAY_TYPES)
                        for stay in stays:
                            await copy.write_row(_STAY_ROW(stay))
                    await cur.execute(
                        "DELETE FROM dashboard_dirty d USING unnest(%s::text[], %s::int8[])"
                        " AS m(patient_id, mark) WHERE d.patient_id = m.patient_id"
                        " AND d.mark = m.mark",
                        ([d.patient_id for d in marks], [d.mark for d in marks]),
                    )
                    cleared = cur.rowcount
            except psycopg.Error as e:
                raise await self._failed("replace_dashboard_items", e) from e
        return cleared

    async def refresh_rollups(self, tz: str, cells: CellSpec) -> int:
        """Bring the rollups of settled patients up to date (migration 0008): assign the
        patients whose items were replaced to the buckets they settle in (months of `tz`; a
        bucket of another time zone is forgotten, its patients assigned again), then rebuild
        each bucket that is dirty or was summed with another cell spec, one transaction each.
        Returns the buckets rebuilt."""
        spec = spec_key(cells)
        params: dict[str, Any] = {"tz": tz, "spec": spec}
        async with self._upkeep() as cur:
            for query in ROLLUP_FORGET_OTHER_TZ:
                await cur.execute(query, params)
            for query in (
                ROLLUP_FOOTPRINTS, ROLLUP_NEW_BUCKETS, ROLLUP_ASSIGN, ROLLUP_UNSETTLED,
                ROLLUP_DIRTY_QUARTERS,
            ):  # fmt: skip
                await cur.execute(query, params)
            await cur.execute(ROLLUP_DIRTY_BUCKETS, params)
            buckets = [int(row[0]) for row in await cur.fetchall()]
        rebuilt = 0
        for bucket in buckets:
            rebuilt += await self._rebuild_bucket(bucket, tz, spec, cells)
        async with self._upkeep() as cur:
            await cur.execute(ROLLUP_NEW_QUARTERS, params)
            await cur.execute(ROLLUP_DIRTY_QUARTER_LIST, params)
            quarters = [int(row[0]) for row in await cur.fetchall()]
        for quarter in quarters:
            rebuilt += await self._rebuild_quarter(quarter, spec)
        return rebuilt

    async def _rebuild_quarter(self, quarter: int, spec: str) -> int:
        """Rebuild a quarter's rollups from those of the buckets inside it, if still out of
        date with each of them up to date (or drop it if none is left); 1 if rebuilt."""
        params = {"bucket": quarter, "spec": spec}
        async with self._upkeep() as cur:
            await cur.execute(ROLLUP_QUARTER_CHECK, params)
            found = await cur.fetchone()
            if found is None:
                return 0
            for query in ROLLUP_CLEAR:
                await cur.execute(query, params)
            if not found[0]:
                await cur.execute("DELETE FROM dashboard_buckets WHERE id = %s", (quarter,))
                return 1
            await cur.execute(f"SET LOCAL work_mem = '{SUMS_WORK_MEM}'")
            for query in ROLLUP_QUARTER:
                await cur.execute(query, params)
            await cur.execute(ROLLUP_DONE, params)
        return 1

    async def _rebuild_bucket(self, bucket: int, tz: str, spec: str, cells: CellSpec) -> int:
        """Rebuild one bucket's rollups from its patients' items, if still out of date (or
        drop it if no patient is left in it); 1 if rebuilt."""
        async with self._upkeep() as cur:
            await cur.execute(
                "SELECT start, stop FROM dashboard_buckets WHERE id = %s AND (dirty OR spec <> %s)",
                (bucket, spec),
            )
            found = await cur.fetchone()
            if found is None:
                return 0
            params = _cell_params(
                cells,
                {"bucket": bucket, "tz": tz, "spec": spec,
                 "since": found[0], "until": found[1]},
            )  # fmt: skip
            params["every"], params["all_sums"] = True, True
            params["day_starts"], params["day_ends"] = local_days(found[0], found[1], tz)
            await cur.execute(ROLLUP_REBUILT_QUARTER, params)
            for query in ROLLUP_CLEAR:
                await cur.execute(query, params)
            await cur.execute(ROLLUP_DROP_EMPTY, params)
            if cur.rowcount:
                return 1
            await cur.execute(f"SET LOCAL work_mem = '{SUMS_WORK_MEM}'")
            await cur.execute("SET LOCAL enable_mergejoin = off")
            await cur.execute("SET LOCAL jit = off")
            mine = ROLLUP_BUCKET_PATIENTS.format(column="patient_id")
            await cur.execute(
                ROLLUP_CELLS.format(cells=POSTGRES_CELLS.format(patients=mine)), params
            )
            await cur.execute(ROLLUP_PERIODS.format(patients=mine), params)
            await cur.execute(
                ROLLUP_STAYS.format(patients=ROLLUP_BUCKET_PATIENTS.format(column="s.patient_id")),
                params,
            )
            await cur.execute(ROLLUP_DONE, params)
        return 1

    @contextlib.asynccontextmanager
    async def _upkeep(self) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
        """A transaction of the rollups' upkeep on the store's connection, under the rollups'
        advisory lock (`ROLLUP_LOCK`); a failure of the database is a `StoreError`."""
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))
                    yield cur
            except psycopg.Error as e:
                raise await self._failed("refresh_rollups", e) from e

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
        """The window's items summed by SQL (and the values of those of `medians`), and the
        stays' time summed in microseconds; the equity tables summed per patient (or, with
        `cells`, per cell: `POSTGRES_CELLS`, plus the rollups of the buckets the window
        contains, migration 0008); one snapshot, read on two connections at once (the second
        imports the first's snapshot), so that the two cores of a small server share it."""
        spans = list(spans)
        labels = [label for label, _, _ in spans]
        params: dict[str, Any] = {
            "since": since,
            "until": until,
            "unit": period,
            "tz": tz,
            "medians": sorted(medians),
            "labels": labels,
            "starts": [s[1] for s in spans],
            "stops": [s[2] for s in spans],
        }
        async with self._lock:
            conn = await self._connection()
            try:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    await _sums_settings(cur)
                    await cur.execute("SELECT pg_export_snapshot()")
                    exported = await cur.fetchone()
                    assert exported is not None  # noqa: S101 (a SELECT of one value)
                    snapshot = str(exported[0])
                    wards = [
                        r[0] for r in await _timed_rows(cur, "wards", POSTGRES_WARDS_SQL, params)
                    ]
                    # The buckets the window contains (with cells asked for: the rollups'
                    # cells are of a spec), and the patients summed from items.
                    usable: list[int] = []
                    if cells is not None:
                        params["spec"] = spec_key(cells)
                        found_buckets = await _timed_rows(cur, "buckets", ROLLUP_USABLE, params)
                        usable, params["summed"] = _summed_buckets(found_buckets)
                    if usable:
                        params["usable"] = usable
                        params["raw"] = [
                            r[0] for r in await _timed_rows(cur, "raw", ROLLUP_RAW, params)
                        ]
                    main, side = _sums_jobs(
                        params, cells, len(params.get("raw", ())) if usable else None, bool(medians)
                    )
                    beside = asyncio.ensure_future(self._side_rows(snapshot, side))
                    try:
                        found = {name: await _timed_rows(cur, name, q, a) for name, q, a in main}
                    except BaseException:
                        beside.cancel()
                        with contextlib.suppress(BaseException):
                            await beside
                        raise
                    found.update(await beside)
            except psycopg.Error as e:
                raise await self._failed("dashboard_sums", e) from e
        cell_rows = _added_cells(found.get("cells", []), found.get("rollup cells", []))
        return DashboardSums(
            wards=wards,
            item_sums=[
                (m, w, h, "period", labels[bucket - 1], n, d)
                for m, w, h, bucket, n, d in found["period sums"]
            ],
            stay_sums=[(w, d, g, int(us)) for w, d, g, us in found["stay sums"]],
            patient_sums=found.get("patient sums", []),
            patient_stays=[(*r[:7], int(r[7])) for r in found.get("patient stays", [])],
            cells=[(k, n, None if s == "h" else s[1:], d, g, *rest) for k, n, s, d, g, *rest in cell_rows],
            cell_wards=None if cells is None or cells.wards is None else list(cells.wards),
            value_rows=[
                (m, w, h, labels[bucket - 1], *rest) for m, w, h, bucket, *rest in found.get(
                    "medians", [])
            ],
        )  # fmt: skip

    async def _side_rows(
        self, snapshot: str, jobs: list[tuple[str, str, Mapping[str, Any]]]
    ) -> dict[str, list[Any]]:
        """`jobs` on the second connection, in a transaction of `snapshot` (exported by the
        first: the same data to the row); the connection is dropped after any failure or a
        cancellation mid-query."""
        async with self._side_lock:
            conn = self._side
            try:
                if conn is None or conn.closed or conn.broken:
                    self._side = None
                    if conn is not None:
                        await conn.close()
                    conn = self._side = await self._connect()
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    await cur.execute(
                        sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot))
                    )
                    await _sums_settings(cur)
                    await cur.execute(f"SET LOCAL lock_timeout = '{SIDE_LOCK_TIMEOUT}'")
                    return {name: await _timed_rows(cur, name, q, a) for name, q, a in jobs}
            except BaseException as e:
                side, self._side = self._side, None
                if side is not None:
                    with contextlib.suppress(Exception):
                        await side.close()
                if isinstance(e, psycopg.Error):
                    raise StoreError(f"PostgreSQL dashboard_sums failed: {describe(e)}") from e
                raise

    async def count(self, table: str) -> int:
        """The number of rows of `table` (one of the six record tables)."""
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE_BY_NAME[table].name))
        async with self._lock:
            conn = await self._connection()
            try:
                cur = await conn.execute(query)
                row = await cur.fetchone()
            except psycopg.Error as e:
                raise await self._failed("count", e) from e
        return int(row[0]) if row else 0
