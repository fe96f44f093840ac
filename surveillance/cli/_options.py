"""What `surveillance run` and `surveillance wallboard` share: the settings file, its overrides
on the command line, and loading them with the charts."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scoring import ChartError, ChartSet, load_charts
from surveillance._runtime import setup_logging
from surveillance._settings import Settings, SettingsError, load_settings

log = logging.getLogger("surveillance")


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` and the flags that override it."""
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    parser.add_argument(
        "--broker", metavar="URL", help="broker URL, mqtt://[user[:password]@]host[:port]"
    )
    parser.add_argument(
        "--store", metavar="URL", help="store URL, sqlite:///PATH or postgresql://..."
    )
    parser.add_argument("--http", type=int, metavar="PORT", help="wallboard port (0: off)")
    parser.add_argument(
        "--auth",
        choices=["none"],
        help=(
            "none: serve the wallboard WITHOUT LOGIN, for a closed development network only "
            "(a warning on every page and in the log); without it the wallboard requires the "
            "login configured in [auth]"
        ),
    )
    parser.add_argument(
        "--charts",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="extra chart file or folder (repeatable), as for `surveillance score`",
    )


def load(args: argparse.Namespace, command: str) -> tuple[Settings, ChartSet] | None:
    """The settings (file, then flags) and the charts; None after saying why on stderr.

    Sets up logging at the settings' level and logs what it starts with.
    """
    overrides = {
        key: value
        for key, value in (
            ("broker.url", args.broker),
            ("store.url", args.store),
            ("http.port", args.http),
        )
        if value is not None
    }
    try:
        settings = load_settings(args.config, overrides)
        charts = load_charts([*(Path(p) for p in settings.scorer.charts), *args.charts])
    except (SettingsError, ChartError, OSError) as exc:
        print(f"surveillance {command}: {exc}", file=sys.stderr)
        return None
    if settings.http.port and settings.auth is None and args.auth != "none":
        print(
            f"surveillance {command}: the wallboard needs a login: configure [auth] (see "
            "config/service.toml), or give --auth none on a closed development network only, "
            "or --http 0 to serve no wallboard",
            file=sys.stderr,
        )
        return None
    setup_logging(settings.log_level)
    log.info("starting: %s", settings.describe())
    return settings, charts
