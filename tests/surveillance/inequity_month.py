"""A simulated month of four wards, end to end, for the equity tests and `bench/equity_power`:
`surveillance simulate` (in process), replayed offline in event time through the real scorer
with simulated staff answering its alerts (`surveillance evaluate --store --answer-alerts`),
written to a real store, read back and put through the dashboard's measures; then which
ethnic groups the equity table flags."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from scoring import ChartSet
from simulators import SimConfig, simulate, write_recording
from surveillance.dashboard import HOSPITAL, MEASURES, Dashboard, compute_dashboard
from surveillance.evaluation import replay
from surveillance.store import Batch, DashboardRows, open_store

START = datetime(2026, 11, 2, 7, tzinfo=UTC)  # a Monday morning; London is on UTC
DAYS = 28
LONDON = ZoneInfo("Europe/London")
MEASURE = "alerts_score_per_100_patient_days"
"""The measure that shows SpO2 over-reading: score alerts (NEWS2 5+ and the PEWS and maternity
calls) raised per 100 patient-days, which falls for a group whose oximeters read high."""


@dataclass(frozen=True)
class Flag:
    """A group of one equity dimension whose 95 % interval excludes the hospital's value."""

    group: str
    side: str  # "low" (interval below the hospital's value) or "high"
    value: float
    ci_low: float
    ci_high: float
    hospital: float


def month(
    charts: ChartSet,
    folder: Path,
    *,
    seed: int,
    inequity: tuple[str, ...] = (),
    catchment: str = "london",
    wards: int = 4,
    beds: int = 30,
    days: int = DAYS,
    measures: tuple[str, ...] = (MEASURE,),
) -> Dashboard:
    """The dashboard of a simulated month (`measures` only, as of its end)."""
    config = SimConfig(
        wards=wards,
        beds=beds,
        hours=24 * days,
        mode="manual",
        seed=seed,
        start=int(START.timestamp()),
        inequity=inequity,
        catchment=catchment,
    )
    name = f"s{seed}-{'-'.join(inequity) or 'none'}-{catchment}"
    recording = folder / f"{name}.jsonl.gz"
    write_recording(recording, simulate(config, charts), {"seed": seed})
    stored = Batch()
    replay([recording], charts, sink=stored.extend, answer_alerts=True)
    until = START + timedelta(days=days)

    async def rows() -> DashboardRows:
        async with open_store(f"sqlite:///{folder / name}.db") as store:
            await store.write(stored)
            return await store.dashboard_rows(START, until)

    chosen = [m for m in MEASURES if m.id in measures]
    return compute_dashboard(
        asyncio.run(rows()), since=START, until=until, period="week", tz=LONDON, measures=chosen
    )


def flags(dashboard: Dashboard, measure: str = MEASURE, dimension: str = "ethnicity") -> list[Flag]:
    """The hospital's equity rows of `dimension` whose interval excludes the hospital's value
    (what the page marks with ≠), suppressed rows left out."""
    m = next(m for m in dashboard.measures if m.id == measure)
    hospital = next(s for s in m.scopes if s.scope == HOSPITAL)
    value = hospital.value
    found = []
    for row in hospital.equity:
        if row.dimension != dimension or value is None:
            continue
        low, high, own = row.ci_low, row.ci_high, row.value
        if not (
            isinstance(low, int | float)
            and isinstance(high, int | float)
            and isinstance(own, int | float)
        ):
            continue  # suppressed or empty
        if high < value:
            found.append(Flag(row.group, "low", own, low, high, value))
        elif low > value:
            found.append(Flag(row.group, "high", own, low, high, value))
    return found
