"""The learned risk in the online scorer (issue 15), pure: its estimate rides with each score
as `learned_risk`, it learns from outcomes, departures and the clock, it can fail in every way
without changing a score or an alert, and with model alerts on it raises its own.

The model is a deterministic double (`tests.risk_double`); the real one has its own tests.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import ChartSet, Context, ScoreResult
from surveillance import Arrival, OnlineScorer, OnlineSettings, Output
from surveillance.online import Patient, Raise, Resolve
from surveillance.online.rules import model as model_rule
from surveillance.risk import LearnedRisk
from surveillance.store import StoredState
from tests.risk_double import NAME, EdgeRisk, FailingRisk, WrongRisk
from tests.surveillance.test_events import event
from tests.surveillance.test_live_core import reading
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
    scores,
)
from tests.surveillance.test_restart import Committed, Step, streams

FIELD = b',"learned_risk":'
SETTINGS = OnlineSettings(device_persistence=60, feed_timeout=300, hysteresis=1200)


def alerting(threshold: float = 0.5, **extra: Any) -> OnlineSettings:
    return OnlineSettings(
        device_persistence=60,
        feed_timeout=300,
        hysteresis=1200,
        model_alerts=True,
        model_threshold=threshold,
        **extra,
    )


def split(payload: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """A score payload without its `learned_risk` field (the bytes as they would have been),
    and that field decoded (None when absent)."""
    at_field = payload.find(FIELD)
    if at_field < 0:
        return payload, None
    assert payload.endswith(b"}")
    learned = msgspec.json.decode(payload[at_field + len(FIELD) : -1])
    return payload[:at_field] + b"}", learned


def score_payloads(out: Output) -> list[bytes]:
    return [p.payload for p in out.publications if p.topic.endswith("/score")]


# ---- the estimate with the score ------------------------------------------------------------


def test_the_estimate_rides_with_the_published_and_stored_score(charts: ChartSet) -> None:
    risk = EdgeRisk()
    plain, learning = OnlineScorer(charts), OnlineScorer(charts, risk=risk)
    for scorer in (plain, learning):
        scorer.handle([admit()])
    without = plain.handle([obs(MEDIUM, t=60, msg_id="obs-7f3a")])
    out = learning.handle([obs(MEDIUM, t=60, msg_id="obs-7f3a")])
    [payload] = score_payloads(out)
    bare, learned = split(payload)
    assert bare == score_payloads(without)[0]  # every chart byte as without a model
    assert learned == {
        "probability": 0.6,  # NEWS2 6 over the double's scale of 10
        "horizon_hours": 24.0,
        "reasons": ["heart rate scored 1", "resp rate scored 2", "spo2 scored 1"],
        "model": NAME,
        "shadow": True,
    }
    [record] = out.batch.scores
    assert record.result == payload  # stored as published
    assert record.total == 6
    assert ("estimate", "obs-7f3a", "P1", "manual") in risk.calls


def test_a_device_snapshot_is_estimated_with_its_source(charts: ChartSet) -> None:
    risk = EdgeRisk()
    scorer = OnlineScorer(charts, SETTINGS, risk=risk)
    scorer.handle([admit(), obs(NORMAL, t=10)])
    out = scorer.handle([device({"heart_rate": 118, "resp_rate": 23, "spo2": 93}, t=70)])
    [payload] = score_payloads(out)
    assert split(payload)[1] is not None
    assert risk.calls[-1] == ("estimate", "dev-70", "P1", "wearable")


def test_a_late_score_is_stored_without_asking_the_model(charts: ChartSet) -> None:
    risk = EdgeRisk()
    scorer = OnlineScorer(charts, risk=risk)
    scorer.handle([admit(), obs(NORMAL, t=600, msg_id="new")])
    out = scorer.handle([obs(HIGH, t=700, msg_id="old", patient="P1")])  # same time order
    late = scorer.handle([obs(HIGH, t=800, msg_id="older")])
    assert scores(out)  # (not late)
    asked = [c[1] for c in risk.calls if c[0] == "estimate"]
    assert "older" in asked  # a set newer than the last: asked
    # A nurse's set stamped before the latest set is late: stored, never published, not asked.
    stamp = at(100).isoformat()
    late = scorer.handle([_stamped(HIGH, t=900, msg_id="late", time=stamp)])
    assert not score_payloads(late)
    [record] = late.batch.scores
    assert FIELD not in record.result
    assert "late" not in [c[1] for c in risk.calls if c[0] == "estimate"]


def _stamped(vitals: dict[str, Any], *, t: float, msg_id: str, time: str) -> Arrival:
    return reading(vitals, t=t, msg_id=msg_id, time=time)


def test_a_model_that_covers_nobody_adds_nothing(charts: ChartSet) -> None:
    scorer = OnlineScorer(charts, risk=EdgeRisk())
    scorer.handle([admit(cohort="maternity", gestation_weeks=30)])
    out = scorer.handle([obs(MEDIUM, t=60)])
    [payload] = score_payloads(out)
    assert FIELD not in payload


@pytest.mark.parametrize(("alerts_on", "shadow"), [(False, True), (True, False)])
def test_shadow_is_false_exactly_when_model_alerts_are_on(
    charts: ChartSet, alerts_on: bool, shadow: bool
) -> None:
    """Whatever the model file says: the trust's setting decides."""

    class Claims(EdgeRisk):
        def estimate(self, result: ScoreResult, context: Context, source: str) -> LearnedRisk:
            said = super().estimate(result, context, source)
            assert said is not None
            return msgspec.structs.replace(said, shadow=not shadow)

    settings_ = OnlineSettings(model_alerts=alerts_on, model_threshold=0.99)
    scorer = OnlineScorer(charts, settings_, risk=Claims())
    scorer.handle([admit()])
    [payload] = score_payloads(scorer.handle([obs(MEDIUM, t=60)]))
    learned = split(payload)[1]
    assert learned is not None
    assert learned["shadow"] is shadow


# ---- what the model is told ------------------------------------------------------------------


def test_outcomes_departures_and_the_clock_reach_the_model(charts: ChartSet) -> None:
    risk = EdgeRisk()
    scorer = OnlineScorer(charts, OnlineSettings(event_grace=6 * 3600), risk=risk)
    scorer.handle([admit("P1", bed="1"), admit("P2", bed="2"), admit("P3", bed="3")])
    scorer.handle([event("rrt-call", t=60, patient="P1", bed="1")])  # not an outcome
    scorer.handle([event("icu-admission", t=120, happened=90, patient="P1", bed="1")])
    scorer.handle([admit("P2", bed="4", event="transfer", t=200)])  # leaves bed 2
    scorer.handle([admit("P3", bed="3", event="discharge", t=300)])
    scorer.handle([event("death", t=400, happened=350, patient="P3", bed="3")])  # after leaving
    scorer.tick(at(500))
    told = [c for c in risk.calls if c[0] != "estimate"]
    assert told == [
        ("outcome", "P1", at(90)),
        ("leave", "P2", at(200)),
        ("leave", "P3", at(300)),
        ("outcome", "P3", at(350)),
        ("mature", at(500)),
    ]


def test_the_outcome_kinds_are_the_settings(charts: ChartSet) -> None:
    risk = EdgeRisk()
    settings_ = OnlineSettings(model_outcomes=frozenset({"rrt-call"}))
    scorer = OnlineScorer(charts, settings_, risk=risk)
    scorer.handle([admit()])
    scorer.handle([event("icu-admission", t=60), event("rrt-call", t=70)])
    assert [c for c in risk.calls if c[0] == "outcome"] == [("outcome", "P1", at(70))]


def test_a_refused_event_is_no_outcome(charts: ChartSet) -> None:
    risk = EdgeRisk()
    scorer = OnlineScorer(charts, risk=risk)
    scorer.handle([admit()])
    out = scorer.handle([event("death", t=60, patient="P9")])  # not the bed's patient
    assert [d["error"] for d in dead(out)] == ["placement"]
    assert "outcome" not in risk.kinds()


# ---- a model that fails ------------------------------------------------------------------------


def test_a_model_that_raises_changes_no_score_and_no_alert(
    charts: ChartSet, caplog: pytest.LogCaptureFixture
) -> None:
    stream = [
        [admit()],
        [obs(MEDIUM, t=60)],
        [obs(HIGH, t=120)],
        [event("icu-admission", t=130)],
        [admit("P1", event="discharge", t=200)],
    ]
    plain, failing = OnlineScorer(charts, SETTINGS), OnlineScorer(charts, SETTINGS, FailingRisk())
    with caplog.at_level(logging.ERROR, logger="surveillance.online.model"):
        for batch in stream:
            a, b = plain.handle(batch), failing.handle(batch)
            assert b.publications == a.publications
            assert b.batch.scores == a.batch.scores
            assert b.dead_letters == a.dead_letters == 0
        assert failing.tick(at(300)).publications == plain.tick(at(300)).publications
    assert failing.model is not None
    assert dict(failing.model.failures) == {
        "estimate: Boom": 2,
        "outcome: Boom": 1,
        "leave: Boom": 1,
        "mature: Boom": 1,
    }
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "the learned risk failed in estimate",  # once, though it failed twice
        "the learned risk failed in outcome",
        "the learned risk failed in leave",
        "the learned risk failed in mature",
    ]
    assert all("P1" not in r.getMessage() for r in caplog.records)  # where, never what


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (LearnedRisk(probability=1.5, horizon_hours=24, reasons=[], model="m"), "0..1"),
        (LearnedRisk(probability=float("nan"), horizon_hours=24, reasons=[], model="m"), "0..1"),
        (LearnedRisk(probability=-0.1, horizon_hours=24, reasons=[], model="m"), "0..1"),
        (LearnedRisk(probability=0.2, horizon_hours=0, reasons=[], model="m"), "horizon"),
        # a bool is an int to Python, but `true` is no probability to any reader of the JSON
        (LearnedRisk(probability=True, horizon_hours=24, reasons=[], model="m"), "0..1"),
        (LearnedRisk(probability=0.2, horizon_hours=True, reasons=[], model="m"), "horizon"),
        (LearnedRisk(probability=0.2, horizon_hours=24, reasons=[3], model="m"), "reasons"),  # type: ignore[list-item]
        (LearnedRisk(probability=0.2, horizon_hours=24, reasons=[], model=None), "name"),  # type: ignore[arg-type]
        (0.2, "not a LearnedRisk"),
        ({"probability": 0.2}, "not a LearnedRisk"),
    ],
)
def test_an_answer_that_is_no_estimate_is_counted_and_left_out(
    charts: ChartSet, answer: Any, kind: str
) -> None:
    scorer = OnlineScorer(charts, alerting(0.1), risk=WrongRisk(answer=answer))
    scorer.handle([admit()])
    out = scorer.handle([obs(HIGH, t=60)])
    [payload] = score_payloads(out)
    assert FIELD not in payload
    assert [a.kind for a in alerts(out)] == ["score"]  # no learned-risk alert from it
    assert scorer.model is not None
    [(failure, count)] = scorer.model.failures.items()
    assert kind in failure
    assert count == 1


# ---- the invariant: a model changes no chart field and no other alert -------------------------


def _with_events(data: st.DataObject, stream: list[Step]) -> list[Step]:
    """`stream` with outcome events for its patients slipped in (some refused: wrong bed)."""
    out: list[Step] = []
    for n, (kind, value) in enumerate(stream):
        if kind == "batch" and data.draw(st.booleans()):
            first: Arrival = value[0]
            t = (first.received - at(0)).total_seconds()
            what = data.draw(
                st.sampled_from(["icu-admission", "death", "rrt-call", "cardiac-arrest"])
            )
            extra = event(
                what,
                t=t,
                patient=data.draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
                bed=data.draw(st.sampled_from(["1", "2", "3"])),
                msg_id=f"ev-{n}",
            )
            out.append((kind, [*value, extra]))
            continue
        out.append((kind, value))
    return out


def _apply(scorer: OnlineScorer, step: Step) -> Output:
    kind, value = step
    return scorer.handle(value) if kind == "batch" else scorer.tick(at(value))


def _chart_view(out: Output, *, drop_kind: str | None = None) -> dict[str, Any]:
    """What a run produced, with each score's `learned_risk` split off and (optionally) the
    model's own alerts left out: for comparing runs byte for byte."""
    published = []
    for p in out.publications:
        alert = p.topic.endswith("/alerts")
        if alert and msgspec.json.decode(p.payload)["kind"] == drop_kind:
            continue
        published.append((p.topic, split(p.payload)[0], p.retain))
    stored = [(r.obs_msg_id, split(r.result)[0], r.total, r.risk) for r in out.batch.scores]
    kept_alerts = [(r.alert_id, r.seq, r.event) for r in out.batch.alerts if r.kind != drop_kind]
    return {
        "published": published,
        "scores": stored,
        "alerts": kept_alerts,
        "observations": out.batch.observations,
        "dead": [(d.digest, d.error) for d in out.batch.dead_letters],
        "events": out.batch.events,
        "duplicates": out.duplicates,
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(base=streams(), data=st.data())
def test_a_model_never_changes_a_chart_byte_or_another_alert(
    charts: ChartSet, base: list[Step], data: st.DataObject
) -> None:
    """The same stream without a model, with one in shadow, with one that raises on every call
    and with model alerts on: the scores, their chart fields byte for byte, and every alert
    that is not the model's own are the same."""
    stream = _with_events(data, base)
    threshold = data.draw(st.sampled_from([0.3, 0.6, 0.9]), label="threshold")
    runs = {
        "none": OnlineScorer(charts, SETTINGS),
        "shadow": OnlineScorer(charts, SETTINGS, EdgeRisk()),
        "failing": OnlineScorer(charts, SETTINGS, FailingRisk()),
        "alerting": OnlineScorer(charts, alerting(threshold), EdgeRisk()),
    }
    for step in stream:
        outs = {name: _apply(scorer, step) for name, scorer in runs.items()}
        expected = _chart_view(outs["none"], drop_kind="learned-risk")
        for name in ("shadow", "failing", "alerting"):
            assert _chart_view(outs[name], drop_kind="learned-risk") == expected, name
        for p in outs["shadow"].publications:  # the estimate is the double's, on every score
            if p.topic.endswith("/score"):
                bare, learned = split(p.payload)
                total = msgspec.json.decode(bare)["total"]
                assert learned is not None
                assert learned["probability"] == min(1.0, total / 10)
                assert learned["shadow"] is True
        assert all(FIELD not in p for p in score_payloads(outs["failing"]))
        assert all(
            a.kind != "learned-risk"
            for out in outs.values()
            for a in alerts(out)
            if out is not outs["alerting"]
        )


# ---- model alerts: the rule, table-driven ------------------------------------------------------

T = 60.0  # seconds between estimates in the tables


def _result(n: int, total: int = 5) -> ScoreResult:
    return msgspec.convert(
        {
            "patient_id": "P1",
            "ward": WARD,
            "bed": "1",
            "time": at(n * T),
            "obs_msg_id": f"o{n}",
            "system": "NEWS2",
            "chart": "news2",
            "total": total,
            "parameters": {},
            "risk": "medium",
            "complete": True,
            "missing": [],
            "monitoring": "hourly",
            "next_obs_due": None,
            "response": "urgent",
            "level": "medium",
            "clinical_response": "",
            "spo2_scale": 1,
            "single_parameter_triggers": [],
            "triggers": [],
            "prompts": [],
            "queries": [],
            "not_recorded": {},
            "ignored": [],
            "chart_status": "",
            "vitals": {},
        },
        ScoreResult,
    )


def _learned(p: float) -> LearnedRisk:
    return LearnedRisk(
        probability=p,
        horizon_hours=24,
        reasons=["respiratory rate rising over 6 h", "SpO2 falling on oxygen"],
        model="river-logistic 3",
    )


@pytest.mark.parametrize(
    ("probabilities", "resolved_at", "expected"),
    [
        # below the threshold: nothing
        ([0.1, 0.2, 0.29], None, ["", "", ""]),
        # at the threshold: raised once; not again while the episode lasts
        ([0.1, 0.3, 0.5, 0.9, 0.4], None, ["", "raise o1", "", "", ""]),
        # back below for less than the hysteresis (3 min here): still the same episode
        ([0.5, 0.1, 0.1, 0.6], None, ["raise o0", "", "", ""]),
        # below for the hysteresis: resolved, and a later rise is a new episode
        ([0.5, 0.1, 0.1, 0.1, 0.1, 0.7], None, ["raise o0", "", "", "", "resolve", "raise o5"]),
        # a dip that comes back up restarts the hysteresis
        ([0.5, 0.1, 0.1, 0.5, 0.1, 0.1, 0.1], None, ["raise o0", "", "", "", "", "", ""]),
        # resolved by a person while high: no second alert in the same episode
        ([0.5, 0.6, 0.7], 1, ["raise o0", "", ""]),
        # ... until the episode ends; then a new rise alerts again
        ([0.5, 0.1, 0.1, 0.1, 0.1, 0.5], 1, ["raise o0", "", "", "", "", "raise o5"]),
    ],
)
def test_the_model_rule(
    probabilities: list[float], resolved_at: int | None, expected: list[str]
) -> None:
    settings_ = OnlineSettings(model_alerts=True, model_threshold=0.3, hysteresis=3 * T)
    patient = Patient(context=Context(patient_id="P1"), ward=WARD, bed="1", since=at(0))
    open_alerts: list[Any] = []
    said: list[str] = []
    for n, p in enumerate(probabilities):
        if resolved_at is not None and n == resolved_at:
            open_alerts = []  # a person resolved it
        decisions = model_rule.on_estimate(settings_, patient, _learned(p), _result(n), open_alerts)
        words = []
        for decision in decisions:
            if isinstance(decision, Raise):
                words.append(f"raise {decision.facts.obs_msg_id}")
                assert decision.kind == decision.severity == "learned-risk"
                open_alerts = [_Held(decision.alert_id)]
            else:
                assert isinstance(decision, Resolve)
                assert decision.reason.startswith("recovered: the learned estimate is 10 %")
                words.append("resolve")
                open_alerts = []
        said.append(" ".join(words))
    assert said == expected


class _Held:
    kind = "learned-risk"

    def __init__(self, alert_id: str) -> None:
        self.alert_id = alert_id


def test_a_learned_alert_says_it_is_an_estimate_with_its_reasons_and_climbs_its_own_ladder(
    charts: ChartSet,
) -> None:
    scorer = OnlineScorer(charts, alerting(0.5, overdue_alerts=False), EdgeRisk())
    scorer.handle([admit()])
    out = scorer.handle([obs(HIGH, t=60, msg_id="o-high")])  # NEWS2 8: 0.8
    by_kind = {a.kind: a for a in alerts(out)}
    assert set(by_kind) == {"score", "learned-risk"}
    learned = by_kind["learned-risk"]
    assert learned.alert_id == "learned-risk-o-high"
    assert learned.severity == "learned-risk"
    assert learned.notify == "nurse-in-charge"  # the learned-risk ladder's first rung
    assert by_kind["score"].notify == "outreach"  # the chart's own, unchanged
    assert learned.message.startswith("Learned estimate, not a chart score: 80 % risk")
    assert "heart rate scored 1; resp rate scored 3; spo2 scored 1" in learned.message
    assert "NEWS2 8, high" in learned.message
    assert learned.system is None  # not a chart score
    assert learned.total is None
    assert learned.obs_msg_id == "o-high"
    # an hour unacknowledged: up its own ladder to the medical team
    later = scorer.tick(at(60 + 3600))
    climbed = [a for a in alerts(later) if a.kind == "learned-risk"]
    assert [(a.state, a.notify) for a in climbed] == [("escalated", "medical-team")]
    # a discharge resolves it with the rest
    gone = scorer.handle([admit("P1", event="discharge", t=4000)])
    assert {(a.kind, a.state) for a in alerts(gone)} == {
        ("score", "resolved"),
        ("learned-risk", "resolved"),
    }


def test_what_the_model_says_is_bounded_and_names_no_patient(charts: ChartSet) -> None:
    """A reason is the model's words, published with the score to every board and quoted in
    its alert: one naming the patient is dropped, at most three are kept, each (and the
    model's name) cut to 200 characters, so no answer can make a score or an alert huge."""
    answer = LearnedRisk(
        probability=0.9,
        horizon_hours=24,
        reasons=["P1-7731 breathing faster", "x" * 100_000, "SpO2 falling", "four", "five"],
        model="m" * 100_000,
    )
    scorer = OnlineScorer(charts, alerting(0.5), risk=WrongRisk(answer=answer))
    scorer.handle([admit("P1-7731")])
    out = scorer.handle([obs(HIGH, t=60, patient="P1-7731")])
    [payload] = score_payloads(out)
    learned = split(payload)[1]
    assert learned is not None
    assert len(learned["reasons"]) == 3
    assert all(len(r) <= 200 for r in learned["reasons"])
    assert learned["reasons"][1:] == ["SpO2 falling", "four"]
    assert len(learned["model"]) <= 200
    assert len(payload) < 4000
    [alert] = [a for a in alerts(out) if a.kind == "learned-risk"]
    assert "P1-7731" not in alert.message
    assert len(alert.message) < 2000


class _Chatty(LearnedRisk, kw_only=True, frozen=True):
    """What a model could answer: a `LearnedRisk` with fields of its own."""

    features: dict[str, float]


def test_only_the_estimates_own_fields_are_published(charts: ChartSet) -> None:
    answer = _Chatty(
        probability=0.3, horizon_hours=24, reasons=[], model="m", features={"P1 hr": 130.0}
    )
    scorer = OnlineScorer(charts, risk=WrongRisk(answer=answer))
    scorer.handle([admit()])
    [payload] = score_payloads(scorer.handle([obs(HIGH, t=60)]))
    learned = split(payload)[1]
    assert learned is not None
    assert set(learned) == {"probability", "horizon_hours", "reasons", "model", "shadow"}


def test_the_model_is_not_given_the_equity_fields(charts: ChartSet) -> None:
    """Needs, ethnicity, deprivation and initials are for equity analysis and the bed's own
    label: never features a model could learn from or name in a reason on a ward board."""
    seen: list[Context] = []

    class Looking(EdgeRisk):
        def estimate(self, result: ScoreResult, context: Context, source: str) -> Any:
            seen.append(context)
            return super().estimate(result, context, source)

    scorer = OnlineScorer(charts, risk=Looking())
    extra: dict[str, Any] = {"ethnicity": "A", "imd_decile": 2, "needs": ["autism"]}
    scorer.handle([admit(birth_date="1940-01-01", sex="female", initials="AB", **extra)])
    scorer.handle([obs(HIGH, t=60)])
    [context] = seen
    assert (context.ethnicity, context.imd_decile, context.needs, context.initials) == (
        None,
        None,
        None,
        None,
    )
    assert context.patient_id == "P1"  # what the model keys its features by
    assert context.birth_date is not None  # age is a clinical feature


def test_learned_alerts_are_off_by_default(charts: ChartSet) -> None:
    scorer = OnlineScorer(charts, risk=EdgeRisk())
    scorer.handle([admit()])
    out = scorer.handle([obs(HIGH, t=60)])
    assert [a.kind for a in alerts(out)] == ["score"]


def test_a_restart_keeps_the_learned_episode(charts: ChartSet) -> None:
    """The episode is part of the patient's kept state: a restarted scorer does not alert
    again for the same episode."""
    first = OnlineScorer(charts, alerting(0.5), EdgeRisk())
    store = Committed()
    store.commit(first.handle([admit()]))
    out = first.handle([obs(HIGH, t=60, msg_id="o1")])
    store.commit(out)
    assert "learned-risk" in [a.kind for a in alerts(out)]
    resumed = OnlineScorer(charts, alerting(0.5), EdgeRisk())
    resumed.restore(StoredState([], [], [], set(), scorer_state=store.states), now=at(120))
    again = resumed.handle([obs(HIGH, t=120, msg_id="o2")])
    assert [a.kind for a in alerts(again) if a.state == "raised"] == []


def test_a_model_that_does_not_learn_is_told_only_who_left(charts: ChartSet) -> None:
    risk = EdgeRisk()
    scorer = OnlineScorer(charts, OnlineSettings(model_learn=False), risk=risk)
    scorer.handle([admit()])
    scorer.handle([obs(MEDIUM, t=60), event("death", t=90)])
    scorer.handle([admit("P1", event="discharge", t=120)])
    scorer.tick(at(200))
    assert risk.kinds() == ["estimate", "leave"]
