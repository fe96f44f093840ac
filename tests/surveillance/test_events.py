"""Clinical events (CONTRACT §9) through the online scorer, into the store and back out: the
bed's patient only (or one who just left it, within `event_grace`), repeats and conflicts like
every input, time bounds, no effect on scores or alerts; append-only storage on SQLite and
PostgreSQL, the window query, and the patient view's history."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from ingest import EventReport, parse
from scoring import ChartSet
from surveillance import Arrival, OnlineScorer, OnlineSettings, StoreHistory
from surveillance.store import AccessRecord, Batch, EventRecord, StoredState, open_store
from tests.surveillance.store.test_store import raw
from tests.surveillance.test_online import BED, HIGH, MEDIUM, WARD, admit, alerts, at, dead, obs


def event(
    kind: str = "rrt-call",
    *,
    t: float,
    patient: str = "P1",
    bed: str = BED,
    msg_id: str | None = None,
    happened: float | None = None,
    **extra: Any,
) -> Arrival:
    """An event on `bed`'s topic, received at `t`, that happened at `happened` (default `t`)."""
    body = {
        "msg_id": msg_id or f"ev-{kind}-{t}",
        "time": at(t if happened is None else happened).isoformat(),
        "patient_id": patient,
        "event": kind,
        **extra,
    }
    topic, payload = f"wards/{WARD}/beds/{bed}/event", msgspec.json.encode(body)
    item = parse(topic, payload)
    assert isinstance(item, EventReport), item
    return Arrival(item, topic, payload, at(t))


@pytest.fixture
def scorer(charts: ChartSet) -> OnlineScorer:
    s = OnlineScorer(charts, OnlineSettings(device_persistence=0, event_grace=6 * 3600))
    s.handle([admit()])
    return s


def test_an_event_for_the_beds_patient_is_stored_as_received(scorer: OnlineScorer) -> None:
    out = scorer.handle(
        [event("pressure-ulcer", t=60, happened=30, category=2, by=" tissue viability ")]
    )
    assert out.dead_letters == 0
    assert out.batch.events == [
        EventRecord(
            msg_id="ev-pressure-ulcer-60",
            time=at(30),
            received_at=at(60),
            ward=WARD,
            bed=BED,
            patient_id="P1",
            event="pressure-ulcer",
            category=2,
            recorded_by="tissue viability",
            note=None,
        )
    ]
    assert [a.msg_id for a in out.batch.accepted] == ["ev-pressure-ulcer-60"]
    assert out.publications == []  # nothing to publish: no score, no alert


PLACEMENT: list[tuple[str, list[Arrival], Arrival, str]] = [
    # (case, what happened before, the event, the reason says)
    ("another patient's bed", [admit("P2", bed="14")], event(t=60, bed="14"), "14 holds P2"),
    ("an empty bed", [], event(t=60, bed="15"), "nobody is admitted to 7A/15"),
    ("an unknown patient", [], event(t=60, patient="P9"), "for P9"),
]


@pytest.mark.parametrize(
    ("before", "arrival", "says"), [c[1:] for c in PLACEMENT], ids=[c[0] for c in PLACEMENT]
)
def test_an_event_for_someone_not_in_the_bed_is_a_placement_dead_letter(
    scorer: OnlineScorer, before: list[Arrival], arrival: Arrival, says: str
) -> None:
    scorer.handle(before)
    out = scorer.handle([arrival])
    [letter] = dead(out)
    assert letter["error"] == "placement"
    assert says in letter["reason"]
    assert out.batch.events == []
    assert [d.msg_id for d in out.batch.dead_letters] == [arrival.item.msg_id]


def test_a_repeat_is_dropped_and_the_same_id_with_other_content_is_a_conflict(
    scorer: OnlineScorer,
) -> None:
    first = scorer.handle([event("fall", t=60, msg_id="ev-9")])
    assert len(first.batch.events) == 1
    again = scorer.handle([event("fall", t=90, msg_id="ev-9", happened=60)])  # redelivered
    assert (again.duplicates, again.batch.events, again.dead_letters) == (1, [], 0)
    other = scorer.handle([event("death", t=120, msg_id="ev-9")])
    [letter] = dead(other)
    assert letter["error"] == "conflict"
    assert other.batch.events == []
    twice = scorer.handle([event("fall", t=200, msg_id="ev-10")] * 2)  # within one batch
    assert (len(twice.batch.events), twice.duplicates) == (1, 1)


def test_an_event_is_refused_outside_the_time_bounds(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(max_skew=300, max_age=7 * 86400))
    s.handle([admit(t=0, birth_date="2026-11-20")])  # a newborn (the cohort does not matter)
    ahead = s.handle([event(t=60, happened=60 + 301, msg_id="ahead")])
    old = s.handle([event(t=60, happened=60 - 7 * 86400 - 1, msg_id="old")])
    unborn = s.handle([event(t=60, happened=-3 * 86400, msg_id="unborn")])
    for out, says in ((ahead, "ahead"), (old, "max_age"), (unborn, "before the patient's birth")):
        [letter] = dead(out)
        assert (letter["error"], says in letter["reason"]) == ("time", True), letter
        assert out.batch.events == []
    fine = s.handle([event(t=60, happened=-86400, msg_id="the-day-after-birth")])
    assert len(fine.batch.events) == 1


def test_an_event_recorded_after_the_discharge_is_taken_within_the_grace(
    scorer: OnlineScorer,
) -> None:
    """Deaths and ICU transfers are often entered after the ADT message: still the patient's,
    for the bed they left, until `event_grace` (6 h here) after they left."""
    scorer.handle([admit(event="discharge", t=3600)])
    death = scorer.handle([event("death", t=5400, happened=3500)])
    assert death.dead_letters == 0
    assert [(e.event, e.bed, e.time) for e in death.batch.events] == [("death", BED, at(3500))]
    late = scorer.handle([event("icu-admission", t=3600 + 6 * 3600 + 1, happened=3600)])
    [letter] = dead(late)
    assert letter["error"] == "placement"
    assert "more than 6 h" in letter["reason"]
    assert "event_grace" in letter["reason"]
    elsewhere = scorer.handle([event("death", t=5400, happened=3500, bed="14", msg_id="x")])
    assert [d["error"] for d in dead(elsewhere)] == ["placement"]  # not the bed they left


def test_the_grace_covers_a_transfer_and_a_bed_given_to_another(scorer: OnlineScorer) -> None:
    scorer.handle([admit(event="transfer", bed="14", t=600)])  # P1: bed 12 → 14
    out = scorer.handle([event("rrt-call", t=700, happened=500)])  # on bed 12, recorded late
    assert [e.bed for e in out.batch.events] == [BED]
    assert scorer.handle([event("fall", t=800, bed="14")]).batch.events  # their bed now
    scorer.handle([admit("P3", bed="14", t=900)])  # bed 14 given to P3: P1 leaves it
    moved = scorer.handle([event("sepsis-treatment", t=1000, happened=850, bed="14")])
    assert [e.patient_id for e in moved.batch.events] == ["P1"]


def test_the_grace_survives_a_restart_and_ends_on_time(charts: ChartSet) -> None:
    settings = OnlineSettings(event_grace=3600)
    s = OnlineScorer(charts, settings)
    s.handle([admit()])
    s.handle([admit(event="discharge", t=100)])
    resumed = OnlineScorer(charts, settings)
    resumed.restore(StoredState([], [], [], set(), scorer_state=s.snapshot()))
    assert resumed.handle([event("death", t=200, happened=90)]).batch.events
    out = resumed.tick(at(100 + 3601))  # past the grace: forgotten, and the state says so
    assert any(r.key == "left:P1" and r.state is None for r in out.batch.states)
    assert dead(resumed.handle([event("death", t=3000, happened=90, msg_id="y")]))


@pytest.mark.parametrize("kind", ["cardiac-arrest", "death", "icu-admission", "rrt-call"])
def test_no_event_changes_a_score_or_an_alert(scorer: OnlineScorer, kind: str) -> None:
    """Conservative: not even an arrest or a death stands an alert down (a mis-keyed event
    must not silence a living patient's alerts); the discharge that follows does."""
    [raised] = alerts(scorer.handle([obs(MEDIUM, t=60)]))
    out = scorer.handle([event(kind, t=120)])
    assert (out.publications, out.batch.alerts, out.batch.scores) == ([], [], [])
    assert [a.alert_id for a in scorer.desk.of_patient("P1")] == [raised.alert_id]
    [upgraded] = alerts(scorer.handle([obs(HIGH, t=180, msg_id="later")]))
    assert upgraded.alert_id == raised.alert_id  # the episode goes on as before
    assert scorer.patient_in(WARD, BED) == "P1"  # still in the bed until the ADT says not


# -- the store, on both backends ---------------------------------------------------------------


def records() -> list[EventRecord]:
    return [
        EventRecord("e1", at(0), at(5), WARD, BED, "P1", "rrt-call", recorded_by="outreach"),
        EventRecord("e2", at(60), at(65), WARD, BED, "P1", "pressure-ulcer", category=3),
        EventRecord("e3", at(120), at(125), WARD, "14", "P2", "death", note="expected"),
        EventRecord("e4", at(180), at(185), WARD, "14", "P2", "rrt-call"),
    ]


async def test_events_round_trip_and_are_read_by_window_kind_and_patient(
    store_url: str,
) -> None:
    async with open_store(store_url) as store:
        await store.write(Batch(events=records()))
        await store.write(Batch(events=records()[:1]))  # a repeat: kept once
        assert await store.events() == records()
        assert await store.fetch(EventRecord, patient_id="P2") == records()[2:]
        window = await store.events(since=at(60), until=at(180))
        assert [e.msg_id for e in window] == ["e2", "e3"]  # [since, until)
        calls = await store.events(kinds=["rrt-call"])
        assert [e.msg_id for e in calls] == ["e1", "e4"]
        both = await store.events(kinds={"death", "pressure-ulcer"}, since=at(1))
        assert [e.msg_id for e in both] == ["e2", "e3"]
        assert await store.events(kinds=[]) == []
        assert [e.msg_id for e in await store.events(patient_id="P1", until=at(60))] == ["e1"]


async def test_the_events_table_is_append_only(store_url: str) -> None:
    async with open_store(store_url) as store:
        await store.write(Batch(events=records()))
        for statement in (
            "UPDATE clinical_events SET event = 'fall'",
            "DELETE FROM clinical_events",
        ):
            with pytest.raises((sqlite3.Error, psycopg.Error), match="append-only"):
                raw(store_url, statement)
        with pytest.raises((sqlite3.Error, psycopg.Error)):
            raw(
                store_url,
                "INSERT INTO clinical_events (msg_id, time, received_at, ward, bed, patient_id, "
                "event, category) VALUES ('bad', ?, ?, '7A', '12', 'P1', 'pressure-ulcer', 5)",
                (at(0).isoformat(), at(0).isoformat()),
            )
        assert await store.events() == records()


async def test_the_scorers_events_reach_the_history_audited(
    charts: ChartSet, store_url: str
) -> None:
    s = OnlineScorer(charts)
    out = s.handle(
        [
            admit(),
            event("rrt-call", t=60, by="outreach"),
            event("pressure-ulcer", t=120, category=2),
            admit(event="discharge", t=180),
            event("death", t=240, happened=170),
        ]
    )
    async with open_store(store_url) as store:
        await store.write(out.batch)
        history = StoreHistory()
        history.store = store
        found = await history.events("P1", at(0), viewer="Dr Ada")
        assert await history.events("P1", at(61), viewer="Dr Ada") != found  # since
        audit = await store.fetch(AccessRecord)
    assert found == [
        {
            "msg_id": "ev-rrt-call-60",
            "time": "2026-11-22T09:01:00Z",
            "patient_id": "P1",
            "event": "rrt-call",
            "ward": WARD,
            "bed": BED,
            "by": "outreach",
        },
        {
            "msg_id": "ev-pressure-ulcer-120",
            "time": "2026-11-22T09:02:00Z",
            "patient_id": "P1",
            "event": "pressure-ulcer",
            "ward": WARD,
            "bed": BED,
            "category": 2,
        },
        {
            "msg_id": "ev-death-240",
            "time": "2026-11-22T09:02:50Z",
            "patient_id": "P1",
            "event": "death",
            "ward": WARD,
            "bed": BED,
        },
    ]
    assert [(r.viewer, r.what) for r in audit] == [("Dr Ada", "events")] * 2


async def test_a_spooled_batch_keeps_its_events(tmp_path: Path) -> None:
    from surveillance.store import Spool  # noqa: PLC0415

    async with Spool(tmp_path / "spool.db") as spool:
        await spool.append(Batch(events=records()))
        first = await spool.first()
    assert first is not None
    assert first[1].events == records()
    assert len(first[1]) == 4


def test_event_grace_is_a_setting(tmp_path: Path) -> None:
    from surveillance import load_settings  # noqa: PLC0415

    path = tmp_path / "s.toml"
    path.write_text("[scorer]\nevent_grace = 7200\n")
    assert load_settings(path).online().event_grace == 7200
    assert OnlineSettings().event_grace == timedelta(hours=24).total_seconds()
    with pytest.raises(ValueError, match="event_grace"):
        OnlineSettings(event_grace=-1)


async def test_the_history_api_lists_the_beds_patients_events(
    charts: ChartSet, tmp_path: Path
) -> None:
    """`GET /api/wards/{ward}/beds/{bed}/history` gains `events`, read from the real store."""
    import httpx  # noqa: PLC0415

    from wallboard import Auth, BrokerFeed, create_app  # noqa: PLC0415

    now = at(600)
    feed = BrokerFeed("127.0.0.1", 1, clock=lambda: now)  # never started: given the ADT
    adt = {"msg_id": "adt-1", "time": at(0).isoformat(), "event": "admit", "patient_id": "P1"}
    feed.handle(f"wards/{WARD}/beds/{BED}/adt", msgspec.json.encode(adt | {"cohort": "adult"}))
    s = OnlineScorer(charts)
    out = s.handle([admit(), obs(MEDIUM, t=60), event("rrt-call", t=120, by="outreach")])
    url = f"sqlite:///{tmp_path / 'h.db'}"
    async with open_store(url) as store:
        await store.write(out.batch)
        await store.write(
            Batch(events=[EventRecord("old", at(-7200), at(-7200), WARD, BED, "P1", "fall")])
        )
        history = StoreHistory(clock=feed.clock)
        history.store = store
        app = create_app(feed, auth=Auth.without_login("none"), history=history)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as client:
            response = await client.get(f"/api/wards/{WARD}/beds/{BED}/history?hours=1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e["msg_id"], e["event"], e["by"]) for e in body["events"]] == [
        ("ev-rrt-call-120", "rrt-call", "outreach")
    ]  # the fall two hours ago is outside the hour asked for
    assert all("patient_id" not in e for e in body["events"])  # no login: nobody named
    assert len(body["scores"]) == 1
