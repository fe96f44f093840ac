"""Keeping the dashboard's items in the store up to date, and the dashboard from them: thin
adapters over a `Store` (given: no I/O of their own, no clock).

`refresh_dashboard` remakes the items of the patients written to since their last refresh
(`dashboard_dirty`, marked by every write in its transaction); `stored_dashboard` reads the
window's sums (`Store.dashboard_sums`) and draws them (`dashboard_from_sums`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from surveillance.dashboard._dashboard import Dashboard, cell_spec, dashboard_from_sums
from surveillance.dashboard._groups import Period, period_spans
from surveillance.dashboard._items import dashboard_items
from surveillance.dashboard._measures import MEASURES
from surveillance.store import (
    DashboardItem,
    DashboardRows,
    DashboardStay,
    DashboardSums,
    DirtyPatient,
    Store,
    StoreError,
)

log = logging.getLogger(__name__)

REFRESH_CHUNK: Final = 500
"""Patients refreshed in one transaction."""

Made = tuple[list[DashboardItem], list[DashboardStay]]
Compute = Callable[[DashboardRows, ZoneInfo], Awaitable[Made]]


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a refresh did: the patients whose items it remade (or set aside), their items and
    stay pieces, the patients still out of date after it, and those it set aside (their items
    could not be made)."""

    patients: int
    items: int
    stays: int
    left: int
    set_aside: int = 0
    buckets: int = 0


async def _inline(rows: DashboardRows, tz: ZoneInfo) -> Made:
    return dashboard_items(rows, tz)


async def refresh_dashboard(
    store: Store,
    tz: ZoneInfo,
    *,
    limit: int | None = None,
    chunk: int = REFRESH_CHUNK,
    compute: Compute = _inline,
    rollups: bool = True,
) -> Refreshed:
    """Remake the dashboard items of the patients written to since their last refresh
    (`dashboard_dirty`), `chunk` at a time, oldest marks first, until none is left (or `limit`
    patients are done, or a chunk holds only patients already done in this call: written to
    again meanwhile, they wait for the next refresh). Each chunk: every row of its patients
    read (one snapshot), their items made by `compute` (`dashboard_items`; the service runs it
    in the dashboard's process), then replaced in one transaction that clears the marks read
    (a patient written to meanwhile keeps a newer mark).

    A chunk whose items cannot be made (`compute` or the reading of its rows raises, other
    than the store failing) is made again patient by patient; a patient whose items still
    cannot be made is set aside (`Store.replace_dashboard_items`: their items removed, their
    reason recorded, their mark cleared; a later write marks them again, and they are retried)
    and logged, so that one bad row never stalls the others.

    A refresh without `limit` then brings the store's rollups up to date (`refresh_rollups`;
    not with `rollups=False`); one with a limit (before a request) leaves them to the next."""
    done: set[str] = set()
    items = stays = aside = 0
    while limit is None or len(done) < limit:
        size = chunk if limit is None else min(chunk, limit - len(done))
        dirty = await store.dirty_patients(size)
        if not dirty or all(d.patient_id in done for d in dirty):
            break
        made, pieces, reasons = await _make(store, dirty, tz, compute)
        await store.replace_dashboard_items(dirty, made, pieces, reasons or None)
        for patient, reason in reasons.items():
            log.error("dashboard: patient %s set aside, items not made: %s", patient, reason)
        done.update(d.patient_id for d in dirty)
        items, stays, aside = items + len(made), stays + len(pieces), aside + len(reasons)
    buckets = await refresh_rollups(store, tz) if rollups and limit is None else 0
    return Refreshed(len(done), items, stays, await store.dirty_count(), aside, buckets)


async def refresh_rollups(store: Store, tz: ZoneInfo) -> int:
    """Bring the store's rollups of settled patients up to date (`Store.refresh_rollups`,
    months of `tz`, the cells of every measure); the buckets rebuilt. Run it after the items
    are refreshed: a dashboard sums the patients not in an up-to-date bucket from their items,
    so the rollups only make it faster, never different."""
    return await store.refresh_rollups(tz.key, cell_spec(MEASURES, None))


_NOT_POISON: Final = (StoreError, BrokenExecutor)
"""Failures of the store or of the dashboard's process, not of a patient's rows: raised."""


async def _make(
    store: Store, dirty: list[DirtyPatient], tz: ZoneInfo, compute: Compute
) -> tuple[list[DashboardItem], list[DashboardStay], dict[str, str]]:
    """The items of `dirty` (read and made together), else made patient by patient: with the
    reasons of those whose items could not be made."""
    ids = [d.patient_id for d in dirty]
    try:
        made, pieces = await compute(await store.patient_rows(ids), tz)
    except _NOT_POISON:
        raise
    except Exception as e:
        if len(ids) == 1:
            return [], [], {ids[0]: _reason(e)}
    else:
        return made, pieces, {}
    made, pieces, reasons = [], [], {}
    for patient in ids:
        try:
            one, bits = await compute(await store.patient_rows([patient]), tz)
        except _NOT_POISON:
            raise
        except Exception as e:
            reasons[patient] = _reason(e)
        else:
            made.extend(one)
            pieces.extend(bits)
    return made, pieces, reasons


def _reason(error: Exception) -> str:
    """An error as recorded for a patient set aside (its type and message, at most 500
    characters)."""
    return f"{type(error).__name__}: {error}"[:500]


async def read_sums(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    period: Period,
    tz: ZoneInfo,
    wards: Collection[str] | None = None,
) -> DashboardSums:
    """The store's sums of the window's items (`Store.dashboard_sums`), the median measures'
    items as they are; the equity tables summed by the store where it can (PostgreSQL), with
    the clustered intervals' moments for `wards` (the wards to be shown; None: every ward) and
    the hospital."""
    spans = [(s.label, s.start, s.end) for s in period_spans(since, until, period, tz)]
    medians = [m.id for m in MEASURES if m.kind == "median"]
    return await store.dashboard_sums(
        since, until, period=period, spans=spans, tz=tz.key, medians=medians,
        cells=cell_spec(MEASURES, None if wards is None else sorted(set(wards))),
    )  # fmt: skip


async def stored_dashboard(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    period: Period,
    tz: ZoneInfo,
    wards: Collection[str] | None = None,
    targets: dict[str, float] | None = None,
) -> Dashboard:
    """The dashboard of `[since, until)` from the store's items (refresh them first), summed
    by the store: the same as `compute_dashboard` over the patients' rows."""
    sums = await read_sums(store, since=since, until=until, period=period, tz=tz, wards=wards)
    return dashboard_from_sums(
        sums, since=since, until=until, period=period, tz=tz, wards=wards, targets=targets
    )
