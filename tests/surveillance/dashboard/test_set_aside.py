"""A patient whose rows make the item code raise is set aside by the refresh (recorded with
its reason, mark cleared, counted), the other patients of its chunk are refreshed, and the
patient is retried when written to again; on both backends, with a real bad row."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from surveillance.dashboard import refresh_dashboard, stored_dashboard
from surveillance.store import Batch, open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital
from tests.surveillance.dashboard.test_stored import LONDON


def _poison(h: Hospital) -> Batch:
    """A nurse's set of P2 whose `next_obs_due` has no time zone: the items cannot compare it
    with the aware times of the others (TypeError)."""
    h.obs("P2", "A", T0 + 2 * H, T0 + 6 * H)
    score = h.batch.scores[-1]
    result = msgspec.json.decode(score.result)
    result["next_obs_due"] = "2025-03-01T10:00:00"
    bad = dataclasses.replace(score, result=msgspec.json.encode(result))
    return Batch(observations=[h.batch.observations[-1]], scores=[bad])


async def test_a_poison_patient_is_set_aside_and_the_others_refreshed(
    store_url: str, caplog: pytest.LogCaptureFixture
):
    h = Hospital()
    for p in ("P1", "P2", "P3"):
        h.admit(p, "A", T0)
        h.obs(p, "A", T0 + H, T0 + 5 * H)
    async with open_store(store_url) as store:
        await store.write(h.batch)
        await store.write(_poison(h))
        done = await refresh_dashboard(store, LONDON, chunk=10)
        assert (done.patients, done.set_aside, done.left) == (3, 1, 0)
        assert "patient P2 set aside, items not made: TypeError" in caplog.text
        assert await store.set_aside_count() == 1
        board = await stored_dashboard(store, since=T0, until=T0 + 48 * H, period="day", tz=LONDON)
        on_time = {m.id: m for m in board.measures}["obs_on_time"]
        assert on_time.scopes[-1].denominator == 2  # P1's and P3's sets due, not P2's
        # P2 written to again: retried (and set aside again while the bad row stays)
        h.obs("P2", "A", T0 + 7 * H, T0 + 11 * H)
        await store.write(Batch(observations=h.batch.observations[-1:], scores=h.batch.scores[-1:]))
        again = await refresh_dashboard(store, LONDON, chunk=10)
        assert (again.patients, again.set_aside, again.left) == (1, 1, 0)
        assert await store.set_aside_count() == 1
