"""The figures of `surveillance evaluate` (surveillance.evaluation): hand-computed cases, and
properties every AUROC and AUPRC must have."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from surveillance.evaluation import Series, at_threshold, auprc, auroc, episodes, label, per_100

# (scores, labels, AUROC, AUPRC), worked by hand:
# AUROC = P(positive scores above negative) + ½ P(tie), over every positive-negative pair;
# AUPRC = Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds from the highest.
CASES = [
    # perfect
    ([1, 2, 3, 4], [0, 0, 1, 1], 1.0, 1.0),
    # reversed: every positive below every negative; AP: t=4,3 R=0; t=2 R=½ P=⅓; t=1 R=1 P=½
    ([4, 3, 2, 1], [0, 0, 1, 1], 0.0, 0.5 * (1 / 3) + 0.5 * 0.5),
    # all tied: AUROC ½; AP is the prevalence
    ([5, 5, 5, 5], [0, 1, 0, 0], 0.5, 0.25),
    # ties across classes: pairs (1,1)=½ (1,2)=0 (3,1)=1 (3,2)=1 → 2.5/4;
    # AP: t=3 R=½ P=1; t=2 R=½ P=½; t=1 R=1 P=½ → ½·1 + 0 + ½·½
    ([1, 1, 2, 3], [0, 1, 0, 1], 0.625, 0.75),
    # NEWS2-like totals: pos {5,7,2}, neg {0,1,2,5}: 7 beats all 4; 5 beats 3, ties 1 (3.5);
    # 2 beats 2, ties 1 (2.5) → 10/12. AP: t=7 R=⅓ P=1; t=5 R=⅔ P=⅔ (3 sets ≥5, 2 positive);
    # t=2 R=1 P=⅗; t=1,0 add no recall
    ([0, 1, 2, 2, 5, 5, 7], [0, 0, 0, 1, 0, 1, 1], 10 / 12, (1 / 3) * 1 + (1 / 3) * (2 / 3) + (1 / 3) * 0.6),
]  # fmt: skip


@pytest.mark.parametrize(("scores", "labels", "roc", "ap"), CASES)
def test_auroc_and_auprc_match_hand_computed_cases(scores, labels, roc, ap) -> None:
    truth = [bool(y) for y in labels]
    assert auroc(scores, truth) == pytest.approx(roc)
    assert auprc(scores, truth) == pytest.approx(ap)


@pytest.mark.parametrize("labels", [[], [True, True], [False, False, False]])
def test_one_class_has_no_auroc_nor_auprc(labels) -> None:
    scores = list(range(len(labels)))
    assert auroc(scores, labels) is None
    assert auprc(scores, labels) is None


def test_scores_and_labels_must_pair_up() -> None:
    with pytest.raises(ValueError, match="3 scores but 2 labels"):
        auroc([1, 2, 3], [True, False])


samples = st.lists(
    st.tuples(st.integers(min_value=0, max_value=20), st.booleans()), min_size=2, max_size=60
).filter(lambda rows: 0 < sum(y for _, y in rows) < len(rows))


@given(samples)
def test_auroc_is_a_probability_and_reversing_the_scores_mirrors_it(rows) -> None:
    scores, labels = [float(s) for s, _ in rows], [y for _, y in rows]
    forward, backward = auroc(scores, labels), auroc([-s for s in scores], labels)
    assert forward is not None
    assert backward is not None
    assert 0.0 <= forward <= 1.0
    assert forward + backward == pytest.approx(1.0)


@given(samples, st.sampled_from([math.exp, lambda x: x**3 + 7, lambda x: 10 * x - 3]))
def test_auroc_and_auprc_do_not_change_under_a_monotone_transform(rows, transform) -> None:
    scores, labels = [float(s) for s, _ in rows], [y for _, y in rows]
    moved = [transform(s) for s in scores]
    assert auroc(moved, labels) == pytest.approx(auroc(scores, labels))
    assert auprc(moved, labels) == pytest.approx(auprc(scores, labels))


@given(samples)
def test_a_perfect_predictor_scores_one_and_its_reverse_zero(rows) -> None:
    labels = [y for _, y in rows]
    perfect = [float(y) + s / 100 for s, y in rows]  # every positive above every negative
    assert auroc(perfect, labels) == pytest.approx(1.0)
    assert auprc(perfect, labels) == pytest.approx(1.0)
    assert auroc([-p for p in perfect], labels) == pytest.approx(0.0)


@given(samples)
def test_auprc_is_at_least_the_prevalence_when_the_scores_say_nothing(rows) -> None:
    labels = [y for _, y in rows]
    assume(len(labels) > 1)
    assert auprc([1.0] * len(labels), labels) == pytest.approx(sum(labels) / len(labels))


# -- labels and alert episodes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "onset", "kept", "positive"),
    [
        ([0, 10, 30], None, [True, True, True], [False, False, False]),
        # 24 h horizon, outcome at 30: 0 is too early, 10 is within, 30 is its start (left out)
        ([0, 10, 30, 31], 30, [True, True, False, False], [False, True, False, False]),
        # exactly the horizon before counts; an instant later does not
        ([6, 5.999], 30, [True, True], [True, False]),
    ],
)
def test_label_keeps_what_came_before_the_outcome_and_marks_the_horizon(
    times, onset, kept, positive
) -> None:
    assert label(times, onset, 24) == (kept, positive)


@pytest.mark.parametrize(
    ("alerts", "runs"),
    [
        ([False, False, False, False], []),
        ([True, True, True, True], [(0, 3)]),
        ([True, False, True, True], [(0, 0), (2, 3)]),
        ([False, True, True, False], [(1, 2)]),
    ],
)
def test_episodes_are_runs_of_consecutive_alerting_observations(alerts, runs) -> None:
    assert episodes([0, 1, 2, 3], alerts) == runs


def test_at_threshold_counts_episodes_true_alerts_detection_and_lead_time() -> None:
    """Four patients, 24 h horizon:
    - A: alerts at 1-2 h (one episode), outcome at 20 h: a true alert, detected, lead 19 h;
    - B: episodes at 0 h and at 60 h, outcome at 80 h: the first ended 80 h before it (false),
      the second is true and detects it with 20 h to spare;
    - C: one episode, no outcome (a false alert);
    - D: an episode from 0 h to 40 h, outcome at 60 h: true (it lasted into the horizon) and
      detected from its observation at 40 h (the first inside the horizon), lead 20 h;
    - E: an outcome with no alert before it (missed)."""
    a = Series([1, 2, 3], [True, True, False], 20.0, 1.0)
    b = Series([0, 10, 60, 70], [True, False, True, False], 80.0, 4.0)
    c = Series([0, 5], [True, True], None, 5.0)
    d = Series([0, 20, 40, 50], [True, True, True, False], 60.0, 2.0)
    e = Series([0, 12], [False, False], 13.0, 3.0)
    at = at_threshold([a, b, c, d, e], horizon=24)
    assert (at.alerts, at.true_alerts, at.alert_observations) == (5, 3, 9)
    assert (at.events, at.detected, at.lead_times) == (4, 3, (19.0, 20.0, 20.0))
    assert at.patient_days == 15.0
    assert at.alerts_per_100_patient_days == pytest.approx(100 * 5 / 15)
    assert at.sensitivity == 0.75
    assert at.ppv == 0.6
    assert at.nne == pytest.approx(5 / 3)
    assert at.median_lead_time_hours == 20.0


def test_no_alerts_and_no_events_give_no_rates() -> None:
    at = at_threshold([Series([0, 1], [False, False], None, 0.0)], horizon=24)
    assert at.alerts_per_100_patient_days is None
    assert at.sensitivity is None
    assert at.ppv is None
    assert at.nne is None
    assert at.median_lead_time_hours is None
    assert per_100(3, 150) == pytest.approx(2.0)
