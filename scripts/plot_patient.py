"""Plot one simulated patient's vitals and NEWS2 over time, as the README shows them.

    .venv/bin/pip install -e '.[plot]'
    .venv/bin/python scripts/plot_patient.py --scenario sepsis-slow --seed 3 --out docs/sepsis-slow.png

Manual sets are large dots, wearable readings small grey points; the background shades the
NEWS2 bands of each parameter (SPEC §1.1) the way the RCP observation chart colours them.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from scoring import load_charts
from simulators import SimConfig, simulate
from tests.sim_helpers import patients

# (label, key, NEWS2 bands as (low, high, points)) — SPEC §1.1, Scale 1.
PANELS = [
    (
        "Resp rate /min",
        "resp_rate",
        [(0, 8.5, 3), (8.5, 11.5, 1), (11.5, 20.5, 0), (20.5, 24.5, 2), (24.5, 45, 3)],
    ),
    ("SpO2 %", "spo2", [(70, 91.5, 3), (91.5, 93.5, 2), (93.5, 95.5, 1), (95.5, 101, 0)]),
    (
        "Systolic BP mmHg",
        "systolic_bp",
        [(40, 90.5, 3), (90.5, 100.5, 2), (100.5, 110.5, 1), (110.5, 219.5, 0), (219.5, 240, 3)],
    ),
    (
        "Pulse /min",
        "heart_rate",
        [
            (30, 40.5, 3),
            (40.5, 50.5, 1),
            (50.5, 90.5, 0),
            (90.5, 110.5, 1),
            (110.5, 130.5, 2),
            (130.5, 170, 3),
        ],
    ),
    (
        "Temperature °C",
        "temperature",
        [(34, 35.05, 3), (35.05, 36.05, 1), (36.05, 38.05, 0), (38.05, 39.05, 1), (39.05, 41, 2)],
    ),
]
SHADE = {0: "#ffffff", 1: "#fff3b0", 2: "#ffd27f", 3: "#ff9b8a"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="sepsis-slow")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--hours", type=float, default=36)
    parser.add_argument("--out", type=Path, default=Path("docs/sepsis-slow.png"))
    args = parser.parse_args()
    charts = load_charts()
    config = SimConfig(
        beds=1,
        hours=args.hours,
        seed=args.seed,
        scenario=args.scenario,
        mode="continuous",
        ward_kinds=("medical",),
        occupancy=1.0,
    )
    found = patients(list(simulate(config, charts)), charts)
    patient = next(iter(found.values()))
    fig, axes = plt.subplots(len(PANELS) + 1, 1, figsize=(11, 13), sharex=True)
    manual = patient.manual
    device = [o for o, _ in patient.obs if o.source != "manual"]
    for ax, (label, key, bands) in zip(axes, PANELS, strict=False):
        for low, high, points in bands:
            ax.axhspan(low, high, color=SHADE[points], zorder=0)
        xs = [o.time for o in device if getattr(o.vitals, key) is not None]
        ax.scatter(
            xs,
            [getattr(o.vitals, key) for o in device if getattr(o.vitals, key) is not None],
            s=2,
            color="#888888",
            zorder=1,
            label="wearable",
        )
        xs = [o.time for o, _ in manual if getattr(o.vitals, key) is not None]
        ys = [getattr(o.vitals, key) for o, _ in manual if getattr(o.vitals, key) is not None]
        ax.plot(xs, ys, "o-", color="#1f3b73", markersize=5, zorder=2, label="nurse")
        if key == "systolic_bp":
            dias = [(o.time, o.vitals.diastolic_bp) for o, _ in manual if o.vitals.diastolic_bp]
            ax.plot(
                [t for t, _ in dias], [d for _, d in dias], "v--", color="#1f3b73", markersize=4
            )
        ax.set_ylabel(label)
        ax.set_ylim(min(b[0] for b in bands), max(b[1] for b in bands))
    score_ax = axes[-1]
    score_ax.step(
        [o.time for o, _ in manual], [r.total for _, r in manual], where="post", color="#b00020"
    )
    score_ax.plot([o.time for o, _ in manual], [r.total for _, r in manual], "o", color="#b00020")
    for o, _ in manual:
        if o.vitals.consciousness not in (None, "A"):
            score_ax.annotate(o.vitals.consciousness, (o.time, 0.5), ha="center", fontsize=8)
    score_ax.axhspan(5, 6.5, color=SHADE[2], zorder=0)
    score_ax.axhspan(6.5, 20, color=SHADE[3], zorder=0)
    score_ax.set_ylabel("NEWS2 (ACVPU≠A noted)")
    score_ax.set_ylim(0, max(12, max(r.total for _, r in manual) + 1))
    for when, event in patient.outcomes:
        moment = datetime.fromtimestamp(when, UTC)
        for ax in axes:
            ax.axvline(moment, color="black", linestyle=":", linewidth=1)
        axes[0].annotate(event, (moment, 44), rotation=90, va="top", ha="right", fontsize=8)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Simulated patient {patient.patient_id}: {patient.scenario} (seed {args.seed})")
    fig.autofmt_xdate()
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
