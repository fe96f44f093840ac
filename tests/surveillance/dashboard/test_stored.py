"""The stored dashboard (items kept per patient, refreshed as rows arrive, summed by the store)
against the live one (`compute_dashboard` over the rows), on random hospitals through both
backends: the same JSON, byte for byte, for windows and `until`s that cut pending items."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from surveillance.dashboard import (
    Period,
    compute_dashboard,
    dashboard_items,
    refresh_dashboard,
    stored_dashboard,
)
from surveillance.store import Batch, open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital, M

LONDON = ZoneInfo("Europe/London")
WARDS = ("A", "B", "C")
SEXES = ("1", "2", "9", "X", None)
ETHNIC = ("A", "D", "H", "M", "R", "Z", "99", None)
NEEDS = ("learning-disability", "autism", "physical-disability", "mental-health", "dementia")


def random_hospital(seed: int, patients: int = 40, days: int = 12) -> Hospital:
    """Stays (admissions, transfers, discharges, readmissions with changed details), nurses'
    sets due 1-12 hourly and sometimes missed, alerts acknowledged, escalated or resolved,
    sepsis prompts and treatments, and harms."""
    rng = random.Random(seed)  # noqa: S311 (test data)
    h = Hospital()
    n_alert = 0
    for p in range(patients):
        patient = f"P{p}"
        t = T0 + timedelta(hours=rng.uniform(-48, days * 24))
        # born near a band boundary, so that some stays cross a birthday that changes the band
        born = (t + timedelta(days=rng.uniform(-20, 20))).date()
        born = born.replace(year=born.year - rng.choice((17, 44, 64, 74, 84, 50)))
        for _stay in range(rng.randint(1, 2)):
            ward = rng.choice(WARDS)
            details: dict[str, Any] = {
                "sex": rng.choice(SEXES),
                "ethnicity": rng.choice(ETHNIC),
                "birth_date": born.isoformat(),
                "imd_decile": rng.choice((1, 4, 7, 10, None)),
                "needs": rng.sample(NEEDS, rng.choice((0, 0, 1, 2))),
            }
            h.admit(patient, ward, t, **details)
            end = t + timedelta(hours=rng.uniform(6, 24 * 6))
            clock = t
            while clock < end:
                if rng.random() < 0.08:  # a transfer, sometimes within the ward
                    ward = rng.choice((*WARDS, ward))
                    details["needs"] = rng.sample(NEEDS, rng.choice((0, 1)))
                    h.adt(patient, ward, "transfer", clock, **details)
                interval = timedelta(hours=rng.choice((1, 4, 6, 12)))
                h.obs(patient, ward, clock, clock + interval)
                if rng.random() < 0.1:
                    n_alert += 1
                    _alert(h, rng, f"al{n_alert}", patient, ward, clock)
                if rng.random() < 0.03:
                    h.event(patient, ward, rng.choice(("fall", "cardiac-arrest", "death")), clock)
                lateness = rng.choice((0.1, 0.2, 0.5, 0.8, 1.5, 3.0))
                clock += interval * (1 + lateness) if rng.random() < 0.3 else interval
            if rng.random() < 0.8:
                h.adt(patient, ward, "discharge", end)
            else:
                break  # still in
            t = end + timedelta(hours=rng.uniform(2, 72))
    return h


def _alert(h: Hospital, rng: random.Random, alert_id: str, patient: str, ward: str, t: datetime):
    kind = rng.choice(("score", "score", "aki", "sepsis"))
    states = [(t, "raised")]
    severity = ["urgent" if kind == "score" else "stage1"]
    later = t
    for state in rng.sample(["escalated", "acknowledged", "raised", "resolved"], rng.randint(0, 3)):
        later += timedelta(minutes=rng.uniform(1, 90))
        states.append((later, state))
        severity.append("emergency" if state == "raised" and kind == "score" else severity[-1])
    h.alert(alert_id, patient, ward, states, kind=kind, severity=severity)
    if kind == "sepsis" and rng.random() < 0.6:
        h.event(patient, ward, "sepsis-treatment", t + timedelta(minutes=rng.uniform(-10, 90)))
    if kind == "score" and rng.random() < 0.7:  # a senior review, in or out of its hour or day
        review = rng.choice(("senior-review", "rrt-call"))
        h.event(patient, ward, review, t + timedelta(minutes=rng.choice((-5, 20, 70, 2000))))


def batches(h: Hospital, rng: random.Random, n: int) -> list[Batch]:
    """The records split in `n` batches in random order (late and out-of-order arrival)."""
    out = [Batch() for _ in range(n)]
    for name in ("adt", "observations", "scores", "alerts", "events"):
        for record in getattr(h.batch, name):
            getattr(out[rng.randrange(n)], name).append(record)
    return out


WINDOWS: list[tuple[datetime, datetime, Period]] = [
    (T0 + timedelta(hours=5.5), T0 + timedelta(days=3, hours=7, minutes=13), "day"),
    (T0 - timedelta(days=3), T0 + timedelta(days=9, hours=2), "week"),
    (T0 - timedelta(days=40), T0 + timedelta(days=15), "month"),
]


async def test_stored_equals_live(store_url: str):
    seed = 1 if store_url.startswith("sqlite") else 2
    h = random_hospital(seed)
    patients = sorted({a.patient_id for a in h.batch.adt})
    async with open_store(store_url) as store:
        for batch in batches(h, random.Random(seed), 4):  # noqa: S311 (test data)
            await store.write(batch)
            await refresh_dashboard(store, LONDON, chunk=7)  # refreshed between batches too
        assert await store.dirty_count() == 0
        everything = await store.patient_rows(patients)
        for since, until, period in WINDOWS:
            stored = await stored_dashboard(
                store, since=since, until=until, period=period, tz=LONDON
            )
            live = compute_dashboard(everything, since=since, until=until, period=period, tz=LONDON)
            assert stored.to_json() == live.to_json(), (since, until, period)
            windowed = compute_dashboard(
                await store.dashboard_rows(since, until),
                since=since, until=until, period=period, tz=LONDON,
            )  # fmt: skip
            assert windowed.to_json() == live.to_json(), (since, until, period)
        one_ward = await stored_dashboard(
            store, since=since, until=until, period=period, tz=LONDON, wards=["B"]
        )
        assert (
            one_ward.to_json()
            == compute_dashboard(
                everything, since=since, until=until, period=period, tz=LONDON, wards=["B"]
            ).to_json()
        )
    # the windows hold numbers, pending items among them
    hospital = {m.id: m.scopes[-1] for m in live.measures}
    assert hospital["obs_missed"].denominator > 20
    assert hospital["ack_minutes"].numerator > 0


async def test_a_write_marks_its_patients_and_a_refresh_clears_only_what_it_read(store_url: str):
    h = Hospital()
    h.admit("P1", "A", T0)
    h.obs("P1", "A", T0 + H, T0 + 5 * H)
    async with open_store(store_url) as store:
        await store.write(h.batch)
        assert [d.patient_id for d in await store.dirty_patients(10)] == ["P1"]
        read = await store.dirty_patients(10)
        rows = await store.patient_rows(["P1"])
        later = Hospital(n=100)
        later.obs("P1", "A", T0 + 5 * H, T0 + 9 * H)  # written while P1 is being refreshed
        await store.write(later.batch)
        items, stays = dashboard_items(rows, LONDON)
        assert await store.replace_dashboard_items(read, items, stays) == 0  # a newer mark
        assert await store.dirty_count() == 1
        done = await refresh_dashboard(store, LONDON)
        assert (done.patients, done.left) == (1, 0)
        board = await stored_dashboard(store, since=T0, until=T0 + 12 * H, period="day", tz=LONDON)
    on_time = next(m for m in board.measures if m.id == "obs_on_time").scopes[-1]
    assert (on_time.numerator, on_time.denominator) == (1, 2)  # both sets due counted


async def test_a_stored_item_is_pending_until_decided(tmp_path: Path):
    """A set due at 05:00 (missed from 07:40:48) with no next set: pending as of 07:40,
    missed as of 07:41; the refresh made it once, as of infinity."""
    h = Hospital()
    h.admit("P1", "A", T0)
    h.obs("P1", "A", T0 + H, T0 + 5 * H)
    async with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        await store.write(h.batch)
        await refresh_dashboard(store, LONDON)
        counts = []
        for until in (T0 + 7 * H + 40 * M, T0 + 7 * H + 41 * M):
            board = await stored_dashboard(store, since=T0, until=until, period="day", tz=LONDON)
            missed = next(m for m in board.measures if m.id == "obs_missed").scopes[-1]
            counts.append((missed.numerator, missed.denominator))
    assert counts == [(0, 0), (1, 1)]
