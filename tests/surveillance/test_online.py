"""The online scorer, pure: placements, snapshots, alerts, feeds, repeats, dead letters, resuming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import Admission, Observation, Rejected, parse
from scoring import ChartSet, Context
from surveillance import AlertEvent, Arrival, OnlineScorer, OnlineSettings, Output
from surveillance.store import StoredState
from tests.factories import make_obs
from wallboard import WardBoard

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WARD, BED = "7A", "12"
NORMAL = {
    "resp_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "heart_rate": 72,
    "consciousness": "A",
    "temperature": 37.0,
}
MEDIUM = {
    **NORMAL,
    "resp_rate": 22,
    "spo2": 95,
    "systolic_bp": 108,
    "heart_rate": 104,
    "temperature": 38.4,
}  # 6: the CONTRACT §4 example
HIGH = {**MEDIUM, "resp_rate": 25, "systolic_bp": 95}  # 8


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def admit(
    patient: str = "P1",
    *,
    bed: str = BED,
    event: str = "admit",
    t: float = 0,
    msg_id: str | None = None,
    **extra: Any,
) -> Arrival:
    context = msgspec.convert(
        {
            "msg_id": msg_id or f"adt-{patient}-{bed}-{event}-{t}",
            "time": at(t).isoformat(),
            "event": event,
            "patient_id": patient,
            "cohort": "adult",
            **extra,
        },
        Context,
    )
    return Arrival(Admission(WARD, bed, context), f"wards/{WARD}/beds/{bed}/adt", b"{}", at(t))


def obs(
    vitals: dict[str, Any],
    *,
    t: float,
    msg_id: str | None = None,
    patient: str = "P1",
    bed: str = BED,
    source: str = "manual",
) -> Arrival:
    o = make_obs(
        vitals,
        time=at(t).isoformat(),
        msg_id=msg_id or f"obs-{t}",
        patient_id=patient,
        source=source,
    )
    return Arrival(Observation(WARD, bed, "obs", o), f"wards/{WARD}/beds/{bed}/obs", b"{}", at(t))


def device(vitals: dict[str, Any], *, t: float, patient: str = "P1") -> Arrival:
    return obs(vitals, t=t, msg_id=f"dev-{t}", patient=patient, source="wearable")


def alerts(out: Output) -> list[AlertEvent]:
    return [
        msgspec.json.decode(p.payload, type=AlertEvent)
        for p in out.publications
        if p.topic.endswith("/alerts")
    ]


def scores(out: Output) -> list[dict[str, Any]]:
    return [msgspec.json.decode(p.payload) for p in out.publications if p.topic.endswith("/score")]


def dead(out: Output) -> list[dict[str, Any]]:
    return [
        msgspec.json.decode(p.payload)
        for p in out.publications
        if p.topic == "surveillance/deadletter"
    ]


@pytest.fixture
def scorer(charts: ChartSet) -> OnlineScorer:
    s = OnlineScorer(charts, OnlineSettings(device_persistence=60, feed_timeout=300))
    s.handle([admit()])
    return s


def test_a_manual_set_is_scored_published_retained_and_stored(scorer: OnlineScorer) -> None:
    out = scorer.handle([obs(MEDIUM, t=60, msg_id="obs-7f3a")])
    [score] = scores(out)
    assert score["total"] == 6
    assert score["risk"] == "medium"
    assert score["complete"]
    assert score["ward"] == WARD
    assert score["bed"] == BED
    assert score["obs_msg_id"] == "obs-7f3a"
    [publication] = [p for p in out.publications if p.topic.endswith("/score")]
    assert publication.topic == "wards/7A/beds/12/score"
    assert publication.retain
    assert [r.msg_id for r in out.batch.observations] == ["obs-7f3a"]
    assert [r.obs_msg_id for r in out.batch.scores] == ["obs-7f3a"]


RED_RR = {**NORMAL, "resp_rate": 26}  # NEWS2 3 from one parameter: low-medium
RED_HR = {**NORMAL, "heart_rate": 135}  # another parameter at 3


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ([NORMAL], []),
        ([MEDIUM], [(1, "urgent", "")]),
        ([MEDIUM, MEDIUM, MEDIUM], [(1, "urgent", "")]),  # not repeated while the band holds
        ([MEDIUM, HIGH], [(1, "urgent", ""), (2, "emergency", "up from urgent")]),  # upgraded
        ([HIGH, MEDIUM], [(1, "emergency", "")]),  # falling is not an alert
        ([MEDIUM, NORMAL, MEDIUM], [(1, "urgent", "")]),  # a dip shorter than the hysteresis
        (
            [MEDIUM, NORMAL, NORMAL, MEDIUM],  # below for 1 h (noted), then up again (noted)
            [(1, "urgent", ""), (2, "urgent", "below"), (3, "urgent", "urgent again")],
        ),
        ([RED_RR], [(1, "urgent-ward", "")]),  # a single 3: low-medium
        (
            [RED_RR, RED_HR],  # a new red parameter at the same level: noted on the alert
            [(1, "urgent-ward", ""), (2, "urgent-ward", "new red parameter heart_rate")],
        ),
        (
            [RED_RR, MEDIUM, HIGH],  # climbs twice, one alert
            [(1, "urgent-ward", ""), (2, "urgent", "up from"), (3, "emergency", "up from")],
        ),
    ],
    ids=[
        "normal",
        "medium",
        "holds",
        "rises",
        "falls",
        "dips",
        "recrosses",
        "red",
        "new-red",
        "climbs",
    ],
)
def test_one_score_alert_per_episode_upgraded_or_noted(
    scorer: OnlineScorer, sequence: list[dict[str, Any]], expected: list[tuple[int, str, str]]
) -> None:
    events = []
    for i, vitals in enumerate(sequence):
        events += alerts(scorer.handle([obs(vitals, t=3600 * (i + 1))]))
    assert [(e.seq, e.severity) for e in events] == [(seq, sev) for seq, sev, _ in expected]
    assert all(says in (e.note or "") for e, (_, _, says) in zip(events, expected, strict=True))
    assert len({e.alert_id for e in events}) <= 1  # one alert for the episode
    assert all(e.kind == "score" and e.state == "raised" for e in events)
    upgrades = [e for e in events if e.previous_severity is not None]
    assert [e.upgrades for e in upgrades] == list(range(1, len(upgrades) + 1))


def test_an_upgrade_says_which_score_raised_it_and_when(scorer: OnlineScorer) -> None:
    [first] = alerts(scorer.handle([obs(RED_RR, t=60, msg_id="r1")]))
    assert (first.system, first.total, first.risk, first.obs_msg_id) == (
        "NEWS2",
        3,
        "low-medium",
        "r1",
    )
    assert (first.scored_at, first.triggers, first.upgrades) == (at(60), ("resp_rate",), 0)
    [up] = alerts(scorer.handle([obs(HIGH, t=600, msg_id="h1")]))
    assert (up.alert_id, up.seq, up.state, up.severity) == ("score-r1", 2, "raised", "emergency")
    assert (up.previous_severity, up.upgrades, up.upgraded_at, up.raised_at) == (
        "urgent-ward",
        1,
        at(600),
        at(60),
    )
    assert (up.total, up.risk, up.obs_msg_id, up.scored_at) == (8, "high", "h1", at(600))
    assert up.notify == "outreach"  # the higher severity's ladder, from its first rung
    assert up.message.startswith("NEWS2 8 (high): emergency")


def test_alert_event_names_the_patient_and_the_observation(scorer: OnlineScorer) -> None:
    [event] = alerts(scorer.handle([obs(MEDIUM, t=60, msg_id="obs-7f3a")]))
    assert (event.patient_id, event.ward, event.bed, event.obs_msg_id) == (
        "P1",
        WARD,
        BED,
        "obs-7f3a",
    )
    assert event.message.startswith("NEWS2 6 (medium): urgent")
    assert event.alert_id == "score-obs-7f3a"


def test_continuous_readings_merge_with_the_last_set_while_fresh(scorer: OnlineScorer) -> None:
    scorer.handle([obs(NORMAL, t=0)])
    [score] = scores(scorer.handle([device({"heart_rate": 95, "spo2": 96}, t=120)]))
    assert score["complete"]
    assert score["vitals"]["heart_rate"] == 95
    assert score["vitals"]["temperature"] == 37.0
    assert score["parameters"]["heart_rate"] == 1
    # Five minutes on, the manual RR is stale; BP (1 h) and temperature (4 h) are still fresh.
    [later] = scores(scorer.handle([device({"heart_rate": 95, "spo2": 96}, t=400)]))
    assert not later["complete"]
    assert later["missing"] == ["resp_rate"]
    assert later["vitals"]["systolic_bp"] == 125


def test_a_refused_device_reading_is_dead_lettered_and_never_joins_the_snapshot(
    scorer: OnlineScorer,
) -> None:
    scorer.handle([obs(NORMAL, t=0)])
    out = scorer.handle([device({"spo2": 0}, t=60), device({"heart_rate": 80}, t=61)])
    [letter] = dead(out)
    assert letter["error"] == "implausible"
    assert "spo2 0" in letter["reason"]
    [score] = scores(out)
    assert score["vitals"]["spo2"] == 97
    assert score["vitals"]["heart_rate"] == 80


def test_device_alerts_need_the_band_to_hold(scorer: OnlineScorer) -> None:
    scorer.handle([obs(NORMAL, t=0)])
    spike = {"heart_rate": 135, "resp_rate": 26}  # a motion artefact
    assert alerts(scorer.handle([device(spike, t=10)])) == []
    assert alerts(scorer.handle([device({"heart_rate": 70, "resp_rate": 16}, t=20)])) == []
    assert alerts(scorer.handle([device(spike, t=30)])) == []
    assert alerts(scorer.handle([device(spike, t=60)])) == []
    [event] = alerts(scorer.handle([device(spike, t=90)]))
    assert event.severity in ("urgent-ward", "urgent")
    assert "continuous" in event.message


def test_silent_feed_raises_then_resolves(scorer: OnlineScorer) -> None:
    scorer.handle([device({"heart_rate": 72}, t=0)])
    assert alerts(scorer.tick(at(299))) == []
    [raised] = alerts(scorer.tick(at(300)))
    assert (raised.kind, raised.state) == ("feed", "raised")
    assert alerts(scorer.tick(at(400))) == []  # raised once
    resolved = [
        e for e in alerts(scorer.handle([device({"heart_rate": 72}, t=500)])) if e.kind == "feed"
    ]
    assert [(e.alert_id, e.state, e.seq) for e in resolved] == [(raised.alert_id, "resolved", 2)]


def test_repeated_msg_id_is_processed_once(scorer: OnlineScorer) -> None:
    first = scorer.handle([obs(MEDIUM, t=60, msg_id="obs-x")])
    again = scorer.handle([obs(MEDIUM, t=60, msg_id="obs-x"), obs(MEDIUM, t=60, msg_id="obs-x")])
    assert len(scores(first)) == 1
    assert again.publications == []
    assert len(again.batch) == 0
    assert again.duplicates == 2


def test_repeats_are_forgotten_after_the_window(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(dedupe_window=60))
    s.handle([admit(), obs(NORMAL, t=0, msg_id="o")])
    s.tick(at(30))
    assert s.handle([obs(NORMAL, t=0, msg_id="o")]).duplicates == 1
    s.tick(at(61))
    assert s.handle([obs(NORMAL, t=0, msg_id="o")]).duplicates == 0


@pytest.mark.parametrize(
    ("arrival", "error"),
    [
        (obs(NORMAL, t=1, bed="99"), "no-context"),
        (obs(NORMAL, t=1, patient="P2"), "placement"),
        (obs({**NORMAL, "spo2": 101}, t=1), "implausible"),
        (obs({**NORMAL, "diastolic_bp": 130}, t=1), "implausible"),
        (obs({**NORMAL, "on_oxygen": False, "oxygen_flow_lpm": 2}, t=1), "contradictory"),
        (admit("P9", event="discharge", t=1), "placement"),
    ],
    ids=["no-context", "wrong-patient", "implausible", "pair", "contradictory", "discharge"],
)
def test_what_cannot_be_scored_goes_to_the_dead_letter(
    scorer: OnlineScorer, arrival: Arrival, error: str
) -> None:
    out = scorer.handle([arrival])
    [letter] = dead(out)
    assert letter["error"] == error
    assert letter["reason"]
    assert letter["topic"] == arrival.topic
    assert out.batch.dead_letters[0].error == error
    assert scores(out) == []


def test_ingest_refusals_are_published_with_the_original_payload(scorer: OnlineScorer) -> None:
    raw = b"\xff\xfe not text"
    item = parse("wards/7A/beds/12/obs", raw)
    assert isinstance(item, Rejected)
    [letter] = dead(scorer.handle([Arrival(item, "wards/7A/beds/12/obs", raw, at(1))]))
    assert letter["error"] == "not-utf8"
    assert letter["encoding"] == "base64"


def test_transfer_moves_the_patient_and_keeps_the_alert_level(scorer: OnlineScorer) -> None:
    assert len(alerts(scorer.handle([obs(MEDIUM, t=60)]))) == 1
    scorer.handle([admit(bed="14", event="transfer", t=120)])
    assert scorer.patient_in(WARD, BED) is None
    assert scorer.patient_in(WARD, "14") == "P1"
    assert alerts(scorer.handle([obs(MEDIUM, t=180, bed="14")])) == []
    [letter] = dead(scorer.handle([obs(MEDIUM, t=240)]))
    assert letter["error"] == "no-context"


def test_a_transfer_to_another_ward_moves_the_open_alert_on_every_screen(
    scorer: OnlineScorer,
) -> None:
    """The alert follows the patient with an event on the new ward, in the same state, so the
    new ward's board shows it and the old one drops it (not only at its next escalation)."""
    [raised] = alerts(scorer.handle([obs(MEDIUM, t=60)]))
    stay = admit(bed="3", event="transfer", t=120)
    assert isinstance(stay.item, Admission)
    moving = Arrival(Admission("8B", "3", stay.item.context), "wards/8B/beds/3/adt", b"{}", at(120))
    out = scorer.handle([moving])
    [moved] = alerts(out)
    assert (moved.alert_id, moved.ward, moved.bed, moved.state) == (
        raised.alert_id,
        "8B",
        "3",
        "raised",
    )
    assert moved.seq == raised.seq + 1
    assert moved.note == f"moved with the patient from {WARD}/{BED} to 8B/3"
    assert [p.topic for p in out.publications if p.topic.endswith("/alerts")] == ["wards/8B/alerts"]
    board = WardBoard()
    board.apply(f"wards/{WARD}/alerts", msgspec.json.encode(raised))
    board.apply("wards/8B/alerts", msgspec.json.encode(moved))
    assert (board.alert(raised.alert_id) or {}).get("ward") == "8B"
    shown = {
        ward: [a["alert_id"] for bed in board.snapshot(ward)["beds"] for a in bed["open_alerts"]]
        for ward in (WARD, "8B")
    }
    assert shown == {WARD: [], "8B": [raised.alert_id]}


def test_discharge_resolves_open_alerts_and_empties_the_bed(scorer: OnlineScorer) -> None:
    [raised] = alerts(scorer.handle([obs(MEDIUM, t=60)]))
    [resolved] = alerts(scorer.handle([admit(event="discharge", t=120)]))
    assert (resolved.alert_id, resolved.state, resolved.seq) == (raised.alert_id, "resolved", 2)
    assert scorer.patient_in(WARD, BED) is None


def test_an_older_adt_is_kept_but_not_applied(scorer: OnlineScorer) -> None:
    scorer.handle([admit("P2", t=100)])
    out = scorer.handle([admit("P3", t=50)])
    assert [r.patient_id for r in out.batch.adt] == ["P3"]
    assert scorer.patient_in(WARD, BED) == "P2"


def test_an_admission_in_a_batch_applies_to_what_follows_it(charts: ChartSet) -> None:
    s = OnlineScorer(charts)
    out = s.handle([obs(NORMAL, t=0, msg_id="early"), admit(t=1), obs(NORMAL, t=2, msg_id="late")])
    assert [d["error"] for d in dead(out)] == ["no-context"]
    assert [x["obs_msg_id"] for x in scores(out)] == ["late"]


def test_resuming_from_the_store_does_not_alert_again(
    charts: ChartSet, scorer: OnlineScorer
) -> None:
    out = scorer.handle([obs(MEDIUM, t=60, msg_id="m1")])
    [adt] = OnlineScorer(charts).handle([admit()]).batch.adt
    [score] = out.batch.scores
    [alert] = out.batch.alerts
    resumed = OnlineScorer(charts)
    resumed.restore(
        StoredState(
            placements=[adt], latest_scores=[score], open_alerts=[alert], recent_msg_ids={"m1"}
        )
    )
    assert resumed.patient_in(WARD, BED) == "P1"
    assert resumed.handle([obs(MEDIUM, t=60, msg_id="m1")]).duplicates == 1
    assert alerts(resumed.handle([obs(MEDIUM, t=3600, msg_id="m2")])) == []
    [up] = alerts(resumed.handle([obs(HIGH, t=7200, msg_id="m3")]))
    assert (up.alert_id, up.severity, up.previous_severity) == ("score-m1", "emergency", "urgent")
    [resolved] = alerts(resumed.handle([admit(event="discharge", t=8000)]))[:1]
    assert resolved.alert_id == "score-m1"
    assert resolved.seq == 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["manual", "wearable"]),
            st.sampled_from(
                [NORMAL, MEDIUM, HIGH, {"heart_rate": 135}, {"spo2": 0}, {"resp_rate": 30}]
            ),
            st.integers(1, 600),
        ),
        max_size=30,
    )
)
def test_every_input_ends_somewhere(
    charts: ChartSet, steps: list[tuple[str, dict[str, Any], int]]
) -> None:
    """Each observation is scored or dead-lettered, exactly once; alerts never repeat an id+seq."""
    s = OnlineScorer(charts, OnlineSettings(device_persistence=30))
    s.handle([admit()])
    t, seen = 0, set()
    for n, (source, reading, gap) in enumerate(steps):
        t += gap
        vitals = {**NORMAL, **reading} if source == "manual" else reading
        out = s.handle([obs(vitals, t=t, msg_id=f"m{n}", source=source)])
        assert len(out.batch.scores) + len(out.batch.dead_letters) == 1
        for event in alerts(out):
            assert (event.alert_id, event.seq) not in seen
            seen.add((event.alert_id, event.seq))


def test_a_set_and_a_device_reading_in_one_batch_merge(scorer: OnlineScorer) -> None:
    out = scorer.handle([obs(NORMAL, t=0), device({"heart_rate": 95}, t=60)])
    manual, snapshot = scores(out)
    assert snapshot["complete"]
    assert snapshot["vitals"]["temperature"] == 37.0
    assert snapshot["vitals"]["heart_rate"] == 95
    assert manual["vitals"]["heart_rate"] == 72


def test_a_refused_set_never_joins_a_later_reading_of_the_same_batch(scorer: OnlineScorer) -> None:
    out = scorer.handle([obs({**NORMAL, "spo2": 101}, t=0), device({"heart_rate": 95}, t=60)])
    [letter] = dead(out)
    assert letter["error"] == "implausible"
    [snapshot] = scores(out)
    assert snapshot["vitals"] == {"heart_rate": 95}
