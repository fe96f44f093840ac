"""The dashboard's small-number suppression on a month of a hospital of many small wards.

Builds, for each ward count, one month of random patients on small wards (--admissions a ward
a month), each with equity groups in rough national proportions (some with two recorded needs,
as real ones have, so `needs` groups can add up to more than the ward's total) and with counts
for every measure of `MEASURES`: nurses' sets due, on time, late and missed; score alerts and
their acknowledgement; sepsis and AKI prompts; alerts of each kind; harms; admissions and
patient-days. Then runs `Suppression` on the tables `_suppress` builds from those (every family
of measures, every equity dimension, every ward: `compute_dashboard`'s suppression of one call;
`equity_tables` builds them as `_suppress` does, which is private), and prints per ward count the cells, the primary ones (1-7), the time and the share of cells hidden
(of the cells that may be hidden: not the scopes' totals), for the current algorithm and, up to
--old-up-to wards, for the one it replaced (`tests/surveillance/dashboard/suppress_reference`).
Each run of a ward count is checked: every primary cell is hidden, and the old and new hidden
sets are both compared by the current `recoverable` (no primary cell recoverable).

Times: the new one's best of --repeat runs (each from a cold cache: cells renamed), wall clock and CPU (on a
busy machine the CPU time is the steadier figure).

Usage: bench/dashboard_suppress [--wards 4 15 30 60] [--old-up-to 15] [--repeat 3] [--seed 1]
       [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from surveillance.dashboard import (
    ALL,
    DIMENSIONS,
    HOSPITAL,
    MEASURES,
    Measure,
    Suppression,
    recoverable,
)
from tests.surveillance.dashboard import suppress_reference

_SHARES: dict[str, dict[str, float]] = {
    "sex": {"male": 49, "female": 49, "indeterminate": 0.3, "not known": 1.7},
    "ethnicity": {
        "White": 80, "Mixed": 2, "Asian": 8, "Black": 4, "Other": 2, "not stated": 2,
        "not known": 2,
    },
    "age": {
        "0-17": 1, "18-44": 14, "45-64": 20, "65-74": 18, "75-84": 26, "85+": 19,
        "not known": 2,
    },
    "imd": {
        "Q1 (most deprived)": 22, "Q2": 21, "Q3": 20, "Q4": 18, "Q5 (least deprived)": 16,
        "not known": 3,
    },
}  # fmt: skip
_NEEDS = {
    "learning-disability": 0.02,
    "autism": 0.02,
    "physical-disability": 0.04,
    "mental-health": 0.06,
    "dementia": 0.12,
}
_ALERT_RATE = {  # alerts a patient-day, by kind
    "score": 0.25,
    "overdue": 0.15,
    "feed": 0.05,
    "sepsis": 0.01,
    "aki": 0.01,
    "learned-risk": 0.03,
}
_HARM_CHANCE = {  # a stay (admissions) or a patient-day (bed-days)
    "cardiac_arrest": 0.004,
    "icu_admission": 0.01,
    "death": 0.015,
    "fall": 0.006,
    "pressure_ulcer": 0.003,
}


@dataclass(slots=True)
class Sum:
    """A cell's numerator and denominator (what `_suppress` reads of the dashboard's sums)."""

    numerator: float = 0.0
    denominator: float = 0.0


@dataclass(slots=True)
class Patient:
    groups: dict[str, tuple[str, ...]]
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)


def _poisson(rng: random.Random, mean: float) -> int:
    n, t = 0, rng.expovariate(1.0)
    while t < mean:
        n += 1
        t += rng.expovariate(1.0)
    return n


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _counts(rng: random.Random, days: float) -> dict[str, tuple[float, float]]:
    """Each measure's (numerator, denominator) for one stay of `days` patient-days."""
    due = round(days * rng.choice([2, 2, 6]))
    late_share = rng.choice([0.05, 0.1, 0.15, 0.25])
    on_time = late = missed = 0
    for _ in range(due):
        roll = rng.random()
        if roll < 1 - late_share - 0.06:
            on_time += 1
        elif roll < 1 - 0.06:
            late += 1
        else:
            missed += 1
    waits = _poisson(rng, _ALERT_RATE["score"] * days)
    acked = _binomial(rng, waits, 0.9)
    urgent = _binomial(rng, waits, 0.5)
    sepsis = _poisson(rng, _ALERT_RATE["sepsis"] * days)
    aki = _poisson(rng, _ALERT_RATE["aki"] * days)
    out: dict[str, tuple[float, float]] = {
        "obs_on_time": (on_time, due),
        "obs_late": (late, due),
        "obs_missed": (missed, due),
        "ack_minutes": (acked, waits),
        "escalation_ack_in_target": (_binomial(rng, urgent, 0.8), urgent),
        "sepsis_treated_1h": (_binomial(rng, sepsis, 0.7), sepsis),
        "aki_acknowledged": (_binomial(rng, aki, 0.8), aki),
    }
    for kind, rate in _ALERT_RATE.items():
        out[f"alerts_{kind.replace('-', '_')}_per_100_patient_days"] = (
            _poisson(rng, rate * days),
            days,
        )
    for harm, chance in _HARM_CHANCE.items():
        if harm in ("fall", "pressure_ulcer"):
            out[f"{harm}_per_1000_bed_days"] = (_poisson(rng, chance * days), days)
        else:
            out[f"{harm}_per_1000_admissions"] = (float(rng.random() < chance), 1.0)
    return out


def month(wards: Sequence[str], admissions: tuple[int, int], seed: int) -> dict[str, list[Patient]]:
    """Each ward's patients of one month."""
    rng = random.Random(seed)  # noqa: S311 (bench data)
    out: dict[str, list[Patient]] = {}
    for ward in wards:
        patients = []
        for _ in range(rng.randint(*admissions)):
            groups: dict[str, tuple[str, ...]] = {
                dim: (rng.choices(list(shares), weights=list(shares.values()))[0],)
                for dim, shares in _SHARES.items()
            }
            needs = tuple(n for n, p in _NEEDS.items() if rng.random() < p)
            groups["needs"] = needs or ("none recorded",)
            patient = Patient(groups)
            patient.counts = _counts(rng, rng.uniform(0.5, 9.0))
            patients.append(patient)
        out[ward] = patients
    return out


def tables(patients: dict[str, list[Patient]]) -> dict[str, dict[str, dict[tuple[str, str], Sum]]]:
    """`_suppress`'s input: measure -> scope -> (dimension, group) or (ALL, ALL) -> sums."""
    out: dict[str, dict[str, dict[tuple[str, str], Sum]]] = {}
    for m in MEASURES:
        by_scope: dict[str, dict[tuple[str, str], Sum]] = {}
        for scope in [*patients, HOSPITAL]:
            cells = {(ALL, ALL): Sum()}
            for dim, groups in DIMENSIONS.items():
                for g in groups:
                    cells[dim, g] = Sum()
            by_scope[scope] = cells
        for ward, people in patients.items():
            for p in people:
                num, den = p.counts[m.id]
                for scope in (ward, HOSPITAL):
                    cells = by_scope[scope]
                    keys = [(ALL, ALL), *((d, g) for d, gs in p.groups.items() for g in gs)]
                    for key in keys:
                        cells[key].numerator += num
                        cells[key].denominator += den
        out[m.id] = by_scope
    return out


def families() -> list[list[Measure]]:
    grouped: dict[str, list[Measure]] = {}
    for m in MEASURES:
        grouped.setdefault(m.family or m.id, []).append(m)
    return list(grouped.values())


Call = tuple[dict[Any, float], list[Any], list[Any]]


def equity_tables(
    family: Sequence[Measure],
    data: dict[str, dict[str, dict[tuple[str, str], Sum]]],
    wards: list[str],
) -> list[Call]:
    """The `Suppression` inputs `_suppress` (surveillance/dashboard/_dashboard.py, private)
    builds for a family, dimension by dimension: the same keys, relations and cells always
    shown."""
    out: list[Call] = []
    scopes = [*wards, HOSPITAL]
    for dimension, groups in DIMENSIONS.items():
        values: dict[Any, float] = {}
        for m in family:
            for s in scopes:
                for g in (*groups, ALL):
                    cell = data[m.id][s][(ALL, ALL) if g == ALL else (dimension, g)]
                    values[m.id, s, dimension, g] = cell.numerator
                    values["den", s, dimension, g] = cell.denominator
        names = [*(m.id for m in family), "den"]
        relations: list[Any] = []
        for name in names:
            for s in scopes:
                relations.append(
                    ((name, s, dimension, ALL), [(name, s, dimension, g) for g in groups])
                )
            for g in (*groups, ALL):
                relations.append(
                    ((name, HOSPITAL, dimension, g), [(name, w, dimension, g) for w in wards])
                )
        if len(family) > 1:
            for s in scopes:
                for g in (*groups, ALL):
                    relations.append(
                        (("den", s, dimension, g), [(m.id, s, dimension, g) for m in family])
                    )
        out.append((values, relations, [k for k in values if k[3] == ALL]))
    return out


def run(
    suppression: type[Any], calls: list[Call], tag: str = ""
) -> tuple[
    tuple[float, float], list[tuple[dict[Any, float], list[Any], frozenset[Any], frozenset[Any]]]
]:
    """`suppression` on every table of a dashboard call: its time (wall clock and CPU) and the
    inputs with the hidden cells. `tag` renames every cell (a run no cache has seen)."""
    renamed = [
        (
            {(tag, *k): v for k, v in values.items()},
            [((tag, *t), [(tag, *p) for p in parts]) for t, parts in relations],
            [(tag, *k) for k in always],
        )
        for values, relations, always in calls
    ]
    start, cpu = time.perf_counter(), time.process_time()
    hidden = [suppression(*call).hidden for call in renamed]
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, [
        (values, relations, frozenset(always), frozenset(k[1:] for k in h))
        for (values, relations, always), h in zip(calls, hidden, strict=True)
    ]


def summary(
    calls: list[Any], elapsed: tuple[float, float], check: Callable[..., set[Any]]
) -> dict[str, Any]:
    cells = primary = hidden = exposed = 0
    for values, relations, always, shown_hidden in calls:
        cells += len(values) - len(always)
        small = {k for k, v in values.items() if 0 < v < 8} - always
        primary += len(small)
        hidden += len(shown_hidden)
        assert small <= shown_hidden
        exposed += len(check(values, shown_hidden, relations) & small)
    return {
        "seconds": round(elapsed[0], 3),
        "cpu_seconds": round(elapsed[1], 3),
        "cells": cells,
        "primary": primary,
        "hidden": hidden,
        "share_hidden": round(hidden / cells, 4),
        "primary_recoverable": exposed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=int, nargs="+", default=[4, 15, 30, 60])
    parser.add_argument("--old-up-to", type=int, default=15, help="run the old one up to this")
    parser.add_argument("--admissions", type=int, nargs=2, default=[40, 130])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the new one (best kept)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n in args.wards:
        wards = [f"W{i:02d}" for i in range(n)]
        data = tables(month(wards, tuple(args.admissions), args.seed + n))
        calls = [call for family in families() for call in equity_tables(family, data, wards)]
        runs = [run(Suppression, calls, f"run {i}") for i in range(args.repeat)]
        best = (min(t[0] for t, _ in runs), min(t[1] for t, _ in runs))
        row: dict[str, Any] = {"wards": n, "new": summary(runs[0][1], best, recoverable)}
        if n <= args.old_up_to:
            elapsed, done = run(suppress_reference.Suppression, calls)
            row["old"] = summary(done, elapsed, recoverable)
        rows.append(row)
        if not args.json:
            for name in ("old", "new"):
                if name in row:
                    r = row[name]
                    print(
                        f"{n:3d} wards {name}: {r['seconds']:8.3f} s "
                        f"({r['cpu_seconds']:.3f} s CPU)  cells {r['cells']:6d}  "
                        f"primary {r['primary']:5d} ({r['primary'] / r['cells']:.1%})  hidden "
                        f"{r['hidden']:6d} ({r['share_hidden']:.1%})  primary recoverable "
                        f"{r['primary_recoverable']}",
                        flush=True,
                    )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(r[k]["primary_recoverable"] == 0 for r in rows for k in ("new",)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
