"""`surveillance mllp`: HL7 v2 over MLLP from a PAS or a device gateway, into the broker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from pathlib import Path

from surveillance._mllp import run_mllp
from surveillance._runtime import setup_logging, stop_on_signals
from surveillance._settings import Settings, SettingsError, load_settings

log = logging.getLogger("surveillance")


def add_mllp(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `mllp` subcommand."""
    mllp = commands.add_parser(
        "mllp",
        help="listen for HL7 v2 over MLLP (ADT from a PAS, ORU^R01 from monitors)",
        description=(
            "Accept HL7 v2 messages framed by MLLP and answer each with an HL7 ACK: ADT "
            "A01/A02/A03/A04/A08/A11/A12/A13 become the patient context of CONTRACT §2 on the "
            "bed's adt topic, ORU^R01 goes to the bed's hl7v2 topic; the ward and bed come from "
            "PV1-3 through the [[mllp.locations]] map. AA once the broker has the message; AR "
            "(dead-lettered) when it cannot be taken; AE when the broker cannot be reached "
            "(send it again). Same settings file as `run` ([broker], [scorer] timezone and "
            "max_skew, [mllp]). Stops on Ctrl-C or SIGTERM. Exit status 2 on a settings error."
        ),
    )
    mllp.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    mllp.add_argument(
        "--broker", metavar="URL", help="broker URL, mqtt://[user[:password]@]host[:port]"
    )
    mllp.add_argument("--port", type=int, metavar="PORT", help="MLLP port (mllp.port)")
    mllp.set_defaults(run=_mllp)


def _mllp(args: argparse.Namespace) -> int:
    overrides = {
        key: value
        for key, value in (("broker.url", args.broker), ("mllp.port", args.port))
        if value is not None
    }
    try:
        settings = load_settings(args.config, overrides)
    except SettingsError as exc:
        print(f"surveillance mllp: {exc}", file=sys.stderr)
        return 2
    if not settings.mllp.locations:
        print(
            "surveillance mllp: [[mllp.locations]] is empty: no PV1-3 could be placed in a "
            "ward and bed (see config/service.toml)",
            file=sys.stderr,
        )
        return 2
    setup_logging(settings.log_level)
    log.info("starting the MLLP listener: %s", settings.describe())
    try:
        return asyncio.run(_run(settings))
    except (OSError, sqlite3.Error) as exc:  # its journal, or its port
        print(f"surveillance mllp: cannot start: {exc}", file=sys.stderr)
        return 1


async def _run(settings: Settings) -> int:
    return await run_mllp(settings, stop_on_signals())
