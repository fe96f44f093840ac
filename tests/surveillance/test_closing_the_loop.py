"""Closing the loop in the online scorer (issue 6), on an injected clock: escalation, restarts,
observations overdue, hysteresis, quiet after acknowledgement, think sepsis, AKI."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ingest import parse
from scoring import ChartSet
from surveillance import AlertEvent, Arrival, OnlineScorer, OnlineSettings, Output
from surveillance.store import StoredState
from tests.surveillance.test_alert_actions import act
from tests.surveillance.test_online import (
    HIGH,
    MEDIUM,
    NORMAL,
    WARD,
    admit,
    alerts,
    at,
    dead,
    device,
    obs,
)

HOUR = 3600.0


def states(out: Output) -> list[tuple[str, str, str | None, int]]:
    return [(e.kind, e.state, e.notify, e.rung) for e in alerts(out)]


def ticks(scorer: OnlineScorer, *seconds: float) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for second in seconds:
        events += alerts(scorer.tick(at(second)))
    return events


@pytest.fixture
def quiet(charts: ChartSet) -> OnlineScorer:
    """A scorer whose patient has no overdue alerts in the way (checked on their own below)."""
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([admit()])
    return s


def test_an_unanswered_urgent_alert_climbs_to_outreach(quiet: OnlineScorer) -> None:
    assert states(quiet.handle([obs(MEDIUM, t=0, msg_id="m1")])) == [
        ("score", "raised", "nurse-in-charge", 0)
    ]
    events = ticks(quiet, 899, 900, 1800, 3600)
    assert [(e.state, e.notify, e.rung, e.renotified) for e in events] == [
        ("raised", "nurse-in-charge", 0, 1),  # re-notified at 15 min
        ("escalated", "medical-team", 1, 0),  # 30 min: the medical team
        ("escalated", "outreach", 2, 0),  # 60 min: outreach
    ]
    assert [r.state for r in quiet.tick(at(3601)).batch.alerts] == []


def test_news2_seven_calls_outreach_at_once(quiet: OnlineScorer) -> None:
    [event] = alerts(quiet.handle([obs(HIGH, t=0)]))
    assert (event.severity, event.notify) == ("emergency", "outreach")


def test_acknowledgement_stops_the_climb(quiet: OnlineScorer) -> None:
    quiet.handle([obs(MEDIUM, t=0, msg_id="m1")])
    quiet.handle([act("score-m1", "ack", t=600, msg_id="c1")])
    assert ticks(quiet, 1800, 3600, 7200) == []


def test_escalation_survives_a_restart(charts: ChartSet, quiet: OnlineScorer) -> None:
    raised = quiet.handle([obs(MEDIUM, t=0, msg_id="m1")])
    later = quiet.tick(at(1800))  # escalated to the medical team, then the service stops
    [adt] = OnlineScorer(charts).handle([admit()]).batch.adt
    resumed = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    resumed.restore(
        StoredState(
            placements=[adt],
            latest_scores=raised.batch.scores,
            open_alerts=later.batch.alerts,
            recent_msg_ids=set(),
        )
    )
    # Down until 65 min: on its first tick it catches up with outreach, once.
    events = ticks(resumed, 3900, 3901)
    assert [(e.state, e.notify, e.seq, e.raised_at) for e in events] == [
        ("escalated", "outreach", 3, at(0))
    ]


def test_late_observations_raise_an_overdue_alert_then_escalate_then_clear(
    charts: ChartSet,
) -> None:
    s = OnlineScorer(charts)
    s.handle([admit(), obs(NORMAL, t=0, msg_id="set1")])  # NEWS2 0: 12-hourly, due 21:00
    late, missed = 12 * HOUR * 1.33, 12 * HOUR * 1.67
    assert ticks(s, 12 * HOUR, late - 1) == []  # due, not late yet
    [overdue] = ticks(s, late)
    assert (overdue.kind, overdue.state, overdue.notify) == ("overdue", "raised", "bedside-nurse")
    assert overdue.message.startswith("Observations late: the full set due at 21:00")
    [escalated] = ticks(s, missed)
    assert (escalated.state, escalated.notify) == ("escalated", "nurse-in-charge")
    out = s.handle([obs(NORMAL, t=missed + 60, msg_id="set2")])
    [cleared] = [e for e in alerts(out) if e.kind == "overdue"]
    assert (cleared.state, cleared.by, cleared.reason) == (
        "resolved",
        "system",
        "observations taken at 05:03",
    )


def late_at(arrival: Arrival, received: float) -> Arrival:
    """The arrival as if it reached the service `received` seconds after T0."""
    return msgspec.structs.replace(arrival, received=at(received))


@pytest.mark.parametrize(
    ("first_set", "admitted", "received", "due", "late"),
    [
        # Admitted and heard of at once: due first_set later, late a third of it after that.
        (HOUR, 0, 0, HOUR, HOUR * 1.33),
        (2 * HOUR, 0, 0, 2 * HOUR, 2 * HOUR * 1.33),
        # Heard of within first_set of the admission: still counted from the admission.
        (HOUR, 0, HOUR, HOUR, HOUR * 1.33),
        # Heard of long after (a service started on a ward of long-admitted patients): counted
        # from when it was heard of, so they are not all late at once.
        (HOUR, 0, HOUR + 1, 2 * HOUR + 1, 2 * HOUR + 1 + HOUR * 0.33),
        (HOUR, 0, 24 * HOUR, 25 * HOUR, 25 * HOUR + HOUR * 0.33),
    ],
)
def test_a_patient_admitted_without_a_set_is_due_a_first_one(
    charts: ChartSet, first_set: float, admitted: float, received: float, due: float, late: float
) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=first_set))
    s.handle([late_at(admit(t=admitted), received)])
    assert ticks(s, due, late - 1) == []  # due, not late yet
    [overdue] = ticks(s, late + 1)
    assert (overdue.kind, overdue.state, overdue.notify) == ("overdue", "raised", "bedside-nurse")
    assert overdue.message.startswith("Observations late: the first set due at ")
    [escalated] = ticks(s, due + first_set * 0.67 + 1)  # missed
    assert escalated.state == "escalated"


def test_a_first_set_taken_in_time_raises_nothing_and_sets_the_next_due(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=HOUR))
    s.handle([admit(), obs(NORMAL, t=HOUR / 2, msg_id="set1")])  # NEWS2 0: next in 12 h
    assert ticks(s, 2 * HOUR, 12 * HOUR) == []
    assert [e.kind for e in ticks(s, HOUR / 2 + 12 * HOUR * 1.34)] == ["overdue"]


def test_a_late_first_set_clears_its_overdue_alert(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=HOUR))
    s.handle([admit()])
    [overdue] = ticks(s, 1.5 * HOUR)
    out = s.handle([obs(NORMAL, t=1.6 * HOUR, msg_id="set1")])
    [cleared] = [e for e in alerts(out) if e.kind == "overdue"]
    assert (cleared.alert_id, cleared.state, cleared.by) == (overdue.alert_id, "resolved", "system")


@pytest.mark.parametrize("first_set", [0.0])
def test_no_first_set_is_due_when_the_setting_is_off(charts: ChartSet, first_set: float) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=first_set))
    s.handle([admit()])
    assert ticks(s, HOUR, 24 * HOUR) == []


def test_a_transfer_keeps_the_due_time_it_had(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=HOUR))
    s.handle([admit(), obs(NORMAL, t=0, msg_id="set1")])  # next set due at 21:00
    s.handle([admit(bed="2", event="transfer", t=HOUR)])
    assert ticks(s, 2 * HOUR, 12 * HOUR * 1.33 - 1) == []


def test_the_first_set_due_survives_a_restart(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(first_set=HOUR))
    [adt] = s.handle([admit()]).batch.adt
    again = OnlineScorer(charts, OnlineSettings(first_set=HOUR))
    state = s.snapshot()
    again.restore(StoredState([adt], [], [], set(), scorer_state=state))
    assert [e.kind for e in ticks(again, 1.5 * HOUR)] == ["overdue"]


def test_continuous_readings_do_not_hold_off_an_overdue_set(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(device_persistence=0))
    s.handle([admit(), obs(NORMAL, t=0, msg_id="set1")])
    for minute in range(0, 16 * 60, 60):
        s.handle([device({"heart_rate": 70}, t=minute * 60)])
    assert "overdue" in [e.kind for e in ticks(s, 12 * HOUR * 1.33)]


def test_a_stood_down_overdue_alert_is_not_raised_again_for_the_same_set(
    charts: ChartSet,
) -> None:
    s = OnlineScorer(charts)
    s.handle([admit(), obs(NORMAL, t=0, msg_id="set1")])
    [overdue] = ticks(s, 12 * HOUR * 1.4)
    reason = {"reason": "asleep; obs deferred by the nurse-in-charge"}
    s.handle([act(overdue.alert_id, "resolve", t=12 * HOUR * 1.5, msg_id="c1", **reason)])
    assert ticks(s, 12 * HOUR * 1.8, 12 * HOUR * 3) == []


def test_hysteresis_and_standing_down_an_acknowledged_alert(quiet: OnlineScorer) -> None:
    quiet.handle([obs(MEDIUM, t=0, msg_id="m1")])
    quiet.handle([act("score-m1", "ack", t=300, msg_id="c1")])
    assert alerts(quiet.handle([obs(NORMAL, t=HOUR, msg_id="n1")])) == []  # below since 10:00
    assert alerts(quiet.handle([obs(MEDIUM, t=1.5 * HOUR, msg_id="m2")])) == []  # band held
    quiet.handle([obs(NORMAL, t=2 * HOUR, msg_id="n2")])
    [stood_down] = alerts(quiet.handle([obs(NORMAL, t=3 * HOUR, msg_id="n3")]))
    assert (stood_down.state, stood_down.by) == ("resolved", "system")
    assert stood_down.reason == "recovered: NEWS2 0 (low), below the level alerted since 11:00"
    [again] = alerts(quiet.handle([obs(MEDIUM, t=4 * HOUR, msg_id="m3")]))
    assert (again.alert_id, again.state) == ("score-m3", "raised")


def test_quiet_after_acknowledgement_holds_a_new_trigger_at_the_same_level(
    quiet: OnlineScorer,
) -> None:
    red_rr = {**NORMAL, "resp_rate": 26}  # NEWS2 3 from one parameter: low-medium
    red_hr = {**NORMAL, "heart_rate": 135}  # another parameter at 3: a new trigger
    quiet.handle([obs(red_rr, t=0, msg_id="r1")])
    quiet.handle([act("score-r1", "ack", t=60, msg_id="c1")])
    [note] = alerts(quiet.handle([obs(red_hr, t=600, msg_id="r2")]))
    assert (note.alert_id, note.state, note.seq) == ("score-r1", "acknowledged", 3)
    assert note.note is not None
    assert "no new alert, quiet after acknowledgement until 09:31" in note.note
    assert note.triggers == ("heart_rate",)
    # A rise above the acknowledged level alerts at once, quiet or not: the same alert,
    # upgraded, unacknowledged again.
    [high] = alerts(quiet.handle([obs(HIGH, t=700, msg_id="h1")]))
    assert (high.alert_id, high.severity, high.state) == ("score-r1", "emergency", "raised")
    # Once the quiet period is over, a new red parameter at the acknowledged level calls
    # someone again: raised again at its severity.
    quiet.handle([act("score-r1", "ack", t=800, msg_id="c2")])
    again = {**HIGH, "spo2": 91}
    [raised] = alerts(quiet.handle([obs(again, t=800 + 1801, msg_id="h2")]))
    assert (raised.alert_id, raised.state, raised.severity, raised.upgrades) == (
        "score-r1",
        "raised",
        "emergency",
        1,
    )
    assert raised.note is not None
    assert "new red parameter spo2" in raised.note


def plan(t: float, msg_id: str, **fields: Any) -> Arrival:
    body = {"msg_id": msg_id, "time": at(t).isoformat(), "patient_id": "P1", "by": "Dr C"}
    payload = msgspec.json.encode(
        {"reason": "ward-based care, agreed with the family"} | body | fields
    )
    topic = f"wards/{WARD}/beds/12/plan"
    return Arrival(parse(topic, payload), topic, payload, at(t))


def test_an_escalation_plan_changes_the_ladder_and_says_so(quiet: OnlineScorer) -> None:
    out = quiet.handle([plan(-60, "p1", ceiling="medical-team")])
    [record] = out.batch.plans
    assert (record.by, record.plan["ceiling"]) == ("Dr C", "medical-team")
    [raised] = alerts(quiet.handle([obs(MEDIUM, t=0, msg_id="m1")]))
    assert raised.plan == (
        "ceiling of care: medical-team (agreed by Dr C: ward-based care, agreed with the family)"
    )
    events = ticks(quiet, 1800, 3600, 7200)
    assert {e.notify for e in events} == {"medical-team"}  # never outreach
    out = quiet.handle([obs(HIGH, t=7300, msg_id="h1")])
    [score] = [p for p in out.publications if "/score" in p.topic]
    assert msgspec.json.decode(score.payload)["total"] == 8  # the score is never hidden
    [high] = alerts(out)  # NEWS2 8 would call outreach: the plan's ceiling calls instead
    assert (high.severity, high.notify) == ("emergency", "medical-team")
    quiet.handle([plan(7400, "p2", reason="plan reviewed: full escalation")])  # cleared
    infected = {**HIGH, "suspected_infection": True}
    [back] = alerts(quiet.handle([obs(infected, t=7500, msg_id="h2")]))
    assert (back.kind, back.plan, back.notify) == ("sepsis", None, "outreach")


def test_an_agreed_threshold_keeps_medium_scores_with_the_nurse_in_charge(
    quiet: OnlineScorer,
) -> None:
    quiet.handle([plan(-60, "p1", alert_from="high", reason="chronic NEWS2 5 (COPD)")])
    quiet.handle([obs(MEDIUM, t=0, msg_id="m1")])
    assert {e.notify for e in ticks(quiet, 1800, 3600)} == {"nurse-in-charge"}
    [high] = alerts(quiet.handle([obs(HIGH, t=3700, msg_id="h1")]))
    assert high.notify == "outreach"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"ceiling": "the-pope"}, "invalid"),
        ({"alert_from": "extreme"}, "not-on-chart"),
        ({"ceiling": "outreach", "patient_id": "P2"}, "placement"),
        ({"ceiling": "outreach", "reason": " "}, "invalid"),
    ],
)
def test_a_plan_that_cannot_apply_is_a_dead_letter(
    quiet: OnlineScorer, fields: dict[str, Any], error: str
) -> None:
    out = quiet.handle([plan(0, "p1", **fields)])
    assert [letter["error"] for letter in dead(out)] == [error]
    assert out.batch.plans == []


def test_a_plan_survives_a_restart(charts: ChartSet, quiet: OnlineScorer) -> None:
    out = quiet.handle([plan(-60, "p1", ceiling="medical-team")])
    [adt] = OnlineScorer(charts).handle([admit()]).batch.adt
    resumed = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    resumed.restore(StoredState([adt], [], [], set(), plans=out.batch.plans))
    resumed.handle([obs(MEDIUM, t=0, msg_id="m1")])
    assert {e.notify for e in ticks(resumed, 7200)} == {"medical-team"}


def test_think_sepsis_raises_a_sepsis_alert_once(quiet: OnlineScorer) -> None:
    infected = {**MEDIUM, "suspected_infection": True}
    out = quiet.handle([obs(infected, t=0, msg_id="s1")])
    assert sorted((e.kind, e.severity) for e in alerts(out)) == [
        ("score", "urgent"),
        ("sepsis", "urgent"),
    ]
    assert [e.kind for e in alerts(quiet.handle([obs(infected, t=600, msg_id="s2")]))] == []


def lab(value: float, *, t: float, msg_id: str, patient: str = "P1") -> Arrival:
    payload = msgspec.json.encode(
        {
            "msg_id": msg_id,
            "patient_id": patient,
            "time": at(t).isoformat(),
            "test": "creatinine",
            "value": value,
            "unit": "umol/L",
        }
    )
    topic = f"wards/{WARD}/beds/12/labs"
    return Arrival(parse(topic, payload), topic, payload, at(t))


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (80, 119, []),  # ratio 1.49, and no result in the last 48 h: no alert
        (80, 120, [("aki", "aki-1", "medical-team")]),  # exactly 1.5
        (80, 160, [("aki", "aki-2", "medical-team")]),  # exactly 2
        (80, 240, [("aki", "aki-3", "medical-team")]),  # exactly 3
        (236, 355, [("aki", "aki-3", "medical-team")]),  # ratio 1.504 and > 354 µmol/L
        (240, 355, []),  # ratio 1.48: the 354 rule does not apply outside the ratio branch
    ],
)
def test_aki_stage_alerts_from_the_labs_topic(
    quiet: OnlineScorer, previous: float, current: float, expected: list[tuple[str, str, str]]
) -> None:
    quiet.handle([lab(previous, t=0, msg_id="l1")])
    out = quiet.handle([lab(current, t=72 * HOUR, msg_id="l2")])
    assert [(e.kind, e.severity, e.notify) for e in alerts(out)] == expected
    assert [r.msg_id for r in out.batch.labs] == ["l2"]


def test_no_aki_stage_for_a_child(charts: ChartSet) -> None:
    s = OnlineScorer(charts)
    s.handle([admit(cohort="child", birth_date="2020-01-01")])
    s.handle([lab(30, t=0, msg_id="l1")])
    assert alerts(s.handle([lab(90, t=72 * HOUR, msg_id="l2")])) == []  # ratio 3: no stage


def test_aki_history_is_reloaded_on_restart(charts: ChartSet, quiet: OnlineScorer) -> None:
    first = quiet.handle([lab(80, t=0, msg_id="l1")])
    [adt] = OnlineScorer(charts).handle([admit()]).batch.adt
    resumed = OnlineScorer(charts)
    resumed.restore(StoredState([adt], [], [], set(), labs=first.batch.labs))
    [event] = alerts(resumed.handle([lab(170, t=HOUR, msg_id="l2")]))
    assert event.severity == "aki-2"


def test_every_alert_ends_acknowledged_escalated_or_stood_down(quiet: OnlineScorer) -> None:
    """None disappears: each alert raised is acknowledged, escalated, or resolved with a
    reason; a repeated action is a dead letter, not a silent drop."""
    events: list[AlertEvent] = []
    events += alerts(quiet.handle([obs(MEDIUM, t=0, msg_id="m1")]))
    events += ticks(quiet, 1800)
    events += alerts(quiet.handle([act("score-m1", "ack", t=1900, msg_id="c1")]))
    letters = dead(quiet.handle([act("score-m1", "ack", t=1950, msg_id="c2")]))
    events += alerts(quiet.handle([act("score-m1", "resolve", t=2000, msg_id="c3", **why())]))
    assert [e.state for e in events] == ["raised", "escalated", "acknowledged", "resolved"]
    assert [letter["error"] for letter in letters] == ["alert-state"]
    assert events[-1].reason == "reviewed by the medical team"


def why() -> dict[str, Any]:
    return {"reason": "reviewed by the medical team"}
