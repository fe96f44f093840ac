"""`surveillance train`: recordings in, a learned risk model file out (issue 15).

Training replays each recording exactly as `surveillance evaluate` does (the service's scorer
in event time, the model called on its results and told the outcomes and discharges) and the
model learns with delayed labels exactly as in production: a label is learned only once the
outcome happens or the horizon has passed. Recordings are taken in the order given (one pass:
no epochs, so no label is seen twice and nothing is learned out of time order within a
recording).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ingest import EVENT_KINDS
from scoring import ChartError, load_charts
from simulators import Message, RecordingError, count_messages, read_meta
from surveillance.evaluation import DEFAULT_OUTCOME, replay
from surveillance.risk import Hyper, ModelError, RiverRisk, load_model


def add_train(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `train` subcommand."""
    p = commands.add_parser(
        "train",
        help="train the learned risk model on recordings",
        description=(
            "Replay recordings (surveillance simulate --record) through the scorer the service "
            "runs, as surveillance evaluate does, and let the learned risk learn from them with "
            "delayed labels exactly as in production (the composite outcome within the horizon; "
            "a label is learned once the outcome starts or the horizon has passed). One pass, "
            "recordings in the order given. Writes a model file (gzip JSON, not a pickle) that "
            "names river's version, the features and what it was trained on. Exit status 2 on a "
            "bad option, an unreadable recording or a model that cannot load."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recordings (.jsonl[.gz])")
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help="model file to write")
    p.add_argument(
        "--start-from",
        type=Path,
        metavar="PATH",
        help="carry on training this model file (default: a new model)",
    )
    p.add_argument(
        "--horizon",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="the outcome within this many hours is a positive (default 24)",
    )
    p.add_argument(
        "--outcome",
        default=",".join(DEFAULT_OUTCOME),
        metavar="LIST",
        help="comma list of CONTRACT §9 events making up the outcome (default %(default)s)",
    )
    p.add_argument(
        "--note",
        default="",
        metavar="TEXT",
        help="what the recordings are (kept in the model file's trained_on)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> int:
    outcome = [k.strip() for k in args.outcome.split(",") if k.strip()]
    unknown = sorted(set(outcome) - set(EVENT_KINDS))
    if not outcome or unknown:
        print(f"surveillance train: --outcome: unknown events {unknown}", file=sys.stderr)
        return 2
    if not args.horizon > 0:
        print("surveillance train: --horizon must be > 0 hours", file=sys.stderr)
        return 2
    try:
        if args.start_from is not None:
            model = load_model(args.start_from)
            if model.horizon_hours != args.horizon:
                print(
                    f"surveillance train: {args.start_from} predicts within "
                    f"{model.horizon_hours:g} h, not --horizon {args.horizon:g}",
                    file=sys.stderr,
                )
                return 2
        else:
            model = RiverRisk(Hyper(horizon_hours=args.horizon))
        charts = load_charts()
        totals = {path: count_messages(path) for path in args.files}
        metas = [read_meta(path) for path in args.files]

        def progress(messages: Iterable[Message], path: Path) -> Iterable[Message]:
            return tqdm(
                messages,
                total=totals[path],
                desc=path.name,
                unit=" msg",
                disable=True if args.no_progress else None,
                file=sys.stderr,
            )

        replayed = replay(args.files, charts, outcome, progress=progress, model=model)
    except (ChartError, ModelError, OSError, RecordingError) as exc:
        print(f"surveillance train: {exc}", file=sys.stderr)
        return 2
    adults = {s.patient for s in replayed.scored if s.system == "NEWS2"}
    trained: dict[str, Any] = {
        "recordings": [
            {
                "name": path.name,
                **{k: meta.get(k) for k in ("seed", "hours", "mode", "wards", "beds", "start")},
            }
            for path, meta in zip(args.files, metas, strict=True)
        ],
        "adult_patients": len(adults),
        "adult_patient_days": round(sum(replayed.days.get(p, 0.0) for p in adults), 1),
        "adult_events": sum(1 for p in adults if p in replayed.onsets),
        "outcome": outcome,
        "horizon_hours": args.horizon,
        "passes": 1,
        "date": datetime.now(UTC).date().isoformat(),
        "note": args.note,
    }
    if args.start_from is not None:
        trained["continued_from"] = model.trained_on
    model.trained_on = trained
    try:
        model.save(args.out)
    except OSError as exc:
        print(f"surveillance train: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    learned = model.describe()["learned"]
    print(
        f"trained on {len(args.files)} recording(s): {trained['adult_patient_days']} adult "
        f"patient-days, {trained['adult_events']} events; learned {learned['positives']} "
        f"positive and {learned['negatives']} negative labels; wrote {args.out}",
        file=sys.stderr,
    )
    return 0
