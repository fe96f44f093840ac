"""The online Platt calibration: it finds the slope and intercept that make the raw logit a
probability, keeps the identity until it has labels enough, and nurses' sets and device
snapshots are calibrated apart (a calibrator fitted on both was too extreme on nurses' sets)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveillance.risk import Platt, RiverRisk


def _feed(platt: Platt, a: float, b: float, n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    z = rng.normal(-3.0, 2.0, n)
    y = rng.random(n) < 1 / (1 + np.exp(-(a * z + b)))
    for zi, yi in zip(z, y, strict=True):
        platt.learn(float(zi), bool(yi))


@pytest.mark.parametrize(("a", "b"), [(1.0, 0.0), (0.5, -1.0), (1.8, 0.7), (0.55, -0.08)])
def test_it_recovers_the_slope_and_intercept_that_made_the_labels(a: float, b: float) -> None:
    platt = Platt()
    _feed(platt, a, b, 60_000)
    assert platt.a == pytest.approx(a, abs=0.08)
    assert platt.b == pytest.approx(b, abs=0.15)
    assert platt(0.0) == pytest.approx(1 / (1 + math.exp(-platt.b)))


def test_it_stays_the_identity_until_it_has_twenty_of_each_label() -> None:
    platt = Platt()
    for _ in range(1000):
        platt.learn(-2.0, False)
    for _ in range(19):
        platt.learn(3.0, True)
    platt.fit()
    assert (platt.a, platt.b) == (1.0, 0.0)
    for _ in range(5):  # twenty and more, whatever the decay took off the first nineteen
        platt.learn(3.0, True)
    platt.fit()
    assert (platt.a, platt.b) != (1.0, 0.0)


def test_a_logit_that_is_not_a_number_is_not_learned() -> None:
    platt = Platt()
    for z in (math.nan, math.inf, -math.inf):
        platt.learn(z, True)
    assert sum(platt.positives) == 0
    assert platt.since_fit == 0


def test_extreme_logits_fall_in_the_end_bins() -> None:
    platt = Platt()
    platt.learn(-1e300, False)
    platt.learn(1e300, True)
    assert (platt.negatives[0], platt.positives[-1]) == (1.0, 1.0)


def test_nurses_sets_and_device_snapshots_are_calibrated_apart() -> None:
    risk = RiverRisk()
    x = {"device": 1.0}
    for _ in range(50):
        risk._learn(x, True)
    assert sum(risk.calibrators["device"].positives) == 50
    assert sum(risk.calibrators["manual"].positives) == 0
