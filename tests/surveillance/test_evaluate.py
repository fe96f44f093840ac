"""`surveillance evaluate`'s replay and figures (surveillance.evaluation) on a recording small
enough to work out by hand: the service's scorer in event time, the outcome's labels, the
observations after it left out, alert episodes, and small groups suppressed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from scoring import ChartSet
from simulators import TRUTH_TOPIC, Message, write_recording
from surveillance.evaluation import evaluate, replay, suppress

T0 = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp())
NORMAL = {"resp_rate": 16, "spo2": 97, "oxygen_device": "air", "systolic_bp": 120}
NORMAL |= {"heart_rate": 70, "consciousness": "A", "temperature": 37.0}  # NEWS2 0
HIGH = NORMAL | {"resp_rate": 25, "spo2": 95, "heart_rate": 115}  # 3 + 1 + 2: NEWS2 6


def _at(hours: float) -> str:
    return datetime.fromtimestamp(T0 + hours * 3600, UTC).isoformat().replace("+00:00", "Z")


def _msg(hours: float, topic: str, payload: dict[str, Any]) -> Message:
    return Message(int(T0 + hours * 3600), topic, msgspec.json.encode(payload), False)


def _adt(hours: float, bed: str, patient: str, event: str, **extra: Any) -> Message:
    body = {"msg_id": f"adt-{patient}-{event}", "time": _at(hours), "event": event}
    body |= {"patient_id": patient, "cohort": "adult", "birth_date": "1950-01-01", **extra}
    return _msg(hours, f"wards/MED1/beds/{bed}/adt", body)


def _obs(hours: float, bed: str, patient: str, vitals: dict[str, Any], source: str = "manual"):
    body = {"msg_id": f"obs-{patient}-{hours}", "patient_id": patient, "time": _at(hours)}
    return _msg(hours, f"wards/MED1/beds/{bed}/obs", body | {"source": source, "vitals": vitals})


def _ward(outcome_as: str) -> list[Message]:
    """P1 (female, White, IMD decile 3): NEWS2 0 at 1 h, 6 at 10 h and 20 h, ICU at 21 h, a set
    at 22 h (after the outcome: left out), discharged at 23 h. P2 (no sex, ethnicity or IMD
    given): 0 at 2 h and 14 h, 6 at 26 h (a false alert), a monitor's reading at 27 h,
    discharged at 48 h."""
    messages = [
        _adt(0, "1", "P1", "admit", sex="2", ethnicity="A", imd_decile=3),
        _adt(0, "2", "P2", "admit"),
        _obs(1, "1", "P1", NORMAL),
        _obs(2, "2", "P2", NORMAL),
        _obs(10, "1", "P1", HIGH),
        _obs(14, "2", "P2", NORMAL),
        _obs(20, "1", "P1", HIGH),
    ]
    if outcome_as == "event":
        body = {"msg_id": "ev-1", "time": _at(21), "patient_id": "P1", "event": "icu-admission"}
        messages.append(_msg(21, "wards/MED1/beds/1/event", body | {"by": "outreach"}))
    else:
        body = {"msg_id": "t-1", "time": _at(21), "patient_id": "P1", "ward": "MED1", "bed": "1"}
        messages.append(_msg(21, TRUTH_TOPIC, body | {"kind": "outcome", "event": "icu-transfer"}))
    messages += [
        _obs(22, "1", "P1", HIGH),
        _adt(23, "1", "P1", "discharge"),
        _obs(26, "2", "P2", HIGH),
        _obs(27, "2", "P2", {"heart_rate": 130, "spo2": 90}, source="monitor"),
        _adt(48, "2", "P2", "discharge"),
    ]
    return messages


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "ward.jsonl"
    write_recording(path, _ward("event"), {"events": True})
    return path


def test_replay_labels_each_set_and_gives_the_figures_worked_by_hand(
    recording: Path, charts: ChartSet
) -> None:
    result = evaluate(replay([recording], charts), 24, ["icu-admission"])
    assert result["outcome_source"] == {str(recording): "events"}
    assert result["device_snapshots_left_out"] == 1
    assert result["model"] is None
    assert (result["observations"], result["patients"], result["events"]) == (6, 2, 1)
    assert result["patient_days"] == pytest.approx(71 / 24, abs=1e-3)
    assert result["events_per_100_patient_days"] == pytest.approx(100 * 24 / 71, abs=1e-3)
    news2 = result["news2"]
    # P1's three sets come within 24 h before the outcome (positive), P2's three do not; the
    # set at 22 h is left out. Positives {0, 6, 6} vs negatives {0, 0, 6}: 6/9 of pairs.
    assert (news2["observations"], news2["outcome_observations"]) == (6, 3)
    assert news2["auroc"] == pytest.approx(6 / 9, abs=1e-4)
    at = news2["at_threshold"]
    assert (at["alerts"], at["true_alerts"], at["alert_observations"]) == (2, 1, 3)
    assert (at["sensitivity"], at["ppv"], at["nne"]) == (1.0, 0.5, 2.0)
    assert at["median_lead_time_hours"] == pytest.approx(11.0)
    assert at["alerts_per_100_patient_days"] == pytest.approx(200 * 24 / 71, abs=1e-3)
    assert at["alert_observations_per_100_patient_days"] == pytest.approx(300 * 24 / 71, abs=1e-3)
    assert result["pews"] is None
    assert result["mews"] is None


def test_without_event_messages_the_ground_truth_is_the_outcome(
    tmp_path: Path, charts: ChartSet
) -> None:
    path = tmp_path / "truth.jsonl"
    write_recording(path, _ward("truth"), {"events": False})
    result = evaluate(replay([path], charts), 24, ["icu-admission"])
    assert result["outcome_source"] == {str(path): "truth"}
    assert result["events"] == 1
    assert result["news2"]["at_threshold"]["median_lead_time_hours"] == pytest.approx(11.0)


def test_outcomes_of_other_kinds_and_a_shorter_horizon_change_the_labels(
    recording: Path, charts: ChartSet
) -> None:
    none = evaluate(replay([recording], charts, ["death"]), 24, ["death"])
    assert none["events"] == 0
    assert none["news2"]["auroc"] is None  # one class only
    assert none["news2"]["observations"] == 7  # nothing is left out without an outcome
    short = evaluate(replay([recording], charts), 5, ["icu-admission"])
    assert short["news2"]["outcome_observations"] == 1  # only the set at 20 h
    assert short["news2"]["at_threshold"]["median_lead_time_hours"] == pytest.approx(1.0)


def test_observations_under_a_ceiling_of_care_are_left_out(
    tmp_path: Path, charts: ChartSet
) -> None:
    """P2's plan sets a ceiling at 25 h: their set at 26 h (the false alert) is left out."""
    body = {"msg_id": "plan-1", "time": _at(25), "patient_id": "P2", "by": "Dr A"}
    plan = _msg(25, "wards/MED1/beds/2/plan", body | {"reason": "frail", "ceiling": "ward"})
    messages = _ward("event")
    messages.insert(next(i for i, m in enumerate(messages) if m.time > plan.time), plan)
    path = tmp_path / "ceiling.jsonl"
    write_recording(path, messages, {"events": True})
    news2 = evaluate(replay([path], charts), 24, ["icu-admission"])["news2"]
    assert news2["observations"] == 5
    assert (news2["at_threshold"]["alerts"], news2["at_threshold"]["ppv"]) == (1, 1.0)


def test_devices_are_judged_when_asked(recording: Path, charts: ChartSet) -> None:
    result = evaluate(replay([recording], charts, include_devices=True), 24, ["icu-admission"])
    assert result["device_snapshots_left_out"] == 0
    assert result["news2"]["observations"] == 7


def test_two_recordings_are_separate_hospitals(recording: Path, charts: ChartSet) -> None:
    result = evaluate(replay([recording, recording], charts), 24, ["icu-admission"])
    assert (result["patients"], result["events"], result["observations"]) == (4, 2, 12)


def test_groups_come_from_the_adt_context_and_small_counts_are_suppressed(
    recording: Path, charts: ChartSet
) -> None:
    groups = evaluate(replay([recording], charts), 24, ["icu-admission"])["by_group"]
    assert set(groups) == {"sex", "ethnicity", "age_band", "imd_quintile"}
    assert set(groups["sex"]) == {"female", "unknown"}
    assert set(groups["ethnicity"]) == {"White", "unknown"}
    assert set(groups["imd_quintile"]) == {"Q2", "unknown"}
    assert set(groups["age_band"]) == {"65-79"}
    female = groups["sex"]["female"]
    assert female["patients"] == "*"
    assert female["news2"]["observations"] == "*"
    assert female["news2"]["auroc"] is None  # one class: nothing to hide
    assert female["news2"]["at_threshold"]["sensitivity"] == "*"


def test_suppression_hides_counts_of_one_to_seven_and_what_derives_from_them() -> None:
    block = {
        "observations": 100,
        "outcome_observations": 5,
        "patients": 40,
        "patient_days": 80.0,
        "events": 0,
        "events_per_100_patient_days": 0.0,
        "news2": {
            "observations": 100,
            "outcome_observations": 8,
            "patients": 7,
            "patient_days": 12.5,
            "events": 3,
            "auroc": 0.8,
            "auprc": 0.3,
            "at_threshold": {
                "threshold": "NEWS2 >= 5",
                "alerts": 20,
                "true_alerts": 8,
                "alert_observations": 30,
                "detected": 2,
                "alerts_per_100_patient_days": 160.0,
                "sensitivity": 0.67,
                "ppv": 0.4,
                "nne": 2.5,
                "median_lead_time_hours": 6.0,
            },
        },
        "pews": None,
    }
    out = suppress(block)
    assert out["outcome_observations"] == "*"
    assert (out["observations"], out["patients"], out["events"]) == (100, 40, 0)
    assert out["events_per_100_patient_days"] == 0.0  # zero is not a small count
    news2 = out["news2"]
    assert (news2["patients"], news2["patient_days"], news2["events"]) == ("*", "*", "*")
    assert (news2["outcome_observations"], news2["auroc"], news2["auprc"]) == (8, 0.8, 0.3)
    at = news2["at_threshold"]
    assert (at["alerts"], at["true_alerts"], at["ppv"], at["nne"]) == (20, 8, 0.4, 2.5)
    assert (at["detected"], at["sensitivity"], at["median_lead_time_hours"]) == ("*", "*", "*")
    assert at["threshold"] == "NEWS2 >= 5"
    assert out["pews"] is None
