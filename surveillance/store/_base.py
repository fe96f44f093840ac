"""The store's interface: what the service keeps, and the one protocol both backends implement.

Every write is idempotent: writing a record whose key is already stored changes nothing, so a
message delivered twice (at-least-once MQTT) is stored once. Keys:

| record            | key                 |
|-------------------|---------------------|
| `AdtRecord`       | `msg_id`            |
| `ObservationRecord` | `msg_id`          |
| `LabRecord`       | `msg_id`            |
| `ScoreRecord`     | `obs_msg_id`        |
| `AlertRecord`     | `(alert_id, seq)`   |
| `DeadLetterRecord`| `digest` (SHA-256 of topic and payload) |
| `AcceptedRecord`  | `msg_id`            |
| `StateRecord`     | `key` (the latest wins; `state` None deletes it) |
| `OutboxRecord`    | `key` (deleted once published: `Batch.published`) |
| `AccessRecord`    | `access_id` (append-only: the tables refuse updates and deletes) |
| `EventRecord`     | `msg_id` (append-only, like `AccessRecord`) |

Times are timezone-aware datetimes (stored as UTC); JSON columns hold the contract's JSON.
A score result and an alert event are carried as the JSON bytes published (`JsonBytes`):
encoded once, by the scorer, and written to the store and the spool as they are; readers
decode them (`msgspec.json.decode`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeAlias, TypeVar

T = TypeVar("T")

JsonBytes: TypeAlias = bytes
"""One JSON document, UTF-8 encoded (a `jsonb` column in PostgreSQL, text in SQLite)."""


@dataclass(frozen=True, slots=True)
class AdtRecord:
    """An ADT message as received; `context` is its JSON (CONTRACT §2) with ward and bed."""

    msg_id: str
    time: datetime
    received_at: datetime
    ward: str
    bed: str
    patient_id: str
    event: str
    context: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """An observation set in the internal model, from whichever format it came in."""

    msg_id: str
    time: datetime
    received_at: datetime
    ward: str
    bed: str
    patient_id: str
    channel: str
    source: str
    vitals: dict[str, Any]
    not_recorded: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LabRecord:
    """A lab result."""

    msg_id: str
    time: datetime
    received_at: datetime
    ward: str
    bed: str
    patient_id: str
    test: str
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """A score result; `result` is its full contract JSON (CONTRACT §4 and extensions), as
    published."""

    obs_msg_id: str
    time: datetime
    patient_id: str
    ward: str
    bed: str
    system: str
    chart: str
    total: int
    risk: str
    complete: bool
    result: JsonBytes


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert event (CONTRACT §5), `event` its JSON as published; `seq` numbers the events
    of one alert from 1."""

    alert_id: str
    seq: int
    time: datetime
    ward: str
    bed: str
    patient_id: str
    kind: str
    severity: str
    state: str
    message: str
    obs_msg_id: str | None
    event: JsonBytes


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A refused input (CONTRACT §6); `digest` makes a redelivered refusal idempotent.

    `payload` is at most a prefix of the message (`truncated`); `size` and `sha256` are those
    of the whole message."""

    digest: str
    time: datetime
    topic: str
    error: str
    reason: str
    payload: str
    encoding: str
    msg_id: str | None = None
    size: int = 0
    sha256: str = ""
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """A patient's escalation plan, as received (the latest per patient is in force)."""

    msg_id: str
    time: datetime
    received_at: datetime
    ward: str
    bed: str
    patient_id: str
    by: str
    reason: str
    plan: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AcceptedRecord:
    """A message the scorer accepted: its `msg_id` and the digest of its content, so that a
    repeat is known after a restart and the same id with other content is a conflict."""

    msg_id: str
    digest: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StateRecord:
    """A piece of the online scorer's state (one patient, one bed), as data, written in the
    same transaction as the records that changed it; `state` None deletes it (a discharge).
    `state` is a JSON object, carried encoded like score results (`JsonBytes`).

    Unlike the other records it is replaced, not kept: the latest write of a key wins."""

    key: str
    state: JsonBytes | None  # a JSON object, encoded once by the scorer
    time: datetime


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A result to publish (a score, an alert event, a dead letter), kept in the same
    transaction as the records it comes from until the broker has it: a service killed between
    its commit and its publication publishes it at its next start. `key`s sort in the order
    the results were made; `payload` is the message as published (UTF-8 JSON, stored as text)."""

    key: str
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One reading of a patient's history (issue 14): who (`viewer`) read what (`scores`,
    `alerts` or `events`) of which patient, from `since` to `time` (when it was read).

    The audit of access to patients' records: written before the history is returned, never
    updated nor deleted (both backends' tables refuse it)."""

    access_id: str
    time: datetime
    viewer: str
    patient_id: str
    what: str
    since: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A clinical event or harm (CONTRACT §9), as received: `event` its kind (`death`,
    `pressure-ulcer`...), `category` a pressure ulcer's stage when given, `recorded_by` its `by`
    (who recorded it or responded),
    `note` any free text. `ward` and `bed` are the topic's.

    The outcomes the learned risk is judged on and the harms the safety dashboard counts:
    append-only (both backends' tables refuse updates and deletes), read back by
    `Store.events` (a time window, kinds, a patient)."""

    msg_id: str
    time: datetime
    received_at: datetime
    ward: str
    bed: str
    patient_id: str
    event: str
    category: int | None = None
    recorded_by: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NurseSetRow:
    """A nurse's observation set (source `manual`) as the safety dashboard reads it: its score's
    time, patient, ward, system and the `next_obs_due` its score set (None: none due)."""

    time: datetime
    patient_id: str
    ward: str
    system: str
    next_obs_due: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert event as the safety dashboard reads it (`AlertRecord` without the message and
    the JSON, with the event's `system`)."""

    alert_id: str
    seq: int
    time: datetime
    ward: str
    patient_id: str
    kind: str
    severity: str
    state: str
    system: str | None


@dataclass(frozen=True, slots=True)
class DashboardRows:
    """What the safety dashboard is computed from (`Store.dashboard_rows(since, until)`):

    Attributes:
        adt: the ADT messages before `until` (placements, admissions, equity fields) of the
            patients the window can count (`_dashboard_sql.ADT_SQL`), by time then msg_id.
        nurse_sets: the nurses' sets scored in `[since - DASHBOARD_LOOKBACK, until)`, by
            patient then time.
        alerts: every event before `until` of the alerts with an event in `[since, until)`
            (their raise may be earlier), by alert then seq.
        events: the clinical events (CONTRACT §9) in `[since, until)`, by time then msg_id.
        wards: every ward with an ADT message before `until` (None: the wards of `adt`).
    """

    adt: list[AdtRecord]
    nurse_sets: list[NurseSetRow]
    alerts: list[AlertRow]
    events: list[EventRecord]
    wards: list[str] | None = None


@dataclass(frozen=True, slots=True)
class DashboardItem:
    """One thing a dashboard measure counts, kept in the store (`dashboard_items`), made from
    every row of its patient by `surveillance.dashboard.dashboard_items`.

    `measure` is a measure's id, or `admissions` (the exposure items of the rates per
    admission); `decided` when its outcome was known (None: at `time`); a dashboard as of
    `until` counts it when `time` is in its window and it was decided before `until`.
    `hospital` False: counted on its ward only (a transfer in is not a hospital admission).
    The equity groups are the patient's as recorded at `time` (`age` the band on its local
    day), `needs` a bitmask of `surveillance.dashboard.NEEDS` (0: none recorded)."""

    patient_id: str
    measure: str
    time: datetime
    decided: datetime | None
    ward: str
    hospital: bool
    numerator: float
    denominator: float
    value: float | None
    sex: str
    ethnicity: str
    age: str
    imd: str
    needs: int


@dataclass(frozen=True, slots=True)
class DashboardStay:
    """A piece of a patient's stay on a ward (`dashboard_stays`) over which their equity groups
    do not change: the patient-days of every rate per patient-day. `end` None: still there."""

    patient_id: str
    ward: str
    start: datetime
    end: datetime | None
    sex: str
    ethnicity: str
    age: str
    imd: str
    needs: int


@dataclass(frozen=True, slots=True)
class DashboardSums:
    """The dashboard's items over a window, as a store gives them (`Store.dashboard_sums`):
    summed where the store can (PostgreSQL), as they are where it cannot (SQLite); the
    dashboard sums the rest the same way.

    Attributes:
        wards: every ward with an ADT message before `until`.
        items: items counted in the window that the store did not sum (every one, SQLite).
        values: items of the `medians` asked for, with a value, counted in the window and
            summed in `item_sums` too: only their values are wanted (PostgreSQL).
        stays: stay pieces overlapping the window that the store did not sum.
        item_sums: `(measure, ward, hospital, "period", group, numerator, denominator)` for
            the items summed by period (group: the period's first local date, ISO).
        stay_sums: `(ward, "period", group, microseconds)`: the stays' time in each period,
            summed likewise.
        patient_sums: `(measure, ward, hospital, patient_id, sex, ethnicity, age, imd, needs,
            numerator, denominator)`: the items summed per patient and groups (needs: the
            bitmask), for the window's equity tables and their patient-clustered intervals.
        patient_stays: `(ward, patient_id, sex, ethnicity, age, imd, needs, microseconds)`:
            the stays' time in the window per patient and groups.
        cells: the equity tables summed by the store (PostgreSQL, when asked with
            `CellSpec`), in place of `patient_sums` and `patient_stays`: `(kind, name, ward,
            dimension, group, n, nx, y, x, yy, xy, xx)`, ward None for the hospital; kind
            `m`: the moments of the cell's patients' `(y, x)` (`n` those with either, `nx`
            those with `x`), for `cell_wards` and the hospital; `r`: a rate's corrections to
            its exposure's moments there (its patients' `(y, x)` and exposure `e`: `n` those
            with no `e`, `xy` = sum y(x+e), `xx` = sum (x+e)^2 - e^2); `s`: the cell's sums `y`,
            `x` of the other wards (group of `needs`: the bitmask, as text).
        cell_wards: the wards whose cells have moments (None: every ward).
        value_rows: in place of `values` (PostgreSQL): `(measure, ward, hospital, period
            group, sex, ethnicity, age, imd, needs, value)` of each item of the `medians`
            counted in the window (a year of a big hospital has some 70,000: as items they
            took a third of a second to make).
    """

    wards: list[str]
    items: list[DashboardItem] = field(default_factory=list)
    stays: list[DashboardStay] = field(default_factory=list)
    item_sums: list[tuple[str, str, bool, str, str, float, float]] = field(default_factory=list)
    stay_sums: list[tuple[str, str, str, int]] = field(default_factory=list)
    values: list[DashboardItem] = field(default_factory=list)
    patient_sums: list[tuple[str, str, bool, str, str, str, str, str, int, float, float]] = field(
        default_factory=list
    )
    patient_stays: list[tuple[str, str, str, str, str, str, int, int]] = field(default_factory=list)
    cells: list[tuple[Any, ...]] = field(default_factory=list)
    cell_wards: list[str] | None = None
    value_rows: list[tuple[str, str, bool, str, str, str, str, str, int, float]] = field(
        default_factory=list
    )


@dataclass(frozen=True, slots=True)
class CellSpec:
    """What a store needs to sum the equity tables itself (`Store.dashboard_sums`): `names`
    `(measure, name, own)`, each item of `measure` adds to `name` (its numerator only if
    `own`: a family's members share a denominator); `rates` `(name, exposure name)`; `days`
    the name of the stays' patient-days (in microseconds); `needs` the groups of the needs
    bitmask's bits, `no_needs` that of 0; `all` the `(all, all)` cell's dimension and group;
    `wards` those whose cells need moments (the hospital's always do; None: every ward)."""

    names: tuple[tuple[str, str, bool], ...]
    rates: tuple[tuple[str, str], ...]
    days: str
    needs: tuple[str, ...]
    no_needs: str
    all: str
    wards: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class DirtyPatient:
    """A patient whose dashboard items are out of date (`dashboard_dirty`): `mark` changes at
    every write that touches them, so a refresh removes only the mark it read."""

    patient_id: str
    mark: int


def dirty_patients_of(batch: Batch) -> list[str]:
    """The patients whose dashboard items a batch changes (sorted): those of its ADT,
    observations and scores (a nurse's set is the pair), alert events and clinical events."""
    return sorted(
        {r.patient_id for r in batch.adt} | {r.patient_id for r in batch.scores}
        | {r.patient_id for r in batch.observations}
        | {r.patient_id for r in batch.alerts} | {r.patient_id for r in batch.events}
    )  # fmt: skip


DASHBOARD_LOOKBACK: Final = timedelta(hours=24)
"""How far before `since` the dashboard reads nurses' sets: a set due in the window was taken
at most one monitoring interval (12 h at the longest) before it."""


@dataclass(slots=True)
class Batch:
    """Records written together, in one transaction."""

    adt: list[AdtRecord] = field(default_factory=list)
    observations: list[ObservationRecord] = field(default_factory=list)
    labs: list[LabRecord] = field(default_factory=list)
    scores: list[ScoreRecord] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    plans: list[PlanRecord] = field(default_factory=list)
    accepted: list[AcceptedRecord] = field(default_factory=list)
    states: list[StateRecord] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # outbox keys the broker has
    access: list[AccessRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.outbox)
            + len(self.published)
            + len(self.accepted)
            + len(self.states)
            + len(self.adt)
            + len(self.observations)
            + len(self.labs)
            + len(self.scores)
            + len(self.alerts)
            + len(self.dead_letters)
            + len(self.plans)
            + len(self.access)
            + len(self.events)
        )

    def extend(self, other: Batch) -> None:
        """Append every record of `other`."""
        self.adt.extend(other.adt)
        self.observations.extend(other.observations)
        self.labs.extend(other.labs)
        self.scores.extend(other.scores)
        self.alerts.extend(other.alerts)
        self.dead_letters.extend(other.dead_letters)
        self.plans.extend(other.plans)
        self.accepted.extend(other.accepted)
        self.states.extend(other.states)
        self.outbox.extend(other.outbox)
        self.published.extend(other.published)
        self.access.extend(other.access)
        self.events.extend(other.events)

    def latest_states(self) -> list[StateRecord]:
        """The states to write: the last of each key, in the order of their last write."""
        latest: dict[str, StateRecord] = {}
        for record in self.states:
            latest.pop(record.key, None)
            latest[record.key] = record
        return list(latest.values())


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the scorer needs to resume after a restart (see `Store.load_state`).

    Attributes:
        placements: the latest ADT record of every bed whose latest event is not a discharge.
        latest_scores: the latest score of every patient (by observation time).
        open_alerts: the latest event of every alert whose latest state is not `resolved`.
        recent_msg_ids: msg_ids of ADT, observation and lab records received since `since`.
        labs: the lab results since `labs_since` of the patients in a bed (AKI baselines).
        plans: the latest escalation plan of every patient in a bed.
        accepted: msg_id → (content digest, when received) of the messages accepted since
            `since`, in the order they arrived.
        scorer_state: the online scorer's state by key (`StateRecord`); empty for a store
            written before it was kept (the scorer then rebuilds from the records above).
        outbox: results committed but not yet published, in the order they were made.
    """

    placements: list[AdtRecord]
    latest_scores: list[ScoreRecord]
    open_alerts: list[AlertRecord]
    recent_msg_ids: set[str]
    labs: list[LabRecord] = field(default_factory=list)
    plans: list[PlanRecord] = field(default_factory=list)
    accepted: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    scorer_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[OutboxRecord] = field(default_factory=list)


class Store(Protocol):
    """A store backend. `async with` opens it (and migrates the schema to the latest version)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def write(self, batch: Batch) -> None:
        """Write every record of `batch` in one transaction; records already stored are kept."""
        ...

    async def load_state(
        self, since: datetime, *, labs_since: datetime | None = None
    ) -> StoredState:
        """The state the scorer resumes from; msg_ids received since `since`, and the placed
        patients' lab results since `labs_since` (none without it)."""
        ...

    async def accepted_among(self, msg_ids: list[str]) -> dict[str, tuple[str, datetime]]:
        """Those of `msg_ids` ever accepted: (content digest, when received) of each."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot be reached (for `/healthz`)."""
        ...

    async def fetch(
        self, kind: type[T], *, patient_id: str | None = None, since: datetime | None = None
    ) -> list[T]:
        """Every stored record of type `kind` (of one patient, from `since`, if given), by
        time then key."""
        ...

    async def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        patient_id: str | None = None,
    ) -> list[EventRecord]:
        """The clinical events (CONTRACT §9) whose own time is in `[since, until)`, of the
        `kinds` given (every kind without it), of one patient if given; by time, then msg_id.
        (What `surveillance evaluate` and the SPC charts count.)"""
        ...

    async def dashboard_rows(self, since: datetime, until: datetime) -> DashboardRows:
        """The rows the safety dashboard computes its measures from (`DashboardRows`): read
        only, every ward (the hospital's rates are the equity tables' reference)."""
        ...

    async def dirty_patients(self, limit: int) -> list[DirtyPatient]:
        """Up to `limit` patients whose dashboard items are out of date (oldest marks first)."""
        ...

    async def patient_rows(self, patient_ids: Collection[str]) -> DashboardRows:
        """Every dashboard row (ADT, nurses' sets, alert events, clinical events) of these
        patients, whatever their time (one snapshot)."""
        ...

    async def replace_dashboard_items(
        self,
        done: Collection[DirtyPatient],
        items: Collection[DashboardItem],
        stays: Collection[DashboardStay],
        set_aside: Mapping[str, str] | None = None,
    ) -> int:
        """In one transaction: replace the dashboard items and stays of the patients of `done`
        by `items` and `stays`, and clear their dirty marks, those still as read (a patient
        written to since keeps a newer mark and is refreshed again); the patients of
        `set_aside` (patient id -> why their items could not be made; none of `items`) are
        recorded as set aside, the others of `done` no longer are. Returns the marks
        cleared."""
        ...

    async def refresh_rollups(self, tz: str, cells: CellSpec) -> int:
        """Bring the store's rollups of the dashboard's sums up to date (their buckets are
        calendar months of `tz`; their cells summed as `cells` says, its wards aside); returns
        the buckets rebuilt. A store without rollups (SQLite) does nothing."""
        ...

    async def set_aside_count(self) -> int:
        """How many patients are set aside (`replace_dashboard_items`): their items could not
        be made from their rows, and they have not been written to since."""
        ...

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
        """The dashboard's items and stays counted in `[since, until)` as of `until`
        (`DashboardSums`): `spans` the periods (`day`, `week` from Monday or `month`) as
        `(label, start, end)` tiling the window, `tz` the time zone their labels are dates in,
        `medians` the measures whose values are needed (`DashboardSums.values`), `cells` how to
        sum the equity tables (a store that can: `DashboardSums.cells`)."""
        ...

    async def dirty_count(self) -> int:
        """How many patients' dashboard items are out of date."""
        ...
