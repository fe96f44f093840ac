"""The schema both backends share: migration files, table layouts, and the store's error.

Migrations are the files `migrations/<dialect>/NNNN_name.sql`, applied in order of their number,
each in its own transaction together with its row in `schema_migrations`. The backends run them
(each with its own locking); this module finds them and checks versions, so the rules are the
same for SQLite and PostgreSQL: a database newer than the code is refused rather than written to
with a schema the code does not know.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

from surveillance.store._base import (
    AcceptedRecord,
    AccessRecord,
    AdtRecord,
    AlertRecord,
    Batch,
    DeadLetterRecord,
    EventRecord,
    LabRecord,
    ObservationRecord,
    OutboxRecord,
    PlanRecord,
    ScoreRecord,
)

Dialect = Literal["sqlite", "postgres"]
Kind = Literal["text", "text?", "time", "json", "rawjson", "utf8", "int", "int?", "float", "bool"]
"""How a column is stored: `rawjson` is JSON already encoded (`JsonBytes`), `utf8` text held
as bytes."""


class StoreError(Exception):
    """The store failed: cannot connect, lost its connection, or refused the database.

    Messages never contain a password. A failed `write()` changed nothing (its transaction was
    rolled back), so the caller may retry it as is.
    """


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str


_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


def migrations(dialect: Dialect) -> list[Migration]:
    """The migration files of `dialect`, in order; their numbers must run 1, 2, 3... with no gap."""
    folder = resources.files("surveillance.store") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"migration files of {dialect} are not numbered 1..n without gaps")
    return found


def check_version(stored: int, known: list[Migration]) -> list[Migration]:
    """The migrations to apply to a database at version `stored`.

    Raises:
        StoreError: the database was migrated by newer code than this.
    """
    latest = known[-1].version if known else 0
    if stored > latest:
        raise StoreError(
            f"the database schema is at version {stored} but this code knows only up to "
            f"version {latest}: upgrade the service (refusing to write to a newer schema)"
        )
    return [m for m in known if m.version > stored]


def split_sql(script: str) -> list[str]:
    """Statements of a migration file (split on `;` at ends of lines; comments kept with them).

    Our migration files keep one statement's `;` at the end of a line and never inside a
    string literal, which is all this needs.
    """
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if any(s.strip() and not s.strip().startswith("--") for s in current):
                statements.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if any(s.strip() and not s.strip().startswith("--") for s in current):
        statements.append(rest)
    return statements


@dataclass(frozen=True, slots=True)
class Table:
    """How one record type maps to a table: columns are the record's fields, in order."""

    name: str
    batch_attr: str
    record: type[Any]
    columns: tuple[str, ...]
    kinds: tuple[Kind, ...]
    key: tuple[str, ...]
    replace: bool = False  # a record whose key is stored replaces it (else: kept, ignored)

    def row(self, record: Any) -> tuple[Any, ...]:
        """The record's field values, in column order."""
        return tuple(getattr(record, c) for c in self.columns)

    def records(self, batch: Batch) -> list[Any]:
        """The records of `batch` for this table (for a `replace` table, the last of each key)."""
        records: list[Any] = getattr(batch, self.batch_attr)
        if self.replace and len(records) > 1:
            last = {tuple(getattr(r, c) for c in self.key): r for r in records}
            records = list(last.values())
        return records

    def on_conflict(self) -> str:
        """The `ON CONFLICT` clause of an insert into this table."""
        if not self.replace:
            return "ON CONFLICT DO NOTHING"
        rest = [c for c in self.columns if c not in self.key]
        sets = ", ".join(f"{c} = excluded.{c}" for c in rest)
        return f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets}"


_KINDS: Final[dict[str, Kind]] = {
    "str": "text",
    "str | None": "text?",
    "datetime": "time",
    "dict[str, Any]": "json",
    "dict[str, str]": "json",
    "list[str]": "json",
    "JsonBytes": "rawjson",
    "bytes": "utf8",
    "int": "int",
    "int | None": "int?",
    "float": "float",
    "bool": "bool",
}


def _table(
    name: str, batch_attr: str, record: type[Any], key: tuple[str, ...], *, replace: bool = False
) -> Table:
    fields = dataclasses.fields(record)
    return Table(
        name=name,
        batch_attr=batch_attr,
        record=record,
        columns=tuple(f.name for f in fields),
        kinds=tuple(_KINDS[str(f.type)] for f in fields),
        key=key,
        replace=replace,
    )


TABLES: Final[tuple[Table, ...]] = (
    _table("adt", "adt", AdtRecord, ("msg_id",)),
    _table("observations", "observations", ObservationRecord, ("msg_id",)),
    _table("labs", "labs", LabRecord, ("msg_id",)),
    _table("scores", "scores", ScoreRecord, ("obs_msg_id",)),
    _table("alert_events", "alerts", AlertRecord, ("alert_id", "seq")),
    _table("dead_letters", "dead_letters", DeadLetterRecord, ("digest",)),
    _table("plans", "plans", PlanRecord, ("msg_id",)),
    # An id accepted again once forgotten (after the dedupe window) is remembered anew.
    _table("accepted", "accepted", AcceptedRecord, ("msg_id",), replace=True),
    _table("outbox", "outbox", OutboxRecord, ("key",)),
    _table("history_access", "access", AccessRecord, ("access_id",)),
    _table("clinical_events", "events", EventRecord, ("msg_id",)),
)
TABLE_BY_RECORD: Final[dict[type[Any], Table]] = {t.record: t for t in TABLES}
TABLE_BY_NAME: Final[dict[str, Table]] = {t.name: t for t in TABLES}


def _columns(table: str) -> str:
    return ", ".join(TABLE_BY_NAME[table].columns)


# load_state's queries, the same on both backends (window functions; identifiers are constants).
# Ties on time are broken by received_at then the key, so the answer is deterministic.
PLACEMENTS_SQL: Final[str] = f"""
WITH by_bed AS (
    SELECT {_columns("adt")}, row_number() OVER (
        PARTITION BY ward, bed ORDER BY time DESC, received_at DESC, msg_id DESC) AS rn
    FROM adt
), by_patient AS (
    SELECT msg_id, row_number() OVER (
        PARTITION BY patient_id ORDER BY time DESC, received_at DESC, msg_id DESC) AS rn
    FROM adt
)
SELECT {", ".join("b." + c for c in TABLE_BY_NAME["adt"].columns)}
FROM by_bed b JOIN by_patient p ON p.msg_id = b.msg_id AND p.rn = 1
WHERE b.rn = 1 AND b.event <> 'discharge'
ORDER BY b.ward, b.bed
"""  # noqa: S608 (identifiers from constants)

LATEST_SCORES_SQL: Final[str] = f"""
SELECT {_columns("scores")} FROM (
    SELECT {_columns("scores")}, row_number() OVER (
        PARTITION BY patient_id ORDER BY time DESC, obs_msg_id DESC) AS rn
    FROM scores
) s WHERE rn = 1 ORDER BY patient_id
"""  # noqa: S608 (identifiers from constants)

OPEN_ALERTS_SQL: Final[str] = f"""
SELECT {_columns("alert_events")} FROM (
    SELECT {_columns("alert_events")}, row_number() OVER (
        PARTITION BY alert_id ORDER BY seq DESC) AS rn
    FROM alert_events
) a WHERE rn = 1 AND state <> 'resolved' ORDER BY time, alert_id
"""  # noqa: S608 (identifiers from constants)


PLACED_PLANS_SQL: Final[str] = f"""
SELECT {_columns("plans")} FROM (
    SELECT {_columns("plans")}, row_number() OVER (
        PARTITION BY patient_id ORDER BY time DESC, received_at DESC, msg_id DESC) AS rn
    FROM plans
) p WHERE rn = 1 AND patient_id IN (SELECT patient_id FROM ({PLACEMENTS_SQL}) placed)
ORDER BY patient_id
"""  # noqa: S608 (identifiers from constants)


def placed_labs_sql(placeholder: str) -> str:
    """Lab results since the one parameter of the patients in a bed (their AKI baselines)."""
    return (
        f"SELECT {_columns('labs')} FROM labs WHERE time >= {placeholder} AND patient_id IN "  # noqa: S608
        f"(SELECT patient_id FROM ({PLACEMENTS_SQL}) placed) ORDER BY patient_id, time, msg_id"
    )


def recent_msg_ids_sql(placeholder: str) -> str:
    """msg_ids received since the one parameter (given three times), `placeholder` per dialect."""
    return " UNION ALL ".join(
        f"SELECT msg_id FROM {t} WHERE received_at >= {placeholder}"  # noqa: S608
        for t in ("adt", "observations", "labs")
    )


ACCEPTED_SQL: Final[str] = (
    "SELECT msg_id, digest, received_at FROM accepted WHERE received_at >= {} "
    "ORDER BY received_at, msg_id"
)
"""The accepted messages since the one parameter (`{}`: the dialect's placeholder)."""

SCORER_STATE_SQL: Final[str] = "SELECT key, state FROM scorer_state ORDER BY key"

OUTBOX_SQL: Final[str] = f"SELECT {_columns('outbox')} FROM outbox ORDER BY key"  # noqa: S608


def events_sql(
    placeholder: str,
    *,
    since: bool,
    until: bool,
    kinds: int,
    patient: bool,
) -> str:
    """The clinical events of a window (`Store.events`): one `placeholder` per condition, in
    the order since, until, each of the `kinds`, patient."""
    conditions = []
    if since:
        conditions.append(f"time >= {placeholder}")
    if until:
        conditions.append(f"time < {placeholder}")
    if kinds:
        conditions.append(f"event IN ({', '.join([placeholder] * kinds)})")
    if patient:
        conditions.append(f"patient_id = {placeholder}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {_columns('clinical_events')} FROM clinical_events{where} ORDER BY time, msg_id"  # noqa: S608
