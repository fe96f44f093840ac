"""The store: every observation, score, alert and refused input, kept for audit.

`open_store(url)` gives a backend for a URL; `async with` opens it and migrates its schema:

    async with open_store("sqlite:///surveillance.db") as store, BufferedWriter(store) as writer:
        await writer.put(batch, tokens=[message])

Backends: SQLite (`_sqlite.py`, the demo and small sites) and PostgreSQL, with TimescaleDB when
the server has it (`_postgres.py`). Both keep the same tables and columns, and every write is
idempotent on the record's key (see `_base.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from surveillance.store._base import (
    DASHBOARD_LOOKBACK,
    AcceptedRecord,
    AccessRecord,
    AdtRecord,
    AlertRecord,
    AlertRow,
    Batch,
    CellSpec,
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DeadLetterRecord,
    DirtyPatient,
    EventRecord,
    LabRecord,
    NurseSetRow,
    ObservationRecord,
    OutboxRecord,
    PlanRecord,
    ScoreRecord,
    StateRecord,
    Store,
    StoredState,
)
from surveillance.store._migrations import StoreError, migrations
from surveillance.store._spool import InHand, LocalFile, Spool, SpoolingStore
from surveillance.store._writer import BufferedWriter

if TYPE_CHECKING:  # imported when first used (`__getattr__`): PostgresStore imports psycopg
    from surveillance.store._postgres import PostgresStore
    from surveillance.store._sqlite import SqliteStore

__all__ = [
    "DASHBOARD_LOOKBACK",
    "AcceptedRecord",
    "AccessRecord",
    "AdtRecord",
    "AlertRecord",
    "AlertRow",
    "Batch",
    "BufferedWriter",
    "CellSpec",
    "DashboardItem",
    "DashboardRows",
    "DashboardStay",
    "DashboardSums",
    "DeadLetterRecord",
    "DirtyPatient",
    "EventRecord",
    "InHand",
    "LabRecord",
    "LocalFile",
    "NurseSetRow",
    "ObservationRecord",
    "OutboxRecord",
    "PlanRecord",
    "PostgresStore",
    "ScoreRecord",
    "Spool",
    "SpoolingStore",
    "SqliteStore",
    "StateRecord",
    "Store",
    "StoreError",
    "StoredState",
    "migrations",
    "open_store",
]


def __getattr__(name: str) -> Any:
    """The backends, imported when first asked for."""
    if name == "SqliteStore":
        from surveillance.store._sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore
    if name == "PostgresStore":
        from surveillance.store._postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory:, "
    "postgresql://user:pass@host:port/db (or postgres://...)"
)


def open_store(url: str, **options: Any) -> Store:
    """The store backend for `url`, not yet opened (`async with` opens and migrates it).

    Args:
        url: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`,
            `postgresql://user:pass@host:port/db` or `postgres://...`.
        **options: passed to the backend: `busy_timeout` (SQLite); `compress_after`,
            `retention`, `timescaledb`, `connect_timeout` (PostgreSQL).

    Raises:
        ValueError: any other URL (the message names the accepted forms, never the URL itself,
            which may hold a password).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "sqlite" and rest.startswith("/") and len(rest) > 1:
        from surveillance.store._sqlite import SqliteStore  # noqa: PLC0415 (no psycopg needed)

        return SqliteStore(rest[1:], **options)
    if sep and scheme in {"postgresql", "postgres"}:
        from surveillance.store._postgres import PostgresStore  # noqa: PLC0415 (imports psycopg)

        return PostgresStore(url, **options)
    shown = scheme if sep and scheme.isalnum() else "?"
    raise ValueError(f"unsupported store URL (scheme {shown!r}); accepted forms: {_FORMS}")
