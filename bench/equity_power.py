"""Power of the safety dashboard's equity table to find a built-in inequity (issue 16).

For each seed: a simulated month of four wards (medical, surgical, children's, maternity; 30
beds each; nurses' sets only) with `--inequity spo2-overread` and, with the same seed, without
(the control), each replayed through the real scorer with simulated staff answering alerts,
stored in SQLite and put through the dashboard (`tests/surveillance/inequity_month.py`). Counts
how often each ethnic group's score alerts per 100 patient-days are flagged (95 % interval
excluding the hospital's value) low or high, with and without the inequity. Prints one JSON
line per run, then the table.

    bench/equity_power [--seeds 101-110] [--catchment london|england]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from scoring import load_charts
from surveillance.dashboard import HOSPITAL, Dashboard, EquityRow
from tests.surveillance.inequity_month import MEASURE, flags, month

GROUPS = ("White", "Mixed", "Asian", "Black", "Other", "not stated", "not known")


def groups(board: Dashboard) -> dict[str, EquityRow]:
    """The hospital's ethnicity rows of the measure, by group."""
    m = next(m for m in board.measures if m.id == MEASURE)
    hospital = next(s for s in m.scopes if s.scope == HOSPITAL)
    return {r.group: r for r in hospital.equity if r.dimension == "ethnicity"}


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", default="101-110", help="a seed or a range (default %(default)s)"
    )
    parser.add_argument("--catchment", default="london", choices=("london", "england"))
    args = parser.parse_args()
    charts = load_charts()
    counts: dict[str, Counter[tuple[str, str]]] = {"spo2-overread": Counter(), "none": Counter()}
    runs = 0
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds(args.seeds):
            runs += 1
            for inequity in (("spo2-overread",), ()):
                start = time.perf_counter()
                board = month(
                    charts, Path(tmp), seed=seed, inequity=inequity, catchment=args.catchment
                )
                found = flags(board)
                key = inequity[0] if inequity else "none"
                for f in found:
                    counts[key][f.group, f.side] += 1
                ratios = {
                    g: r.ratio_to_hospital
                    for g, r in groups(board).items()
                    if g in ("Asian", "Black")
                }
                print(json.dumps({
                    "seed": seed, "inequity": key, "catchment": args.catchment,
                    "ratio_to_hospital": ratios,
                    "flags": [f"{f.group} {f.side} {f.value:.1f} [{f.ci_low:.1f}, {f.ci_high:.1f}] vs {f.hospital:.1f}" for f in found],
                    "seconds": round(time.perf_counter() - start, 1),
                }), flush=True)  # fmt: skip
    print(f"\n{MEASURE}, {args.catchment} catchment, {runs} seeds ({args.seeds}), "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    print(
        f"{'group':<12}{'low, with':>12}{'low, without':>14}{'high, with':>12}{'high, without':>15}"
    )
    for g in GROUPS:
        c, n = counts["spo2-overread"], counts["none"]
        print(f"{g:<12}{c[g, 'low']:>12}{n[g, 'low']:>14}{c[g, 'high']:>12}{n[g, 'high']:>15}")


if __name__ == "__main__":
    main()
