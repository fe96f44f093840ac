"""A live core that no bad message, clock or restart can stop, fool or silence (issue 12), pure.

Every message here goes through the real parser (`ingest.parse`) from the bytes a device or a
person would send, then through the online scorer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from ingest import parse
from scoring import ChartSet, score
from surveillance import AlertEvent, Arrival, OnlineScorer, OnlineSettings, Output
from tests.surveillance.test_online import HIGH, MEDIUM, NORMAL, WARD, at, dead, scores

BED = "12"
ENCODE = msgspec.json.encode


def message(topic: str, body: dict[str, Any], *, received: float) -> Arrival:
    payload = ENCODE(body)
    return Arrival(parse(topic, payload), topic, payload, at(received))


def adt(
    patient: str = "P1",
    *,
    t: float = 0,
    received: float | None = None,
    bed: str = BED,
    time: str | None = None,
    msg_id: str | None = None,
    **extra: Any,
) -> Arrival:
    body = {
        "msg_id": msg_id or f"adt-{patient}-{t}",
        "time": time or at(t).isoformat(),
        "event": "admit",
        "patient_id": patient,
        "cohort": "adult",
        **extra,
    }
    return message(
        f"wards/{WARD}/beds/{bed}/adt", body, received=t if received is None else received
    )


def reading(
    vitals: dict[str, Any],
    *,
    t: float,
    received: float | None = None,
    msg_id: str | None = None,
    patient: str = "P1",
    bed: str = BED,
    source: str = "manual",
    time: str | None = None,
) -> Arrival:
    body = {
        "msg_id": msg_id or f"obs-{patient}-{t}",
        "patient_id": patient,
        "time": time or at(t).isoformat(),
        "source": source,
        "vitals": vitals,
    }
    return message(
        f"wards/{WARD}/beds/{bed}/obs", body, received=t if received is None else received
    )


def action(alert_id: str, verb: str, *, t: float, msg_id: str, **extra: Any) -> Arrival:
    body = {"msg_id": msg_id, "time": at(t).isoformat(), "by": "Nurse A", **extra}
    return message(f"wards/{WARD}/alerts/{alert_id}/{verb}", body, received=t)


def raised(out: Output) -> list[AlertEvent]:
    events = [
        msgspec.json.decode(p.payload, type=AlertEvent)
        for p in out.publications
        if p.topic.endswith("/alerts")
    ]
    return [e for e in events if e.state == "raised"]


def errors(out: Output) -> list[str]:
    return [d["error"] for d in dead(out)]


@pytest.fixture
def scorer(charts: ChartSet) -> OnlineScorer:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    out = s.handle([adt()])
    assert not dead(out)
    return s


# -- time has bounds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        ("9999-12-31T23:59:59Z", "ahead"),  # once crashed the consumer for good (overflow)
        ("2099-01-01T00:00:00Z", "ahead"),
        ("2026-11-22T09:05:01Z", "ahead"),  # 5 min 1 s ahead of a clock at 09:00
        ("1900-01-01T00:00:00Z", "before"),
        ("0001-01-01T00:00:00Z", "before"),
        ("2026-11-15T08:59:59Z", "before"),  # 7 days and 1 s old
    ],
)
def test_an_observation_out_of_time_is_a_dead_letter_and_scoring_goes_on(
    scorer: OnlineScorer, stamp: str, why: str
) -> None:
    out = scorer.handle(
        [
            reading(HIGH, t=0, time=stamp, msg_id="bad"),
            reading(HIGH, t=0, msg_id="good"),  # the same batch: still scored and alerted
        ]
    )
    [letter] = dead(out)
    assert letter["error"] == "time"
    assert why in letter["reason"]
    assert [s["obs_msg_id"] for s in scores(out)] == ["good"]
    assert [e.obs_msg_id for e in raised(out)] == ["good"]


@pytest.mark.parametrize("stamp", ["2026-11-22T09:05:00Z", "2026-11-15T09:00:00Z"])
def test_times_just_inside_the_bounds_are_scored(scorer: OnlineScorer, stamp: str) -> None:
    out = scorer.handle([reading(NORMAL, t=0, time=stamp)])
    assert not dead(out)
    assert len(scores(out)) == 1


def test_a_wearable_a_day_ahead_cannot_poison_later_snapshots(scorer: OnlineScorer) -> None:
    ahead = reading(
        {"heart_rate": 140}, t=0, time=at(86400).isoformat(), source="wearable", msg_id="w0"
    )
    assert errors(scorer.handle([ahead])) == ["time"]
    scorer.handle([reading(NORMAL, t=60, msg_id="set")])
    out = scorer.handle([reading({"heart_rate": 72}, t=120, source="wearable", msg_id="w1")])
    [score] = scores(out)
    assert score["vitals"]["heart_rate"] == 72
    assert score["total"] == 0


def test_an_admission_from_2099_does_not_freeze_the_bed(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    out = s.handle([adt("GHOST", t=0, time="2099-01-01T00:00:00Z")])
    assert errors(out) == ["time"]
    assert s.patient_in(WARD, BED) is None
    s.handle([adt("P2", t=60)])
    out = s.handle([reading(HIGH, t=120, patient="P2")])
    assert [sc["total"] for sc in scores(out)] == [8]
    assert [e.severity for e in raised(out)] == ["emergency"]


def test_an_observation_before_the_patients_birth_is_refused(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False, max_age=400 * 86400 * 30))
    s.handle([adt(t=0, birth_date="2026-11-20")])
    out = s.handle([reading(NORMAL, t=60, time="2026-11-19T23:00:00Z")])
    assert errors(out) == ["time"]
    assert "birth" in dead(out)[0]["reason"]


def test_late_data_is_stored_but_never_replaces_a_newer_score(scorer: OnlineScorer) -> None:
    scorer.handle([reading(NORMAL, t=600, msg_id="new")])
    late = scorer.handle([reading(HIGH, t=610, time=at(300).isoformat(), msg_id="old")])
    assert not dead(late)
    assert [r.obs_msg_id for r in late.batch.scores] == ["old"]  # stored, charted
    assert scores(late) == []  # the board keeps the newer set
    assert raised(late) == []  # a superseded set alerts nobody


# -- identity of messages --------------------------------------------------------------------


def test_a_refused_messages_id_is_not_remembered(scorer: OnlineScorer) -> None:
    wrong = reading({**NORMAL, "spo2": 101}, t=60, msg_id="set-1")
    assert errors(scorer.handle([wrong])) == ["implausible"]
    corrected = scorer.handle([reading(NORMAL, t=70, msg_id="set-1")])
    assert not dead(corrected)
    assert [s["obs_msg_id"] for s in scores(corrected)] == ["set-1"]


def test_the_same_id_with_other_content_is_a_conflict(scorer: OnlineScorer) -> None:
    first = reading(NORMAL, t=60, msg_id="set-1")
    assert len(scores(scorer.handle([first]))) == 1
    repeat = scorer.handle([first])
    assert (repeat.duplicates, dead(repeat)) == (1, [])
    other = scorer.handle([reading(HIGH, t=60, msg_id="set-1")])
    assert errors(other) == ["conflict"]
    assert scores(other) == []


def test_a_repeat_within_one_batch_is_known(scorer: OnlineScorer) -> None:
    first = reading(NORMAL, t=60, msg_id="set-1")
    out = scorer.handle([first, first, reading(HIGH, t=60, msg_id="set-1")])
    assert len(scores(out)) == 1
    assert out.duplicates == 1
    assert errors(out) == ["conflict"]


def test_the_dedupe_memory_is_bounded_in_size(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False, dedupe_max=1000))
    s.handle([adt()])
    s.handle([reading(NORMAL, t=i / 10, msg_id=f"m{i}") for i in range(1500)])
    assert len(s._seen) <= 1000


def test_the_dedupe_memory_is_bounded_in_time_by_the_services_clock(scorer: OnlineScorer) -> None:
    # A message stamped in the past is remembered from when it arrived, not from its stamp.
    scorer.handle([reading(NORMAL, t=100, time=at(-6 * 86400).isoformat(), msg_id="old")])
    scorer.tick(at(100 + 899))
    assert "old" in scorer._seen
    scorer.tick(at(100 + 901))
    assert "old" not in scorer._seen


# -- order -----------------------------------------------------------------------------------


def test_an_acknowledgement_behind_the_observation_that_raised_it_applies(
    scorer: OnlineScorer,
) -> None:
    # After a restart the broker redelivers both in one batch, in the order it got them.
    out = scorer.handle(
        [
            reading(MEDIUM, t=60, msg_id="m1"),
            action("score-m1", "ack", t=90, msg_id="c1"),
        ]
    )
    assert dead(out) == []
    states = [
        msgspec.json.decode(p.payload)["state"]
        for p in out.publications
        if p.topic.endswith("/alerts")
    ]
    assert states == ["raised", "acknowledged"]


def test_an_admission_behind_an_observation_sees_the_bed_as_it_was(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([adt("P1", t=0)])
    out = s.handle(
        [
            reading(NORMAL, t=60, patient="P1", msg_id="p1-set"),
            adt("P2", t=70),  # the bed reassigned
            reading(NORMAL, t=80, patient="P2", msg_id="p2-set"),
        ]
    )
    assert dead(out) == []
    assert [sc["patient_id"] for sc in scores(out)] == ["P1", "P2"]


# -- no message can stop the consumer --------------------------------------------------------


def test_a_message_whose_handling_raises_is_set_aside(
    scorer: OnlineScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = score

    def failing(obs: Any, *args: Any, **kwargs: Any) -> Any:
        if obs.msg_id == "poison":
            raise OverflowError("date value out of range")
        return real(obs, *args, **kwargs)

    def batch_fails(*args: Any, **kwargs: Any) -> Any:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("surveillance.online._scorer.score", failing)
    monkeypatch.setattr("surveillance.online._scorer.score_batch", batch_fails)
    out = scorer.handle(
        [
            reading(NORMAL, t=50, msg_id="before"),
            reading(NORMAL, t=60, msg_id="poison"),
            reading(HIGH, t=70, msg_id="after"),
        ]
    )
    [letter] = dead(out)
    assert letter["error"] == "internal"
    assert "OverflowError" in letter["reason"]
    assert [sc["obs_msg_id"] for sc in scores(out)] == ["before", "after"]
    assert [e.obs_msg_id for e in raised(out)] == ["after"]
    assert "poison" not in scorer._seen  # never remembered as accepted


def test_an_admission_whose_handling_raises_is_set_aside(
    charts: ChartSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))

    def boom(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(s, "_admission", boom)
    out = s.handle([adt("P1", t=0), reading(NORMAL, t=10)])
    assert errors(out) == ["internal", "no-context"]


# -- bounds on a busy day ------------------------------------------------------------------


def test_ids_in_time_order_of_arrival_are_forgotten_oldest_first(scorer: OnlineScorer) -> None:
    for i in range(5):
        scorer.handle([reading(NORMAL, t=i * 600, msg_id=f"m{i}")])
    scorer.tick(at(4 * 600 + 1))
    assert [k for k in scorer._seen if k.startswith("m")] == ["m3", "m4"]


def test_time_bounds_are_settings(charts: ChartSet) -> None:
    s = OnlineScorer(
        charts,
        OnlineSettings(overdue_alerts=False, max_skew=0, max_age=timedelta(days=1).total_seconds()),
    )
    s.handle([adt(t=0)])
    assert errors(s.handle([reading(NORMAL, t=0, received=-1, msg_id="a")])) == ["time"]
    assert errors(s.handle([reading(NORMAL, t=0, received=86401, msg_id="b")])) == ["time"]
    assert errors(s.handle([reading(NORMAL, t=1, received=86400, msg_id="c")])) == []


def test_settings_refuse_negative_bounds() -> None:
    with pytest.raises(ValueError, match="max_skew"):
        OnlineSettings(max_skew=-1)


# -- bad input stays small -------------------------------------------------------------------


def garbage(i: int, *, bed: str = BED, received: float = 0) -> Arrival:
    topic, payload = f"wards/{WARD}/beds/{bed}/obs", b"\xff" * 1000 + str(i).encode()
    return Arrival(parse(topic, payload), topic, payload, at(received))


def test_a_flood_of_garbage_is_counted_not_kept(scorer: OnlineScorer) -> None:
    out = scorer.handle([garbage(i) for i in range(1000)])  # within one second
    assert out.dead_letters == 1000  # every refusal counted
    assert len(out.batch.dead_letters) == 120  # a burst of twice the per-minute rate kept
    good = scorer.handle([reading(HIGH, t=11, msg_id="amid-the-flood")])
    assert [e.obs_msg_id for e in raised(good)] == ["amid-the-flood"]
    summary = scorer.tick(at(70))
    [letter] = dead(summary)
    assert letter["error"] == "flood"
    assert letter["reason"].startswith("880 more refused message(s)")
    assert "not-utf8" in letter["reason"]
    assert dead(scorer.tick(at(200))) == []  # said once


def test_floods_on_many_topics_are_bounded_in_all(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False, flood_per_minute=60))
    out = s.handle([garbage(i, bed=f"b{i}") for i in range(5000)])
    assert out.dead_letters == 5000
    assert len(out.batch.dead_letters) == 3000


# -- found by an attacker's review --------------------------------------------------------------


def test_a_handheld_clock_4_min_fast_does_not_hide_a_colleagues_red_set(
    scorer: OnlineScorer,
) -> None:
    fast = reading(NORMAL, t=0, time=at(240).isoformat(), msg_id="fast-handheld")
    assert len(scores(scorer.handle([fast]))) == 1
    out = scorer.handle([reading(HIGH, t=120, msg_id="colleague")])
    assert [s["obs_msg_id"] for s in scores(out)] == ["colleague"]
    assert [e.severity for e in raised(out)] == ["emergency"]


def test_a_wearable_clock_4_min_fast_does_not_hide_the_monitors_readings(
    scorer: OnlineScorer,
) -> None:
    fast = reading({"heart_rate": 72}, t=0, time=at(240).isoformat(), source="wearable")
    scorer.handle([fast])
    out = scorer.handle([reading({"heart_rate": 135}, t=60, source="monitor", msg_id="mon")])
    [score] = scores(out)
    assert score["vitals"]["heart_rate"] == 135


def test_a_late_admission_does_not_move_a_patient_out_of_their_bed(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([adt("P1", t=0, bed="2")])
    s.handle([adt("P1", t=3600, bed="3", event="transfer")])
    late = s.handle([adt("P1", t=-3600, received=5400, bed="5")])  # stamped before both
    assert [r.bed for r in late.batch.adt] == ["5"]  # kept
    assert (s.patient_in(WARD, "3"), s.patient_in(WARD, "5")) == ("P1", None)  # not applied
    # The bed the patient left knows when: an ADT older than the transfer does not fill it.
    s.handle([adt("P2", t=1800, received=5500, bed="2")])
    assert s.patient_in(WARD, "2") is None
    out = s.handle([reading(HIGH, t=5600, bed="3")])
    assert [e.severity for e in raised(out)] == ["emergency"]


def test_a_late_admission_does_not_bring_back_a_discharged_patient(charts: ChartSet) -> None:
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False))
    s.handle([adt("P1", t=0, bed="2")])
    s.handle([adt("P1", t=3600, bed="2", event="discharge")])
    s.handle([adt("P1", t=1800, received=4000, bed="4")])
    assert s.patient_in(WARD, "4") is None
    s.handle([adt("P1", t=7200, bed="4", msg_id="readmitted")])  # a new admission: placed
    assert s.patient_in(WARD, "4") == "P1"


def test_a_refused_adt_is_not_kept_as_if_it_were_applied(scorer: OnlineScorer) -> None:
    out = scorer.handle([adt("P9", t=60, event="discharge", msg_id="dis-wrong")])
    assert errors(out) == ["placement"]
    assert out.batch.adt == []


def test_the_same_content_serialised_differently_is_a_repeat_not_a_conflict(
    scorer: OnlineScorer,
) -> None:
    topic = f"wards/{WARD}/beds/{BED}/obs"
    body = {"msg_id": "s1", "patient_id": "P1", "time": at(60).isoformat(), "vitals": NORMAL}
    first = ENCODE({**body, "source": "manual"})
    again = b"  " + ENCODE({"source": "manual", **dict(reversed(list(body.items())))})
    assert first != again
    scorer.handle([Arrival(parse(topic, first), topic, first, at(60))])
    out = scorer.handle([Arrival(parse(topic, again), topic, again, at(70))])
    assert (out.duplicates, dead(out)) == (1, [])


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-10-25T00:31:00+00:00", "2026-10-25T00:30:00+00:00"),  # the first 01:30 (BST)
        ("2026-10-25T01:31:00+00:00", "2026-10-25T01:30:00+00:00"),  # the second (GMT)
    ],
)
def test_a_local_time_the_clocks_going_back_repeat_is_read_as_the_nearer(
    charts: ChartSet, received: str, expected: str
) -> None:
    from tests.ingest.test_hl7 import times  # noqa: PLC0415

    when = datetime.fromisoformat(received)
    s = OnlineScorer(charts, OnlineSettings(overdue_alerts=False, max_age=1e10))
    topic = f"wards/{WARD}/beds/{BED}/adt"
    body = ENCODE(
        {
            "msg_id": "a",
            "time": "2026-10-24T20:00:00Z",
            "event": "admit",
            "patient_id": "P001",
            "cohort": "adult",
        }
    )
    s.handle([Arrival(parse(topic, body), topic, body, when)])
    topic = f"wards/{WARD}/beds/{BED}/hl7v2"
    payload = times("20261025013000")  # no offset: in the hospital's zone, and ambiguous
    out = s.handle([Arrival(parse(topic, payload), topic, payload, when)])
    assert dead(out) == []
    [record] = out.batch.observations
    assert record.time == datetime.fromisoformat(expected)
    assert scores(out), "a reading an hour old would be late, not on the board"
