"""`surveillance broker-identities`: the locked-down broker's ACL and password files from a
roster (see `surveillance._broker_identities`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from surveillance._broker_identities import (
    RosterError,
    load_roster,
    render_acl,
    update_password_file,
)
from surveillance._nats_identities import update_nats_users


def add_broker_identities(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `broker-identities` subcommand."""
    p = commands.add_parser(
        "broker-identities",
        help="write the locked-down broker's ACL and password files (Mosquitto, NATS) from a roster",
        description=(
            "Read a roster of broker identities (see config/broker-identities.toml: a name, a "
            "role and wards each) and write Mosquitto's ACL file (--acl) and bring its password "
            "file in line (--password-file): an identity without an entry gets a new random "
            "password, written to SECRETS/NAME (mode 0600) for whoever installs that component; "
            "entries not on the roster are removed. Existing passwords are kept unless --rotate "
            "names them. For NATS, --nats-conf writes the users file nats-server-secure.conf includes "
            "(bcrypt hashes; the same rules on subjects); an identity that already has a "
            "password in SECRETS keeps it there too. Reload the broker afterwards (SIGHUP). "
            "Exit status 2 on a bad roster."
        ),
    )
    p.add_argument("roster", type=Path, metavar="ROSTER", help="the roster (TOML)")
    p.add_argument("--acl", type=Path, metavar="FILE", help="write the ACL file here")
    p.add_argument(
        "--password-file", type=Path, metavar="FILE", help="the password file to bring in line"
    )
    p.add_argument(
        "--nats-conf",
        type=Path,
        metavar="FILE",
        help="write NATS's users file here (authorization block with permissions)",
    )
    p.add_argument(
        "--secrets",
        type=Path,
        metavar="DIR",
        help="where passwords are written, one file per identity (with --password-file, --nats-conf)",
    )
    p.add_argument(
        "--rotate",
        action="append",
        default=[],
        metavar="NAME",
        help="issue a new password to this identity (repeatable)",
    )
    p.set_defaults(run=_broker_identities)


def _broker_identities(args: argparse.Namespace) -> int:
    if args.acl is None and args.password_file is None and args.nats_conf is None:
        print(
            "surveillance broker-identities: give --acl, --password-file, --nats-conf or more",
            file=sys.stderr,
        )
        return 2
    if (args.password_file or args.nats_conf) is not None and args.secrets is None:
        print(
            "surveillance broker-identities: --password-file and --nats-conf need --secrets DIR",
            file=sys.stderr,
        )
        return 2
    try:
        roster = load_roster(args.roster)
        if args.acl is not None:
            args.acl.write_text(render_acl(roster, str(args.roster)), encoding="utf-8")
            print(f"wrote {args.acl}: {len(roster.identity)} identities", file=sys.stderr)
        issued: list[str] = []
        if args.password_file is not None:
            issued, revoked = update_password_file(
                roster, args.password_file, args.secrets, rotate=args.rotate
            )
            print(
                f"wrote {args.password_file}: new passwords for {issued or 'nobody'} "
                f"(in {args.secrets}/), removed {revoked or 'nobody'}",
                file=sys.stderr,
            )
        if args.nats_conf is not None:
            nats_issued, nats_revoked = update_nats_users(
                roster,
                args.nats_conf,
                args.secrets,
                rotate=args.rotate,
                fresh=issued,  # passwords this run issued for Mosquitto: the same on NATS
                source=str(args.roster),
            )
            print(
                f"wrote {args.nats_conf}: new passwords for {nats_issued or 'nobody'} "
                f"(in {args.secrets}/), removed {nats_revoked or 'nobody'}",
                file=sys.stderr,
            )
    except (RosterError, OSError) as exc:
        print(f"surveillance broker-identities: {exc}", file=sys.stderr)
        return 2
    return 0
