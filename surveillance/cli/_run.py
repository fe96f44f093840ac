"""`surveillance run` (CONTRACT §7): the live service against an external broker and database."""

from __future__ import annotations

import argparse
import asyncio
from typing import Literal

from surveillance._runtime import run_service
from surveillance.cli._options import add_settings_options, load


def add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `run` subcommand."""
    run = commands.add_parser(
        "run",
        help="run the service against an external broker and database",
        description=(
            "Consume the input topics of CONTRACT §1 from the broker, score, publish scores, alerts "
            "and dead letters, keep everything in the store, and serve the wallboard (CONTRACT §8). "
            "Settings come from --config (see config/*.toml); the flags override the file. "
            "Stops cleanly on Ctrl-C or SIGTERM: the batch in hand is finished and every record "
            "flushed. Exit status 2 on a settings or chart-file error."
        ),
    )
    add_settings_options(run)
    run.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    loaded = load(args, "run")
    if loaded is None:
        return 2
    without_login: Literal["none"] | None = "none" if args.auth == "none" else None
    return asyncio.run(run_service(*loaded, without_login=without_login))
