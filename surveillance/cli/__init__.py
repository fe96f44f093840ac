"""The `surveillance` command line (CONTRACT §7): one module per command, each parsing its
arguments and calling into the composition roots (`surveillance._runtime`, `surveillance._demo`).
"""

from __future__ import annotations

import argparse

from surveillance.cli._broker import add_broker_identities
from surveillance.cli._dashboard import add_dashboard
from surveillance.cli._demo import add_demo
from surveillance.cli._display import add_display
from surveillance.cli._evaluate import add_evaluate
from surveillance.cli._mllp import add_mllp
from surveillance.cli._report import add_report
from surveillance.cli._run import add_run
from surveillance.cli._score import add_score
from surveillance.cli._simulate import add_replay, add_simulate
from surveillance.cli._spc import add_spc
from surveillance.cli._train import add_train
from surveillance.cli._wallboard import add_wallboard

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    status: int = args.run(args)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="surveillance", description="Ward safety surveillance.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_demo(commands)
    add_run(commands)
    add_wallboard(commands)
    add_score(commands)
    add_simulate(commands)
    add_replay(commands)
    add_report(commands)
    add_evaluate(commands)
    add_spc(commands)
    add_dashboard(commands)
    add_train(commands)
    add_display(commands)
    add_broker_identities(commands)
    add_mllp(commands)
    return parser
