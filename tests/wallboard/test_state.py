"""WardBoard, the wallboard's pure state: ADT, scores, alerts, ordering, privacy, bad input."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallboard import Change, WardBoard

T = "2026-11-22T09:{:02d}:00Z"


def adt(event: str, patient: str, minute: int = 0, **extra: Any) -> bytes:
    body = {
        "msg_id": f"adt-{patient}-{event}-{minute}",
        "time": T.format(minute),
        "event": event,
        "patient_id": patient,
        "cohort": "adult",
        "birth_date": "1948-03-02",
        "spo2_scale": 1,
    }
    return msgspec.json.encode(body | extra)


def score(patient: str, ward: str = "7A", bed: str = "12", minute: int = 0, **extra: Any) -> bytes:
    body = {
        "patient_id": patient,
        "ward": ward,
        "bed": bed,
        "time": T.format(minute),
        "obs_msg_id": f"obs-{patient}-{minute}",
        "system": "NEWS2",
        "chart": "news2",
        "total": 5,
        "parameters": {"resp_rate": 2, "spo2": 1, "heart_rate": 1, "temperature": 1},
        "risk": "medium",
        "complete": True,
        "missing": [],
        "monitoring": "hourly",
        "next_obs_due": T.format(minute + 1),
        "response": "urgent",
        "level": "medium",
        "clinical_response": "urgent review",
        "spo2_scale": 1,
        "single_parameter_triggers": [],
        "triggers": [],
        "prompts": [],
        "queries": [],
        "not_recorded": {},
        "chart_status": "validated",
        "vitals": {"resp_rate": 22, "spo2": 95, "heart_rate": 104, "temperature": 38.4},
    }
    return msgspec.json.encode(body | extra)


def alert(
    alert_id: str,
    state: str,
    minute: int = 0,
    patient: str = "P1",
    ward: str = "7A",
    bed: str = "12",
    **extra: Any,
) -> bytes:
    return msgspec.json.encode(
        {
            **extra,
            "alert_id": alert_id,
            "patient_id": patient,
            "ward": ward,
            "bed": bed,
            "time": T.format(minute),
            "kind": "score",
            "severity": "urgent",
            "state": state,
            "message": "NEWS2 5 (medium): urgent assessment",
            "obs_msg_id": "obs-7f3a",
        }
    )


def bed_topic(bed: str, kind: str, ward: str = "7A") -> str:
    return f"wards/{ward}/beds/{bed}/{kind}"


def beds(board: WardBoard, ward: str = "7A") -> dict[str, dict[str, Any]]:
    return {view["bed"]: view for view in board.snapshot(ward)["beds"]}


def test_admit_score_alert_show_on_the_bed() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", minute=1))
    board.apply("wards/7A/alerts", alert("a-1", "raised", 1))
    view = beds(board)["12"]
    assert view["patient"]["cohort"] == "adult"
    assert "patient_id" not in view["patient"]  # the board never shows who (issue 14)
    assert "birth_year" not in view["patient"]
    occupant = board.occupant("7A", "12")  # the patient view's history API only
    assert occupant is not None
    assert (occupant["patient_id"], occupant["birth_date"]) == ("P1", "1948-03-02")
    assert occupant["placement"] == view["patient"]["placement"]
    assert view["score"]["total"] == 5
    assert view["score"]["risk"] == "medium"
    assert view["vitals"] == {"resp_rate": 22, "spo2": 95, "heart_rate": 104, "temperature": 38.4}
    assert view["next_obs_due"] == T.format(2)
    assert [a["alert_id"] for a in view["open_alerts"]] == ["a-1"]
    assert board.wards() == ["7A"]
    assert board.outreach_snapshot()["alerts"][0]["alert_id"] == "a-1"


def test_alert_latest_event_kept_and_resolved_removed() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply("wards/7A/alerts", alert("a-1", "raised", 1))
    board.apply("wards/7A/alerts", alert("a-1", "escalated", 3))
    board.apply("wards/7A/alerts", alert("a-1", "acknowledged", 2))  # late, older: ignored
    assert beds(board)["12"]["open_alerts"][0]["state"] == "escalated"
    changes = board.apply("wards/7A/alerts", alert("a-1", "resolved", 4))
    assert beds(board)["12"]["open_alerts"] == []
    assert board.outreach_snapshot()["alerts"] == []
    outreach = [c for c in changes if c.ward is None]
    assert outreach[0].data["open"] is False
    # A repeat of an earlier event (QoS 1 redelivery) does not reopen it.
    assert board.apply("wards/7A/alerts", alert("a-1", "raised", 1)) == []
    assert board.outreach_snapshot()["alerts"] == []


def test_discharge_empties_the_bed() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", minute=1))
    board.apply(bed_topic("12", "adt"), adt("discharge", "P1", 5))
    view = beds(board)["12"]
    assert view["patient"] is None
    assert view["score"] is None
    assert view["vitals"] is None
    # A late retained admit, older than the discharge, does not bring the patient back.
    board.apply(bed_topic("14", "adt"), adt("admit", "P1", 0))
    assert beds(board)["14"]["patient"] is None


def test_transfer_moves_the_patient_and_their_score() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", minute=1))
    changes = board.apply(bed_topic("3", "adt", "8B"), adt("transfer", "P1", 5))
    assert beds(board)["12"]["patient"] is None
    moved = beds(board, "8B")["3"]
    assert (board.occupant("8B", "3") or {})["patient_id"] == "P1"
    assert moved["score"]["total"] == 5
    assert {(c.ward, c.key) for c in changes} == {("7A", "12"), ("8B", "3")}
    # The old bed's retained admit, delivered again (older), does not undo the transfer.
    board.apply(bed_topic("12", "adt"), adt("admit", "P1", 0))
    assert beds(board)["12"]["patient"] is None
    assert (board.occupant("8B", "3") or {})["patient_id"] == "P1"


def test_retained_messages_in_any_order_give_the_same_board() -> None:
    messages = [
        (bed_topic("12", "adt"), adt("admit", "P1", 0)),
        (bed_topic("14", "adt"), adt("transfer", "P1", 5)),
        (bed_topic("14", "score"), score("P1", bed="14", minute=6)),
    ]
    forward, backward = WardBoard(key=b"k"), WardBoard(key=b"k")
    for topic, payload in messages:
        forward.apply(topic, payload)
    for topic, payload in reversed(messages):
        backward.apply(topic, payload)
    assert forward.snapshot("7A")["beds"] == backward.snapshot("7A")["beds"]
    assert beds(backward)["14"]["score"]["time"] == T.format(6)


def test_stale_score_ignored() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", minute=10, total=7, risk="high"))
    assert board.apply(bed_topic("12", "score"), score("P1", minute=5, total=1, risk="low")) == []
    assert beds(board)["12"]["score"]["total"] == 7
    assert board.ignored["stale-score"] == 1


def test_score_of_another_patient_not_shown() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P2", minute=1))
    assert beds(board)["12"]["score"] is None
    assert board.ignored["other-patient"] == 1


def test_score_before_its_admission_is_held_for_it() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "score"), score("P1", minute=1))
    assert beds(board)["12"]["score"] is None
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    assert beds(board)["12"]["score"]["obs_msg_id"] == "obs-P1-1"


def test_repeats_emit_nothing_and_seq_increases() -> None:
    board = WardBoard()
    first = board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    assert board.apply(bed_topic("12", "adt"), adt("admit", "P1")) == []
    second = board.apply(bed_topic("12", "score"), score("P1", minute=1))
    assert board.apply(bed_topic("12", "score"), score("P1", minute=1)) == []
    assert [c.seq for c in first + second] == [1, 2]
    assert board.snapshot("7A")["seq"] == 2
    assert board.seq("7A") == 2


def test_equity_fields_never_shown() -> None:
    board = WardBoard()
    board.apply(
        bed_topic("12", "adt"),
        adt(
            "admit",
            "P1",
            cohort="maternity",
            sex="F",
            ethnicity="White British",
            imd_decile=2,
            gestation_weeks=31.5,
        ),
    )
    text = json.dumps(board.snapshot("7A"))
    for word in ("sex", "ethnicity", "imd_decile", "White British", "gestation", "1948-03-02"):
        assert word not in text
    assert beds(board)["12"]["patient"]["cohort"] == "maternity"


def test_garbage_counted_not_raised() -> None:
    board = WardBoard()
    cases = [
        (bed_topic("12", "adt"), b"not json"),
        (bed_topic("12", "adt"), b'{"event": "admit"}'),
        (bed_topic("12", "adt"), b""),
        (bed_topic("12", "score"), b"[1, 2]"),
        (bed_topic("12", "score"), score("P1", ward="8B")),
        ("wards/7A/alerts", b'{"alert_id": 3}'),
        ("wards/7A/alerts", alert("a-1", "raised", ward="8B")),
        ("wards/7A/beds/12/obs", b"{}"),
        ("elsewhere", b"{}"),
        (bed_topic("12", "adt"), b"\xff\xfe"),
    ]
    for topic, payload in cases:
        assert board.apply(topic, payload) == []
    assert sum(board.rejected.values()) == len(cases)
    assert board.rejected["mismatch"] == 2
    assert board.last_rejection is not None
    assert board.last_rejection.topic == bed_topic("12", "adt")
    json.dumps(board.stats())


def test_prefix() -> None:
    board = WardBoard(prefix="site1/")
    assert board.apply(bed_topic("12", "adt"), adt("admit", "P1")) == []
    assert board.rejected["topic"] == 1
    assert board.apply("site1/" + bed_topic("12", "adt"), adt("admit", "P1")) != []


def test_orphan_alert_stays_on_its_bed() -> None:
    board = WardBoard()
    board.apply("wards/7A/alerts", alert("a-9", "raised", 1, patient="P9", bed="4"))
    assert [a["alert_id"] for a in beds(board)["4"]["open_alerts"]] == ["a-9"]


def test_changes_name_their_stream_and_key() -> None:
    board = WardBoard()
    (change,) = board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    assert (change.ward, change.seq, change.key) == ("7A", 1, "12")
    outreach = board.apply("wards/7A/alerts", alert("a-1", "raised", rung=0, notify="outreach"))[-1]
    assert (outreach.ward, outreach.seq, outreach.key) == (None, 1, "a-1")
    assert outreach.data["notify"] == "outreach"


# ---- properties ------------------------------------------------------------------------------

WARDS = ("7A", "8B")
BEDS = ("1", "2", "10")
PATIENTS = ("P1", "P2", "P3")
STATES = ("raised", "acknowledged", "resolved", "escalated")

messages = st.one_of(
    st.builds(
        lambda w, b, e, p, m: (bed_topic(b, "adt", w), adt(e, p, m)),
        st.sampled_from(WARDS),
        st.sampled_from(BEDS),
        st.sampled_from(("admit", "transfer", "discharge")),
        st.sampled_from(PATIENTS),
        st.integers(0, 59),
    ),
    st.builds(
        lambda w, b, p, m, total: (
            bed_topic(b, "score", w),
            score(p, ward=w, bed=b, minute=m, total=total),
        ),
        st.sampled_from(WARDS),
        st.sampled_from(BEDS),
        st.sampled_from(PATIENTS),
        st.integers(0, 58),
        st.integers(0, 20),
    ),
    st.builds(
        lambda w, b, a, s, p, m: (f"wards/{w}/alerts", alert(a, s, m, patient=p, ward=w, bed=b)),
        st.sampled_from(WARDS),
        st.sampled_from(BEDS),
        st.sampled_from(("a-1", "a-2", "a-3")),
        st.sampled_from(STATES),
        st.sampled_from(PATIENTS),
        st.integers(0, 59),
    ),
    st.tuples(
        st.sampled_from([bed_topic("1", "adt"), bed_topic("2", "score"), "wards/7A/alerts", "x"]),
        st.binary(max_size=40),
    ),
)


@settings(max_examples=300)
@given(st.lists(messages, max_size=40))
def test_seq_strictly_increases_and_snapshots_are_json(sequence: list[tuple[str, bytes]]) -> None:
    board = WardBoard()
    last: dict[str | None, int] = {}
    streams: dict[str | None, list[Change]] = {}
    for topic, payload in sequence:
        for change in board.apply(topic, payload):
            assert change.seq == last.get(change.ward, 0) + 1
            last[change.ward] = change.seq
            streams.setdefault(change.ward, []).append(change)
    for ward in board.wards():
        snapshot = board.snapshot(ward)
        assert snapshot["seq"] == last.get(ward, 0)
        json.dumps(snapshot, allow_nan=False)
        # Replaying the changes over an empty view gives the snapshot: nothing is lost.
        replayed: dict[str, Any] = {}
        for change in streams.get(ward, []):
            replayed[change.key] = change.data
        assert [replayed[view["bed"]] for view in snapshot["beds"]] == snapshot["beds"]
    outreach = board.outreach_snapshot()
    json.dumps(outreach, allow_nan=False)
    assert outreach["seq"] == last.get(None, 0)
    open_alerts: dict[str, Any] = {}
    for change in streams.get(None, []):
        if change.data["open"]:
            open_alerts[change.key] = change.data
        else:
            open_alerts.pop(change.key, None)
    assert sorted(open_alerts) == sorted(a["alert_id"] for a in outreach["alerts"])
    json.dumps(board.stats(), allow_nan=False)


def test_obs_status_moves_with_the_board_clock() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1", initials="JS"))
    # NEWS2 0 at 09:00: 12-hourly, due 21:00, late from 00:57:36, missed from 05:02:24.
    board.apply(
        bed_topic("12", "score"),
        score(
            "P1",
            total=0,
            risk="low",
            next_obs_due="2026-11-22T21:00:00Z",
            obs_interval_minutes=720,
            last_manual_obs=T.format(0),
        ),
    )
    assert beds(board)["12"]["obs"]["status"] == "unknown"  # no clock yet
    assert beds(board)["12"]["patient"]["initials"] == "JS"
    statuses = []
    for now in (
        "2026-11-22T20:59:59Z",
        "2026-11-22T21:00:00Z",
        "2026-11-23T00:57:36Z",
        "2026-11-23T05:02:24Z",
    ):
        changes = board.tick(datetime.fromisoformat(now))
        assert [c.key for c in changes] == ["12"]  # each step changes the bed, once
        statuses.append(beds(board)["12"]["obs"]["status"])
    assert statuses == ["ok", "due", "late", "missed"]
    assert board.tick(datetime.fromisoformat("2026-11-23T05:03:00Z")) == []  # nothing new
    obs = beds(board)["12"]["obs"]
    assert (obs["due"], obs["interval_minutes"], obs["last"]) == (
        "2026-11-22T21:00:00Z",
        720,
        T.format(0),
    )
    assert (obs["late_at"], obs["missed_at"]) == ("2026-11-23T00:57:36Z", "2026-11-23T05:02:24Z")


def test_trend_against_the_previous_score() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", minute=1, total=3))
    assert beds(board)["12"]["trend"] is None  # nothing to compare with yet
    board.apply(bed_topic("12", "score"), score("P1", minute=2, total=7))
    assert beds(board)["12"]["trend"] == {
        "previous_total": 3,
        "previous_time": T.format(1),
        "direction": "up",
    }
    board.apply(bed_topic("12", "score"), score("P1", minute=2, total=7))  # a repeat
    assert beds(board)["12"]["trend"]["previous_total"] == 3
    board.apply(bed_topic("12", "score"), score("P1", minute=3, total=7))
    assert beds(board)["12"]["trend"]["direction"] == "same"


def test_alert_actions_are_shown_with_who_and_when_raised() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply("wards/7A/alerts", alert("a-1", "raised", 1))
    board.apply("wards/7A/alerts", alert("a-1", "acknowledged", 3, by="Sister Jones"))
    [shown] = beds(board)["12"]["open_alerts"]
    assert (shown["state"], shown["by"], shown["raised_at"]) == (
        "acknowledged",
        "Sister Jones",
        T.format(1),  # a contract-only event: the first one seen
    )
    assert board.alert("a-1") is not None
    board.apply("wards/7A/alerts", alert("a-1", "resolved", 4, reason="seen"))
    assert (board.alert("a-1"), board.closed("a-1")) == (None, True)


def test_invalid_initials_refuse_the_adt() -> None:
    board = WardBoard()
    assert board.apply(bed_topic("12", "adt"), adt("admit", "P1", initials="John Smith")) == []
    assert board.rejected["payload"] == 1


LEARNED = {
    "probability": 0.12,
    "horizon_hours": 24.0,
    "reasons": ["respiratory rate rising over 6 h", "SpO2 falling on oxygen"],
    "model": "river-logistic 3",
    "shadow": True,
}


def test_a_scores_learned_estimate_is_shown_with_it() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", learned_risk=LEARNED))
    shown = beds(board)["12"]["score"]
    assert shown["total"] == 5
    assert shown["learned_risk"] == LEARNED
    board.apply(bed_topic("12", "score"), score("P1", minute=1))  # a score without one
    assert beds(board)["12"]["score"]["learned_risk"] is None


@pytest.mark.parametrize(
    "learned",
    [
        {**LEARNED, "probability": 1.2},
        {**LEARNED, "probability": "high"},
        {**LEARNED, "horizon_hours": 0},
        {**LEARNED, "reasons": "rising"},
        {**LEARNED, "reasons": ["x" * 201]},
        {"reasons": []},
        [0.12],
    ],
)
def test_a_learned_estimate_that_cannot_be_read_never_hides_the_score(learned: Any) -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "P1"))
    board.apply(bed_topic("12", "score"), score("P1", learned_risk=learned))
    shown = beds(board)["12"]["score"]
    assert shown["total"] == 5
    assert shown["learned_risk"] is None
    assert board.rejected == {"learned-risk": 1}
    assert board.last_rejection is not None
    assert "high" not in board.last_rejection.reason  # (never the value)


def test_a_learned_estimate_shows_only_its_own_fields_and_no_reason_naming_the_patient() -> None:
    board = WardBoard()
    board.apply(bed_topic("12", "adt"), adt("admit", "NHS9434765919"))
    learned = {
        **LEARNED,
        "reasons": ["NHS9434765919 has a history", "heart rate rising"],
        "patient_id": "NHS9434765919",
        "birth_date": "1948-03-02",
    }
    board.apply(bed_topic("12", "score"), score("NHS9434765919", learned_risk=learned))
    shown = beds(board)["12"]["score"]["learned_risk"]
    assert shown == {**LEARNED, "reasons": ["heart rate rising"]}
