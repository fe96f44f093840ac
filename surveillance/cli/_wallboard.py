"""`surveillance wallboard`: a wallboard server on its own (CONTRACT §8)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Literal

from surveillance._runtime import run_wallboard
from surveillance.cli._options import add_settings_options, load


def add_wallboard(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `wallboard` subcommand."""
    board = commands.add_parser(
        "wallboard",
        help="a wallboard server on its own (several may run behind a load balancer)",
        description=(
            "Serve the wallboards and the outreach console (CONTRACT §8) from the broker's "
            "adt, score and alerts topics, without the scorer: run as many as the wards need "
            "behind a load balancer. Acknowledgements go to the scorer over MQTT; the patient "
            "view reads the store. Same settings file as `run` ([broker], [store], [http])."
        ),
    )
    add_settings_options(board)
    board.set_defaults(run=_wallboard)


def _wallboard(args: argparse.Namespace) -> int:
    loaded = load(args, "wallboard")
    if loaded is None:
        return 2
    settings, charts = loaded
    if not settings.http.port:
        print("surveillance wallboard: http.port is 0 (off); give --http PORT", file=sys.stderr)
        return 2
    without_login: Literal["none"] | None = "none" if args.auth == "none" else None
    return asyncio.run(run_wallboard(settings, charts, without_login=without_login))
