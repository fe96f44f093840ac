"""`surveillance spc` (CONTRACT §10): a series as JSON lines in, the XmR chart out, one line per
point and a summary line. The chart is `surveillance.spc`'s; this module reads and writes."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import msgspec

from surveillance.spc import MIN_FIX_AFTER, Chart, Improvement, Point, SpcError, xmr_chart


def add_spc(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `spc` subcommand."""
    p = commands.add_parser(
        "spc",
        help="statistical process control: an XmR chart of a series given as JSON lines",
        description=(
            'Read JSON lines {"x": "<label>", "y": <number>} in time order from FILE (or '
            "standard input) and write the XmR chart as NHS England's Making Data Count defines "
            "it, with the rules exactly as the NHS-R NHSRplotthedots package applies them: one "
            "JSON line per point (mean, process limits at mean +/- 2.66 x the mean moving range, "
            "outside_limits, relative_to_mean, close_to_limits, the special-cause rule and the "
            "point type), then one summary line (variation: the last point's type; assurance "
            "against --target). Rules in priority order: outside-limits, trend (7 rising or "
            "falling; a tie breaks it), two-in-three (2 of 3 beyond 2/3 of the way to a limit, "
            "all 3 on one side), shift (7 on one side; a point on the mean breaks it). Blank "
            "lines are passed over. Any bad line, fewer than 2 points, a repeated x or a --rebase "
            "label that is not an x: an error on standard error naming the line, nothing on "
            "standard output, exit status 1. Exit status 2 on a usage error or an unreadable "
            "FILE. A limit group of fewer than 12 points has trial limits: a warning on standard "
            "error, exit status 0."
        ),
    )
    p.add_argument("file", nargs="?", type=Path, help="JSON lines file (default: standard input)")
    p.add_argument(
        "--improvement",
        choices=("increase", "decrease", "neutral"),
        default="neutral",
        help="which direction is better (default neutral: special causes are high or low)",
    )
    p.add_argument(
        "--target", type=_finite, metavar="Y", help="a target, for the assurance in the summary"
    )
    p.add_argument(
        "--rebase",
        action="append",
        default=[],
        metavar="X",
        help="a new limit group starts at the point labelled X (repeatable)",
    )
    p.add_argument(
        "--fix-after",
        type=_fix_after,
        metavar="N",
        help=f"limits from the first N points of each group (N >= {MIN_FIX_AFTER})",
    )
    p.add_argument(
        "--no-screen-outliers",
        dest="screen_outliers",
        action="store_false",
        help=(
            "keep moving ranges at or above 3.267 x the mean moving range in the limits, as the "
            "Making Data Count Excel tool does (default: screen them out, as NHSRplotthedots does)"
        ),
    )
    p.set_defaults(run=_spc)


def _spc(args: argparse.Namespace) -> int:
    try:
        stream = sys.stdin.buffer if args.file is None else args.file.open("rb")
    except OSError as exc:
        print(f"surveillance spc: {exc}", file=sys.stderr)
        return 2
    with stream:
        return run_spc(
            stream,
            sys.stdout.buffer,
            sys.stderr,
            improvement=args.improvement,
            target=args.target,
            rebase=args.rebase,
            fix_after=args.fix_after,
            screen_outliers=args.screen_outliers,
        )


class _Line(msgspec.Struct, forbid_unknown_fields=False):
    x: str
    y: float


@dataclass(frozen=True, slots=True)
class _Summary:
    variation: str
    assurance: str | None


class _SummaryLine(msgspec.Struct):
    summary: _Summary


def run_spc(
    lines: Iterable[bytes],
    out: BinaryIO,
    err: TextIO,
    *,
    improvement: Improvement = "neutral",
    target: float | None = None,
    rebase: list[str] | None = None,
    fix_after: int | None = None,
    screen_outliers: bool = True,
) -> int:
    """Read the series, write the chart; returns the exit status (0, or 1 on bad input)."""
    series: list[Point] = []
    numbers: list[int] = []  # the input line number of each point
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            decoded = _decoder.decode(line)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            err.write(f"surveillance spc: line {number}: invalid: {exc}\n")
            bad += 1
            continue
        if not math.isfinite(decoded.y):
            err.write(f"surveillance spc: line {number}: invalid: `$.y` is not a finite number\n")
            bad += 1
            continue
        series.append(Point(decoded.x, decoded.y))
        numbers.append(number)
    if bad:
        err.write(f"surveillance spc: {bad} bad line(s); no chart\n")
        return 1
    problem = _series_problem(series, numbers)
    if problem is not None:
        err.write(f"surveillance spc: {problem}\n")
        return 1
    try:
        chart = xmr_chart(
            series,
            improvement=improvement,
            target=target,
            rebase=rebase or [],
            fix_after=fix_after,
            screen_outliers=screen_outliers,
        )
    except SpcError as exc:
        err.write(f"surveillance spc: {exc}\n")
        return 1
    write_chart(chart, out)
    for group in chart.groups:
        if group.trial:
            err.write(
                f"surveillance spc: warning: the limit group starting at {group.first_x!r} has "
                f"{group.points} point(s), fewer than 12: its limits are trial limits\n"
            )
    return 0


def write_chart(chart: Chart, out: BinaryIO) -> None:
    """The chart as CONTRACT §10 JSON lines: the points, then the summary."""
    for point in chart.points:
        out.write(_encoder.encode(point) + b"\n")  # its fields are CONTRACT §10's, in order
    summary = _SummaryLine(_Summary(variation=chart.variation, assurance=chart.assurance))
    out.write(_encoder.encode(summary) + b"\n")


def _series_problem(series: list[Point], numbers: list[int]) -> str | None:
    """Errors that name an input line: too few points, a repeated label."""
    if len(series) < 2:
        return f"{len(series)} point(s) read: a chart needs at least 2"
    first: dict[str, int] = {}
    for point, number in zip(series, numbers, strict=True):
        if point.x in first:
            return (
                f"line {number}: x {point.x!r} repeats line {first[point.x]}; "
                "each point needs its own label"
            )
        first[point.x] = number
    return None


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _fix_after(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < MIN_FIX_AFTER:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_FIX_AFTER} (NHSRplotthedots' minimum): {value}"
        )
    return value


_decoder = msgspec.json.Decoder(_Line)
_encoder = msgspec.json.Encoder()
