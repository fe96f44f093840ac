"""`surveillance display`: enrol, list and revoke wall screens (issue 14, item 3)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from surveillance._settings import SettingsError, load_settings
from wallboard import DisplayRegistry


def add_display(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `display` subcommand and its own: enrol, list, revoke."""
    display = commands.add_parser(
        "display",
        help="enrol, list and revoke the wards' wall screens (view-only credentials)",
        description=(
            "Wall screens are enrolled display devices: each has a long-lived, revocable, "
            "view-only credential for one ward. `enrol` prints a one-time URL to open on the "
            "screen (good for 15 minutes, once); `revoke` ends a screen's credential, open "
            "websockets included (within seconds). The enrolments are kept in the file named "
            "by [auth] displays in the settings (or --file)."
        ),
    )
    display.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    display.add_argument("--file", type=Path, help="the enrolments file (default: [auth] displays)")
    actions = display.add_subparsers(dest="action", metavar="ACTION", required=True)
    enrol = actions.add_parser("enrol", help="enrol a screen for a ward; prints its one-time URL")
    enrol.add_argument("--ward", required=True)
    enrol.add_argument("--label", default="", help="where the screen is, e.g. 'nurses station'")
    enrol.add_argument(
        "--url", help="the wallboard's public URL (default: [auth] redirect_url's origin)"
    )
    actions.add_parser("list", help="every enrolment, revoked ones included")
    revoke = actions.add_parser("revoke", help="revoke a screen's credential")
    revoke.add_argument("id")
    display.set_defaults(run=_display)


def _display(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as error:
        print(f"surveillance display: {error}", file=sys.stderr)
        return 2
    auth = settings.auth
    path = args.file or (Path(auth.displays) if auth is not None and auth.displays else None)
    if path is None:
        print(
            "surveillance display: no enrolments file: set [auth] displays, or give --file",
            file=sys.stderr,
        )
        return 2
    registry = DisplayRegistry(path)
    if args.action == "enrol":
        base = args.url
        if base is None and auth is not None:
            parts = urlsplit(auth.redirect_url)
            base = f"{parts.scheme}://{parts.netloc}"
        display_id, code = registry.enrol(args.ward, args.label)
        print(f"display {display_id} for ward {args.ward}")
        print(
            f"open once on the screen, within 15 minutes: {(base or '').rstrip('/')}/auth/display/enrol?code={code}"
        )
        return 0
    if args.action == "list":
        for display in registry.displays():
            state = (
                "revoked"
                if display.revoked
                else ("enrolled" if display.secret_sha256 else "code not used")
            )
            when = datetime.fromtimestamp(display.created, UTC).isoformat(timespec="seconds")
            print(f"{display.id}\t{display.ward}\t{state}\t{when}\t{display.label}")
        return 0
    if not registry.revoke(args.id):
        print(f"surveillance display: no display {args.id!r}", file=sys.stderr)
        return 1
    print(f"display {args.id} revoked")
    return 0
