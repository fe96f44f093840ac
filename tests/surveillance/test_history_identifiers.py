"""The patient view's history to someone who may not see identifiers (review of issue 14).

Without login (`--auth none`, the demo), on an enrolled wall screen or for a `viewer`, the
history route stripped `patient_id` and `birth_date` from `patient` but handed back the stored
alert events as they were, each with the `patient_id` (found by this review, fixed on main in
7779326): through the real store and the real route, nothing names the patient.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from scoring import ChartSet
from surveillance import OnlineScorer, OnlineSettings, StoreHistory
from surveillance.store import open_store
from tests.surveillance.test_online import HIGH, WARD, admit, at, obs
from wallboard import Auth, BrokerFeed, create_app

PATIENT = "NHS9434765919"


async def test_no_identifier_reaches_someone_who_may_not_see_it(
    charts: ChartSet, tmp_path: Path
) -> None:
    scorer = OnlineScorer(charts, OnlineSettings(device_persistence=0))
    batch = scorer.handle(
        [admit(PATIENT), obs(HIGH, t=60, msg_id="set-high", patient=PATIENT)]
    ).batch
    assert batch.alerts, "the set raised an alert, stored with the patient's id"
    feed = BrokerFeed("127.0.0.1", 1, clock=lambda: at(120))  # never started: given the ADT
    adt = {"msg_id": "adt-1", "time": at(0).isoformat(), "event": "admit"}
    adt |= {"patient_id": PATIENT, "cohort": "adult", "birth_date": "1948-03-02"}
    feed.handle(f"wards/{WARD}/beds/12/adt", msgspec.json.encode(adt))
    async with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        await store.write(batch)
        history = StoreHistory(clock=feed.clock)
        history.store = store
        app = create_app(feed, auth=Auth.without_login("none"), history=history)
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
            response = await client.get(f"/api/wards/{WARD}/beds/12/history?hours=6")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "patient_id" not in body["patient"]  # what the route already strips
    assert body["alerts"], "the alert is in the history"
    assert PATIENT not in response.text
