"""bench/alerts runs (a small hospital), and what it prints is what the scorer did: a bench
that no test runs rots silently when the records it reads change shape."""

from __future__ import annotations

from bench.alerts import run
from simulators import SimConfig


def test_a_small_hospital_day_has_one_open_score_alert_per_patient_at_most() -> None:
    config = SimConfig(wards=1, beds=6, hours=12, mode="mixed", seed=3)
    figures = run(config, responders=True, tick=60.0)
    assert figures["patient_days"] > 0
    assert figures["most_open"] <= 1
    assert figures["sets"] > 0
    assert figures["all_alerts"] >= figures["score_alerts"] >= 0
