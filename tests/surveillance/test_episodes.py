"""One alert per patient episode (issue 13): a score alert is upgraded on a rise, noted on a new
red parameter at its level, and never goes back down while open; the rules return decisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import ChartSet, score
from surveillance import AlertEvent, OnlineScorer, OnlineSettings
from surveillance.online import Note, Patient, Raise, Upgrade
from surveillance.online.rules.score import ScoreRule
from surveillance.store import StoredState
from tests.factories import make_obs
from tests.surveillance.test_alert_actions import act
from tests.surveillance.test_closing_the_loop import lab, ticks
from tests.surveillance.test_online import HIGH, MEDIUM, NORMAL, admit, alerts, at, device, obs

RED_RR = {**NORMAL, "resp_rate": 26}
RED_HR = {**NORMAL, "heart_rate": 135}
SETS = [NORMAL, {**NORMAL, "resp_rate": 21}, MEDIUM, HIGH, RED_RR, RED_HR, {**HIGH, "spo2": 91}]
DEVICE = [
    {"heart_rate": 72, "resp_rate": 16, "spo2": 97},
    {"heart_rate": 118, "resp_rate": 23, "spo2": 93},
    {"heart_rate": 135, "resp_rate": 27, "spo2": 90},
]
ORDER = ["routine", "ward", "urgent-ward", "urgent", "emergency"]
"""NEWS2's responses, least severe first (scoring/charts/news2.toml)."""


def check(events: list[AlertEvent], seqs: dict[str, int], open_: dict[str, str]) -> None:
    """Every event one seq after its alert's last; at most one open score alert; the open
    alert's severity never falls."""
    for event in events:
        assert event.seq == seqs.get(event.alert_id, 0) + 1, event
        seqs[event.alert_id] = event.seq
        if event.kind != "score":
            continue
        before = open_.get(event.alert_id)
        if before is not None:
            assert ORDER.index(event.severity) >= ORDER.index(before), event
        if event.state == "resolved":
            open_.pop(event.alert_id, None)
        else:
            open_[event.alert_id] = event.severity
        assert len(open_) <= 1, open_


steps = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(range(len(SETS))), st.sampled_from([60, 600])),
        st.tuples(st.just("device"), st.sampled_from(range(len(DEVICE))), st.just(30)),
        st.tuples(st.sampled_from(["ack", "resolve", "tick"]), st.just(0), st.just(300)),
        st.tuples(st.just("tick"), st.just(0), st.just(1800)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_score_sequence_keeps_one_open_score_alert_that_never_falls(
    charts: ChartSet, sequence: list[tuple[str, int, int]]
) -> None:
    s = OnlineScorer(charts, OnlineSettings(hysteresis=1200, quiet_after_ack=600))
    s.handle([admit()])
    seqs: dict[str, int] = {}
    open_: dict[str, str] = {}
    t = 0.0
    for n, (kind, which, step) in enumerate(sequence):
        t += step
        if kind == "set":
            out = s.handle([obs(SETS[which], t=t, msg_id=f"m{n}")])
        elif kind == "device":
            out = s.handle([device(DEVICE[which], t=t)])
        elif kind == "tick":
            out = s.tick(at(t))
        elif not open_:
            continue
        else:
            [alert_id] = open_
            extra = {"reason": "reviewed"} if kind == "resolve" else {}
            out = s.handle([act(alert_id, kind, t=t, msg_id=f"c{n}", **extra)])
        check(alerts(out), seqs, open_)
        assert len([a for a in s.desk.alerts.values() if a.kind == "score"]) == len(open_)


def test_an_acknowledged_alert_upgraded_needs_a_new_acknowledgement(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([admit(), obs(MEDIUM, t=0, msg_id="m1")])
    s.handle([act("score-m1", "ack", t=60, msg_id="c1")])
    [up] = alerts(s.handle([obs(HIGH, t=120, msg_id="h1")]))
    assert (up.state, up.by, up.notify, up.rung) == ("raised", None, "outreach", 0)
    # The emergency ladder climbs from the upgrade: critical care 600 s later.
    [climbed] = ticks(s, 720)
    assert (climbed.alert_id, climbed.state, climbed.notify) == (
        "score-m1",
        "escalated",
        "critical-care",
    )
    [acked] = alerts(s.handle([act("score-m1", "ack", t=800, msg_id="c2")]))
    assert (acked.state, acked.severity, acked.upgrades) == ("acknowledged", "emergency", 1)


def test_a_resolved_episode_lets_the_next_rise_open_a_new_alert(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([admit(), obs(MEDIUM, t=0, msg_id="m1")])
    s.handle([act("score-m1", "resolve", t=60, msg_id="c1", reason="reviewed")])
    [new] = alerts(s.handle([obs(HIGH, t=120, msg_id="h1")]))
    assert (new.alert_id, new.seq, new.severity, new.upgrades) == ("score-h1", 1, "emergency", 0)


def test_a_restart_from_the_records_keeps_the_upgraded_ladder(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    [adt] = s.handle([admit()]).batch.adt
    first = s.handle([obs(MEDIUM, t=0, msg_id="m1")])
    up = s.handle([obs(HIGH, t=1000, msg_id="h1")])
    resumed = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    resumed.restore(StoredState([adt], up.batch.scores, up.batch.alerts, {"m1", "h1"}))
    assert first.batch.alerts[0].severity == "urgent"
    [held] = resumed.desk.alerts.values()
    assert (held.severity, held.upgrades, held.previous_severity) == ("emergency", 1, "urgent")
    assert held.life.ladder.rungs[0].notify == "outreach"
    assert held.life.raised_at == at(1000)  # the emergency ladder counts from the upgrade
    [climbed] = ticks(resumed, 1600)
    assert (climbed.state, climbed.notify, climbed.seq, climbed.raised_at) == (
        "escalated",
        "critical-care",
        3,
        at(0),
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([80, 120, 160], [("aki-1", 1, None), ("aki-2", 2, "aki-1")]),  # stage 1, then 2
        ([80, 120, 121], [("aki-1", 1, None), ("aki-1", 2, None)]),  # stage 1 again: a note
        ([80, 240, 125], [("aki-3", 1, None), ("aki-3", 2, None)]),  # never back down
    ],
)
def test_one_aki_alert_per_patient_upgraded_by_stage(
    charts: ChartSet, values: list[float], expected: list[tuple[str, int, str | None]]
) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([admit()])
    events: list[AlertEvent] = []
    for i, value in enumerate(values):
        events += alerts(s.handle([lab(value, t=72 * 3600 + i * 3600, msg_id=f"l{i}")]))
    assert [(e.severity, e.seq, e.previous_severity) for e in events] == expected
    assert {e.alert_id for e in events} == {"aki-l1"}
    assert all(e.note for e in events[1:])


def test_the_score_rule_returns_decisions_and_touches_no_desk(charts: ChartSet) -> None:
    rule = ScoreRule(
        OnlineSettings(),
        {
            c.id: {lv.id: r for r, lv in enumerate(c.escalation.levels)}
            for c in charts.charts.values()
        },
    )
    patient = Patient(
        context=admit().item.context,  # type: ignore[union-attr]
        ward="7A",
        bed="12",
        since=at(0),
    )

    def result(vitals: dict[str, Any], t: float) -> Any:
        o = make_obs(vitals, time=at(t).isoformat(), msg_id=f"o{t}", patient_id="P1")
        return score(o, patient.context, charts)

    [raised] = rule.on_score(patient, result(RED_RR, 0), [], device=False, now=at(0))
    assert isinstance(raised, Raise)
    assert (raised.alert_id, raised.severity) == ("score-o0", "urgent-ward")
    assert (raised.facts.scored_at, raised.facts.triggers) == (at(0), ("resp_rate",))
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([admit(), obs(RED_RR, t=0, msg_id="o0")])
    [episode] = s.desk.alerts.values()
    [note] = rule.on_score(patient, result(RED_HR, 60), [episode], device=False, now=at(60))
    assert isinstance(note, Note)
    assert "new red parameter heart_rate" in note.note
    assert note.facts is not None
    assert note.facts.triggers == ("heart_rate",)
    [up] = rule.on_score(patient, result(HIGH, 120), [episode], device=False, now=at(120))
    assert isinstance(up, Upgrade)
    assert (up.alert_id, up.severity) == ("score-o0", "emergency")
    assert (episode.severity, episode.seq) == ("urgent-ward", 1)  # the rule changed no alert


def test_the_state_kept_before_the_split_resumes(charts: ChartSet) -> None:
    """A state row written by the scorer before issue 13 (commit f0c7c36: an acknowledged
    NEWS2 6 alert, a device reading) loads: fields added since have defaults."""
    path = Path(__file__).parent / "data" / "scorer_state_f0c7c36.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.restore(StoredState([], [], [], set(), scorer_state=rows))
    [held] = s.desk.alerts.values()
    assert (held.alert_id, held.life.state, held.upgrades, held.triggers) == (
        "score-m1",
        "acknowledged",
        0,
        (),
    )
    [up] = alerts(s.handle([obs(HIGH, t=600, msg_id="h1")]))
    assert (up.alert_id, up.state, up.previous_severity, up.raised_at) == (
        "score-m1",
        "raised",
        "urgent",
        at(0),
    )
    kept = s.snapshot()["patient:P1"]
    before = set(rows["patient:P1"]["patient"])
    assert before <= set(kept["patient"])  # the same record, every field's name unchanged
    assert set(kept["patient"]) - before == {"learned_alerted", "learned_below_since"}  # issue 15
    assert set(kept["alerts"][0]) > set(rows["patient:P1"]["alerts"][0])  # fields added
