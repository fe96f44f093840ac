"""The learned risk's cost per message on one core (issue 15): features + prediction (a
nurse's set, which is always estimated, and a device snapshot between estimates, which only
updates the patient's history), and learning one label (the calibrator, then the pipeline).

Run: `bench/model` (after `scripts/train-default-model`, or with `--model PATH`).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scoring import ScoreResult, load_charts, score
from surveillance.risk import RiverRisk, load_model
from tests.factories import NEWS2_NORMAL, make_ctx, make_obs

T0 = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
CONTEXT = make_ctx(cohort="adult", birth_date="1948-03-02")


def _results(n: int, source: str, minutes: float) -> list[ScoreResult]:
    charts = load_charts()
    out = []
    for i in range(n):
        vitals = NEWS2_NORMAL | {"resp_rate": 14 + i % 12, "heart_rate": 60 + i % 50}
        when = (T0 + timedelta(minutes=minutes * i)).isoformat()
        obs = make_obs(vitals, time=when, msg_id=f"o{i}", patient_id=f"P{i % 30}", source=source)
        out.append(score(obs, CONTEXT, charts))
    return out


def _per_call_us(model: RiverRisk, results: list[ScoreResult], source: str) -> float:
    start = time.perf_counter()
    for r in results:
        model.estimate(r, CONTEXT, source)
    return (time.perf_counter() - start) / len(results) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="model file (default: the shipped one)")
    parser.add_argument("-n", type=int, default=20_000)
    args = parser.parse_args()
    nurses = _results(args.n, "manual", 30)
    devices = _results(args.n, "wearable", 1 / 30)  # 30 patients, each every minute
    best = {"nurse": float("inf"), "device": float("inf"), "learn": float("inf")}
    for _ in range(3):
        model = load_model(args.model)
        best["nurse"] = min(best["nurse"], _per_call_us(model, nurses, "manual"))
        model = load_model(args.model)
        best["device"] = min(best["device"], _per_call_us(model, devices, "wearable"))
        model = load_model(args.model)
        _per_call_us(model, nurses, "manual")
        labels = len(model.pending)
        start = time.perf_counter()
        model.mature(T0 + timedelta(days=10_000))
        best["learn"] = min(best["learn"], (time.perf_counter() - start) / labels * 1e6)
    print(f"river model: {model.describe()['model']} (river {model.describe()['river']})")
    print(f"nurse's set, features + prediction + reasons: {best['nurse']:8.1f} µs")
    print(
        f"device snapshots, 1 a minute a patient (1 in 5 estimated): {best['device']:8.1f} µs a message"
    )
    print(f"learning one label (its calibrator, then scaler + regression): {best['learn']:8.1f} µs")


if __name__ == "__main__":
    main()
