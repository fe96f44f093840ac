"""`surveillance evaluate` (CONTRACT §11): recordings in, how well the chart scores predicted
their outcomes out, as a table or one JSON object. The replay and the figures are
`surveillance.evaluation`'s."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from ingest import EVENT_KINDS
from scoring import ChartError, load_charts
from simulators import Message, RecordingError, count_messages
from surveillance.evaluation import DEFAULT_OUTCOME, SYSTEMS, evaluate, replay

PUBLISHED = {
    "auroc": "0.75-0.90 (Smith 2013, Edelson 2024)",
    "events_per_100_patient_days": "0.2-2 (Pankhurst 2022)",
    "alerts_per_100_patient_days": "37.6 (Pankhurst 2022)",
    "sensitivity": "0.46 (Pankhurst 2022)",
    "nne": "52 alerts per event (Pankhurst 2022)",
}


def add_evaluate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `evaluate` subcommand."""
    p = commands.add_parser(
        "evaluate",
        help="judge the chart scores against the outcomes in recordings",
        description=(
            "Replay recordings (surveillance simulate --record) offline, in event time, through "
            "the scorer the service runs, and report how well NEWS2 (adults), PEWS (children) "
            "and the maternity chart predicted the composite outcome (CONTRACT §9 events, or "
            "the recording's simulation/truth when it has none) within the horizon: AUROC, "
            "AUPRC, and at NEWS2 >= 5 (PEWS and the maternity chart: their call for a response "
            "beyond the bedside nurse) alerts per 100 patient-days (an alert is an episode: a "
            "run of consecutive observations at or above the threshold), sensitivity, PPV, "
            "number needed to evaluate and median lead time; then the same by sex, ethnicity "
            "group, age band and IMD quintile, counts 1-7 shown as '*'. Observations at or "
            "after the outcome's start, and those under a ceiling of care (an escalation plan "
            "with a ceiling), are left out. Nurses' sets only unless "
            "--include-devices. The learned risk model is not built yet: the JSON's `model` is "
            "null. Exit status 2 on a bad option or an unreadable recording."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recordings (.jsonl[.gz])")
    p.add_argument(
        "--horizon",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="an observation is positive when the outcome starts within this many hours after it (default 24)",
    )
    p.add_argument(
        "--outcome",
        default=",".join(DEFAULT_OUTCOME),
        metavar="LIST",
        help="comma list of CONTRACT §9 events making up the outcome (default %(default)s)",
    )
    p.add_argument(
        "--include-devices",
        action="store_true",
        help="also judge the scored snapshots of monitors and wearables (default: nurses' sets)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    outcome = [k.strip() for k in args.outcome.split(",") if k.strip()]
    unknown = sorted(set(outcome) - set(EVENT_KINDS))
    if not outcome or unknown:
        print(
            f"surveillance evaluate: --outcome: unknown events {unknown} (known: {sorted(EVENT_KINDS)})",
            file=sys.stderr,
        )
        return 2
    if not args.horizon > 0:
        print("surveillance evaluate: --horizon must be > 0 hours", file=sys.stderr)
        return 2
    try:
        charts = load_charts()
        totals = {path: count_messages(path) for path in args.files}

        def progress(messages: Iterable[Message], path: Path) -> Iterable[Message]:
            return tqdm(
                messages,
                total=totals[path],
                desc=path.name,
                unit=" msg",
                disable=True if args.no_progress else None,
                file=sys.stderr,
            )

        replayed = replay(
            args.files,
            charts,
            outcome,
            include_devices=args.include_devices,
            progress=progress,
        )
    except (ChartError, OSError, RecordingError) as exc:
        print(f"surveillance evaluate: {exc}", file=sys.stderr)
        return 2
    result = evaluate(replayed, args.horizon, outcome)
    if args.json:
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    else:
        sys.stdout.write(format_evaluation(result))
    return 0


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_evaluation(result: dict[str, Any]) -> str:
    """The readable table: totals, then each chart's figures beside the published ones, then
    NEWS2 by group."""
    lines = [
        f"Outcome: {', '.join(result['outcome'])} within {result['horizon_hours']:g} h "
        f"(from {', '.join(sorted(set(result['outcome_source'].values())))}); "
        f"observations: {result['observations_used']}",
        f"Observations {result['observations']}, patients {result['patients']}, "
        f"patient-days {result['patient_days']:.1f}, events {result['events']} "
        f"({_cell(result['events_per_100_patient_days'], 2)} per 100 patient-days; "
        f"published {PUBLISHED['events_per_100_patient_days']})",
        "",
    ]
    present = [(key, name) for key, name in SYSTEMS if result.get(key)]
    rows: list[tuple[str, list[Any], str]] = [
        ("observations", [result[k]["observations"] for k, _ in present], ""),
        ("patients", [result[k]["patients"] for k, _ in present], ""),
        ("patient-days", [result[k]["patient_days"] for k, _ in present], ""),
        ("events", [result[k]["events"] for k, _ in present], ""),
        (
            "events /100 patient-days",
            [result[k]["events_per_100_patient_days"] for k, _ in present],
            PUBLISHED["events_per_100_patient_days"],
        ),
        ("AUROC", [result[k]["auroc"] for k, _ in present], PUBLISHED["auroc"]),
        ("AUPRC", [result[k]["auprc"] for k, _ in present], ""),
    ]
    at = [(key, result[key]["at_threshold"]) for key, _ in present]
    rows += [
        ("threshold", [a["threshold"] for _, a in at], ""),
        ("alerts (episodes)", [a["alerts"] for _, a in at], ""),
        (
            "alerts /100 patient-days",
            [a["alerts_per_100_patient_days"] for _, a in at],
            PUBLISHED["alerts_per_100_patient_days"],
        ),
        (
            "observations >= threshold /100 pd",
            [a["alert_observations_per_100_patient_days"] for _, a in at],
            "",
        ),
        ("sensitivity", [a["sensitivity"] for _, a in at], PUBLISHED["sensitivity"]),
        ("PPV", [a["ppv"] for _, a in at], ""),
        ("NNE (1/PPV)", [a["nne"] for _, a in at], PUBLISHED["nne"]),
        ("median lead time (h)", [a["median_lead_time_hours"] for _, a in at], ""),
    ]
    width = max(len(r[0]) for r in rows)
    cols = [max(12, *(len(_cell(r[1][i])) for r in rows)) for i in range(len(present))]
    header = "".join(f"{name:>{w + 2}}" for (_, name), w in zip(present, cols, strict=True))
    lines.append(f"{'':<{width}}{header}   published (NEWS2, real wards)")
    for title, values, published in rows:
        cells = "".join(f"{_cell(v):>{w + 2}}" for v, w in zip(values, cols, strict=True))
        lines.append(f"{title:<{width}}{cells}   {published}".rstrip())
    lines += ["", "NEWS2 by group (counts 1-7 shown as *):"]
    head = ("group", "patients", "events", "obs", "AUROC", "AUPRC", "alerts/100pd", "sens", "PPV")
    lines.append(f"{head[0]:<28}" + "".join(f"{h:>13}" for h in head[1:]))
    for dimension, values in result["by_group"].items():
        for value, block in values.items():
            news2 = block.get("news2")
            if not news2:
                continue
            a = news2["at_threshold"]
            figures = (
                news2["patients"],
                news2["events"],
                news2["observations"],
                news2["auroc"],
                news2["auprc"],
                a["alerts_per_100_patient_days"],
                a["sensitivity"],
                a["ppv"],
            )
            lines.append(
                f"{dimension + ' ' + value:<28}" + "".join(f"{_cell(c):>13}" for c in figures)
            )
    lines += ["", "Model: not built yet (issue 15); only the chart scores are judged.", ""]
    return "\n".join(lines)
