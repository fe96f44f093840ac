"""The dashboard's rows through the real PostgreSQL server: the same store contents give the
same dashboard as through SQLite, number for number."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from surveillance.dashboard import read_sums, refresh_dashboard
from surveillance.store import DASHBOARD_LOOKBACK, open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital, M, at
from tests.surveillance.dashboard.test_measures import (
    DUE,
    OBS_CASES,
    UNTIL,
    dashboard_of,
    score_alerts,
    three_patients,
)

LONDON = ZoneInfo("Europe/London")


def everything() -> Hospital:
    h = Hospital()
    three_patients(h)
    score_alerts(h)
    for patient, following, gone, _ in OBS_CASES:
        h.admit(patient, "C", at(0), sex="2", imd_decile=3, needs=["autism", "dementia"])
        h.obs(patient, "C", at(1), DUE)
        if following is not None:
            h.obs(patient, "C", following, None, source="manual")
        if gone is not None:
            h.adt(patient, "C", "discharge", gone)
    h.obs("P1", "A", at(30), at(34), source="monitor")
    h.obs("P1", "A", T0 - DASHBOARD_LOOKBACK - M, T0 + H)  # before the rows read: not seen
    h.alert("x", "P1", "A", [(at(10), "raised")], kind="sepsis")
    h.event("P1", "A", "sepsis-treatment", at(10.5))
    h.event("P1", "A", "fall", at(40))
    h.event("P3", "B", "death", at(95))
    return h


async def test_postgres_gives_the_same_dashboard_as_sqlite(fresh_postgres_url: str, tmp_path: Path):
    on_postgres = await dashboard_of(everything(), fresh_postgres_url, period="week")
    on_sqlite = await dashboard_of(everything(), f"sqlite:///{tmp_path / 's.db'}", period="week")
    assert on_postgres.to_json() == on_sqlite.to_json()
    hospital = {m.id: m.scopes[-1] for m in on_postgres.measures}
    assert (hospital["obs_missed"].numerator, hospital["obs_missed"].denominator) == (3, 7)
    assert hospital["ack_minutes"].numerator == 7
    assert hospital["sepsis_treated_1h"].numerator == 1
    assert hospital["death_per_1000_admissions"].numerator == 1


async def test_the_rows_read_back_from_postgres(fresh_postgres_url: str):
    async with open_store(fresh_postgres_url) as store:
        await store.write(everything().batch)
        rows = await store.dashboard_rows(T0, UNTIL)
    assert {s.ward for s in rows.nurse_sets} == {"C"}  # the monitor's set is not a nurse's
    assert len(rows.nurse_sets) == 2 * len(OBS_CASES) - 3  # three cases have no second set
    assert all(s.next_obs_due in (DUE, None) for s in rows.nurse_sets)
    assert {a.alert_id for a in rows.alerts} == {f"a{i}" for i in range(1, 9)} | {"x"}
    assert {a.system for a in rows.alerts} == {"NEWS2", "PEWS"}
    assert [e.event for e in rows.events] == ["sepsis-treatment", "fall", "death"]


async def test_each_query_of_the_sums_is_timed_in_the_debug_log(
    fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
):
    """`bench/dashboard --queries` reads where a response's time goes from this log."""
    async with open_store(fresh_postgres_url) as store:
        await store.write(everything().batch)
        await refresh_dashboard(store, LONDON)
        with caplog.at_level(logging.DEBUG, logger="surveillance.store._postgres"):
            await read_sums(store, since=T0, until=UNTIL, period="week", tz=LONDON, wards=["C"])
    timed = [r.args for r in caplog.records if r.msg.startswith("dashboard_sums ")]
    assert [a[0] for a in timed if isinstance(a, tuple)] == [
        "wards", "buckets", "period sums", "cells", "medians", "stay sums",
    ]  # fmt: skip
    for args in timed:
        assert isinstance(args, tuple)
        seconds, rows = args[1], args[2]
        assert isinstance(seconds, float)
        assert seconds >= 0
        assert isinstance(rows, int)
        assert rows >= (0 if args[0] == "buckets" else 1)  # a week holds no whole month
