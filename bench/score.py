"""Scoring throughput on one core: the single path and the batch path (issue 2 goals).

Prints observation sets per second, best of several runs:
- single: `score()` one set at a time, each to a full ScoreResult;
- batch, columns ready: `score_columns()` on numpy columns (1k and 100k sets);
- batch, from parsed messages: `Columns.from_observations()` + `score_columns()`;
- batch, full results: `score_batch()` from parsed messages to ScoreResult objects.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from scoring import (
    Chart,
    Columns,
    Context,
    ObservationSet,
    load_charts,
    score,
    score_batch,
    score_columns,
)
from tests.factories import make_ctx, make_obs


def best_rate(n: int, run: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def adult_sets(n: int, seed: int = 1) -> list[ObservationSet]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(
            make_obs(
                {
                    "resp_rate": int(rng.integers(8, 30)),
                    "spo2": int(rng.integers(85, 101)),
                    "on_oxygen": bool(rng.random() < 0.2),
                    "systolic_bp": int(rng.integers(80, 200)),
                    "diastolic_bp": int(rng.integers(40, 79)),
                    "heart_rate": int(rng.integers(40, 140)),
                    "consciousness": str(rng.choice(["A", "A", "A", "A", "C", "V"])),
                    "temperature": round(float(rng.uniform(35.0, 40.0)), 1),
                },
                msg_id=f"m{i}",
            )
        )
    return out


def adult_columns(n: int, seed: int = 2) -> Columns:
    rng = np.random.default_rng(seed)
    return Columns.from_arrays(
        n,
        numeric={
            "resp_rate": rng.integers(8, 30, n).astype(np.float64),
            "spo2": rng.integers(85, 101, n).astype(np.float64),
            "systolic_bp": rng.integers(80, 200, n).astype(np.float64),
            "diastolic_bp": rng.integers(40, 79, n).astype(np.float64),
            "heart_rate": rng.integers(40, 140, n).astype(np.float64),
            "temperature": np.round(rng.uniform(35.0, 40.0, n), 1),
        },
        categorical={"consciousness": rng.choice(np.array([0, 0, 0, 0, 1, 2], dtype=np.int16), n)},
        on_oxygen=(rng.random(n) < 0.2).astype(np.float64),
    )


def _from_messages(chart: Chart, parsed: list[ObservationSet], ctxs: list[Context]) -> object:
    return score_columns(chart, Columns.from_observations(parsed, ctxs))


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    charts = load_charts()
    ctx: Context = make_ctx(cohort="adult")
    news2 = charts.charts["news2"]
    print(f"scoring throughput, NEWS2, one core (best of 5), numpy {np.__version__}")

    sets = adult_sets(20_000)
    rate = best_rate(len(sets), lambda: [score(o, ctx, charts) for o in sets])
    print(f"  single path, full ScoreResult objects       {rate:>12,.0f} sets/s   (goal 200,000)")

    for n in (1_000, 100_000):
        cols = adult_columns(n)
        rate = best_rate(n, partial(score_columns, news2, cols))
        goal = "   (goal 5,000,000)" if n == 100_000 else ""
        print(f"  batch, columns ready, {n:>7,} sets          {rate:>12,.0f} sets/s{goal}")

    for n in (1_000, 100_000):
        parsed = adult_sets(n)
        ctxs = [ctx] * n
        rate = best_rate(n, partial(_from_messages, news2, parsed, ctxs), 3)
        print(f"  batch, from parsed messages, {n:>7,} sets   {rate:>12,.0f} sets/s")

    parsed = adult_sets(100_000)
    pairs = [(o, ctx) for o in parsed]
    rate = best_rate(len(pairs), lambda: score_batch(pairs, charts), 3)
    print(f"  batch, full ScoreResult objects, 100,000     {rate:>12,.0f} sets/s")


if __name__ == "__main__":
    main()
