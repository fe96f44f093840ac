"""`surveillance evaluate`'s judgement of the learned risk: Brier score, calibration slope and
intercept, the threshold matching NEWS2's alert rate, and the replay that runs the model beside
the scorer on the hand-worked recording of test_evaluate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ChartSet
from simulators import write_recording
from surveillance.evaluation import (
    brier,
    calibration,
    evaluate,
    replay,
    suppress,
    threshold_for_rate,
)
from surveillance.risk import Hyper, RiverRisk
from tests.surveillance.test_evaluate import _ward


@pytest.mark.parametrize(
    ("p", "y", "expected"),
    [
        ([0.0, 1.0], [False, True], 0.0),
        ([1.0, 0.0], [False, True], 1.0),
        ([0.2, 0.5, 0.9], [False, True, True], (0.04 + 0.25 + 0.01) / 3),
        ([], [], None),
    ],
)
def test_brier_worked_by_hand(p: list[float], y: list[bool], expected: float | None) -> None:
    assert brier(p, y) == (None if expected is None else pytest.approx(expected))


def _draw(n: int, seed: int, slope: float, shift: float) -> tuple[list[float], list[bool]]:
    """Outcomes drawn from true logits z; the estimates are sigmoid((z - shift) / slope), so
    recalibration should find that slope and shift."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-2.0, 1.5, n)
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    p = 1 / (1 + np.exp(-(z - shift) / slope))
    return p.tolist(), y.tolist()


@pytest.mark.parametrize(("slope", "shift"), [(1.0, 0.0), (0.5, 0.0), (2.0, 0.0), (1.0, 0.7)])
def test_calibration_finds_the_slope_and_intercept_the_estimates_were_made_with(
    slope: float, shift: float
) -> None:
    p, y = _draw(60_000, 7, slope, shift)
    found_slope, found_intercept = calibration(p, y)
    assert found_slope == pytest.approx(slope, rel=0.06)
    assert found_intercept is not None
    if slope == 1.0:
        assert found_intercept == pytest.approx(shift, abs=0.06)


def test_calibration_needs_both_classes() -> None:
    assert calibration([0.1, 0.2], [False, False]) == (None, None)
    with pytest.raises(ValueError, match="2 probabilities but 1 labels"):
        calibration([0.1, 0.2], [True])


def test_the_threshold_gives_the_alert_rate_asked_for() -> None:
    # Two patients, one day each: estimates in time order; P2's outcome at 10 h.
    patients = [
        ([1.0, 2.0, 3.0, 4.0], [0.1, 0.6, 0.2, 0.7], None, 1.0),
        ([1.0, 5.0, 9.0], [0.3, 0.5, 0.8], 10.0, 1.0),
    ]
    # >= 0.7: 2 episodes (P1 at 4 h, P2 at 9 h) = 100 per 100 patient-days
    threshold, at = threshold_for_rate(patients, 24.0, 100.0) or (None, None)
    assert threshold == 0.7
    assert at is not None
    assert (at.alerts, at.true_alerts, at.detected) == (2, 1, 1)
    # >= 0.5: P1 at 2 h, at 4 h, P2 from 5 h: 3 episodes = 150
    threshold, at = threshold_for_rate(patients, 24.0, 150.0) or (None, None)
    assert threshold == 0.5
    assert threshold_for_rate([([], [], None, 1.0)], 24.0, 10.0) is None


@settings(max_examples=60, deadline=None)
@given(
    estimates=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40),
    target=st.floats(0, 5000, allow_nan=False),
)
def test_the_threshold_found_is_the_closest_when_the_rate_falls_with_it(
    estimates: list[float], target: float
) -> None:
    """One observation per patient-day: the alert rate is 100 × the estimates at or above the
    threshold, which falls as it rises; no estimate as threshold comes closer to the target."""
    patients = [([1.0], [e], None, 1.0) for e in estimates]
    found = threshold_for_rate(patients, 24.0, target)
    assert found is not None
    threshold, at = found
    rate = at.alerts_per_100_patient_days or 0.0
    assert rate == pytest.approx(100.0 * sum(e >= threshold for e in estimates) / len(estimates))
    best = min(
        abs(100.0 * sum(e >= t for e in estimates) / len(estimates) - target) for t in estimates
    )
    assert abs(rate - target) == pytest.approx(best)


def test_the_model_runs_beside_the_scores_on_the_same_observations(
    tmp_path: Path, charts: ChartSet
) -> None:
    path = tmp_path / "ward.jsonl"
    write_recording(path, _ward("event"), {"events": True})
    model = RiverRisk(Hyper(horizon_hours=24))
    result = evaluate(replay([path], charts, model=model), 24, ["icu-admission"])
    news2, learned = result["news2"], result["model"]
    assert learned is not None
    assert learned["observations"] == news2["observations"] == 6
    assert learned["outcome_observations"] == news2["outcome_observations"] == 3
    assert learned["observations_without_estimate"] == 0
    assert (learned["patients"], learned["events"]) == (2, 1)
    for key in ("auroc", "auprc", "brier"):
        assert 0.0 <= learned[key] <= 1.0
    slope = learned["calibration_slope"]
    assert slope is None or math.isfinite(slope)  # six observations may separate: no fit
    at = learned["at_news2_alert_rate"]
    # NEWS2 >= 5 gave 2 episodes; the model's threshold gives the rate nearest to that.
    assert at["alerts_per_100_patient_days"] == pytest.approx(
        news2["at_threshold"]["alerts_per_100_patient_days"], rel=0.51
    )
    assert 0.0 <= at["threshold"] <= 1.0
    assert result["model"]["about"]["learning"] is True
    # P1's three sets, within 24 h before the ICU admission, were learned as positives; P2's
    # sets at 2 h and 14 h matured (24 h passed) as negatives; the rest were censored at the
    # end of the recording (P1's set after the outcome is never learned from).
    assert model.learned == {"positives": 3, "negatives": 2}
    assert model.pending == type(model.pending)()
    assert model.patients == {}
    # the groups use the same threshold, with small counts hidden
    female = result["by_group"]["sex"]["female"]["model"]
    assert female["observations"] == "*"
    assert female["at_news2_alert_rate"]["threshold"] == at["threshold"]


def test_a_frozen_model_learns_nothing_during_the_replay(tmp_path: Path, charts: ChartSet) -> None:
    path = tmp_path / "ward.jsonl"
    write_recording(path, _ward("truth"), {"events": False})
    model = RiverRisk(learn=False)
    result = evaluate(replay([path], charts, model=model), 24, ["icu-admission"])
    assert result["model"]["observations"] == 6
    assert model.learned == {"positives": 0, "negatives": 0}


def test_without_a_model_the_block_is_null(tmp_path: Path, charts: ChartSet) -> None:
    path = tmp_path / "ward.jsonl"
    write_recording(path, _ward("event"), {"events": True})
    assert evaluate(replay([path], charts), 24, ["icu-admission"])["model"] is None


def test_suppression_covers_the_model_block() -> None:
    block = {
        "observations": 120,
        "outcome_observations": 5,
        "patients": 30,
        "events": 3,
        "auroc": 0.8,
        "brier": 0.05,
        "calibration_slope": 1.1,
        "calibration_intercept": 0.1,
        "at_news2_alert_rate": {
            "threshold": 0.2,
            "alerts": 12,
            "true_alerts": 2,
            "alert_observations": 20,
            "detected": 2,
            "sensitivity": 0.66,
            "ppv": 0.17,
        },
    }
    hidden = suppress(block)
    assert hidden["outcome_observations"] == "*"
    assert hidden["events"] == "*"
    assert hidden["auroc"] == hidden["brier"] == hidden["calibration_slope"] == "*"
    assert hidden["calibration_intercept"] == "*"
    assert hidden["at_news2_alert_rate"]["sensitivity"] == "*"
    assert hidden["at_news2_alert_rate"]["threshold"] == 0.2
    assert hidden["at_news2_alert_rate"]["alerts"] == 12
