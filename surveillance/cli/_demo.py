"""`surveillance demo` (CONTRACT §7): everything in one process, nothing external needed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from scoring import ChartError, load_charts
from simulators import SimConfig
from surveillance._demo import run_demo
from surveillance._runtime import setup_logging


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `demo` subcommand."""
    demo = commands.add_parser(
        "demo",
        help="everything in one process: broker, simulated wards, scorer, store, wallboard",
        description=(
            "Start an in-process MQTT broker, the service with a SQLite store and the wallboard, "
            "then stream simulated wards into it: the last --history hours as fast as they go, "
            "then live, in real time (or --speed times faster). Prints the URL to open. Nothing "
            "external is needed. Ctrl-C stops it."
        ),
    )
    demo.add_argument(
        "--wards",
        type=int,
        default=4,
        help="wards: medical, surgical, children's, maternity (default 4)",
    )
    demo.add_argument("--beds", type=int, default=12, help="beds per ward (default 12)")
    demo.add_argument("--history", type=float, default=6.0, help="hours already passed (default 6)")
    demo.add_argument("--hours", type=float, default=24.0, help="hours to run live (default 24)")
    demo.add_argument(
        "--speed", type=float, default=1.0, help="live speed, × real time (default 1)"
    )
    demo.add_argument("--seed", type=int, default=None, help="simulation seed (default: random)")
    demo.add_argument(
        "--http",
        type=int,
        default=8000,
        metavar="PORT",
        help="wallboard port (default 8000; 0: any free port)",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help="store URL (default: a new SQLite file in a temporary folder)",
    )
    demo.add_argument("--charts", action="append", type=Path, default=[], metavar="PATH")
    demo.add_argument(
        "--no-responders",
        action="store_true",
        help="no simulated staff answering alerts (every alert then climbs its ladder)",
    )
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    try:
        charts = load_charts(args.charts)
        config = SimConfig(
            wards=args.wards,
            beds=args.beds,
            hours=args.history + args.hours,
            start=int(time.time() - args.history * 3600),
            seed=args.seed if args.seed is not None else int(time.time()),
            fhir_share=0.2,
            hl7_share=0.2,
        )
    except (ChartError, OSError, ValueError) as exc:
        print(f"surveillance demo: {exc}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("surveillance demo: --speed must be more than 0", file=sys.stderr)
        return 2
    setup_logging("INFO")
    for chatty in ("amqtt", "transitions"):  # the in-process broker logs every state change
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return asyncio.run(
        run_demo(
            charts,
            config,
            store_url=args.store,
            http_port=args.http,
            speed=args.speed,
            responders=not args.no_responders,
        )
    )
