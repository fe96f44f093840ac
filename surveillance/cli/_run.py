"""`surveillance run` (CONTRACT §7): the live service against an external broker and database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Literal

from ingest import parse_broker_url
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
    settings, charts = loaded
    broker = settings.broker
    scorer = parse_broker_url(broker.url).username
    if (
        settings.http.port
        and scorer
        and broker.wallboard_username in (None, "", scorer)  # none, or the scorer's own
    ):
        # On the locked-down broker (use_username_as_clientid) two connections with one user
        # name share one client id: the scorer and its board would cut each other off.
        print(
            "surveillance run: the broker URL names a user, so the wallboard served beside the "
            "scorer needs an identity of its own, not the scorer's: set "
            "broker.wallboard_username (and broker.wallboard_password_env), or http.port = 0",
            file=sys.stderr,
        )
        return 2
    without_login: Literal["none"] | None = "none" if args.auth == "none" else None
    return asyncio.run(run_service(settings, charts, without_login=without_login))
