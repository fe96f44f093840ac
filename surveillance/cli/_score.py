"""`surveillance score` (CONTRACT §7): observation sets as JSON lines in, score results out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring import ChartError, load_charts
from surveillance._score_lines import score_lines


def add_score(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `score` subcommand."""
    score = commands.add_parser(
        "score",
        help="score observation sets given as JSON lines",
        description=(
            "Score JSON lines from FILE (or standard input). Each line is an observation set "
            "(CONTRACT §3) with a `context` object (the patient context of CONTRACT §2; "
            "`context.chart` forces a chart id). Writes one score result (CONTRACT §4) per good "
            "line to standard output, in order, and one error per bad line, with its line "
            "number, to standard error. Exit status: 0 when every line scored, 1 when any line "
            "was refused, 2 on a usage or chart-file error."
        ),
    )
    score.add_argument(
        "file", nargs="?", type=Path, help="JSON lines file (default: standard input)"
    )
    score.add_argument(
        "--charts",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="extra chart file or folder of chart files (repeatable); replaces shipped charts of the same id",
    )
    score.set_defaults(run=_score)


def _score(args: argparse.Namespace) -> int:
    try:
        charts = load_charts(args.charts)
    except (ChartError, OSError) as exc:
        print(f"surveillance score: {exc}", file=sys.stderr)
        return 2
    try:
        stream = sys.stdin.buffer if args.file is None else args.file.open("rb")
    except OSError as exc:
        print(f"surveillance score: {exc}", file=sys.stderr)
        return 2
    with stream:
        bad = score_lines(stream, charts, sys.stdout.buffer, sys.stderr)
    if bad:
        print(f"surveillance score: {bad} line(s) refused", file=sys.stderr)
    return 1 if bad else 0
