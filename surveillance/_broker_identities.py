"""Who may connect to the locked-down broker, and what each may do there.

A roster (TOML, `config/broker-identities.toml`) names every identity, its role and the wards
it serves. From it come the two files `config/mosquitto-secure.conf` reads:

- the ACL file (`render_acl`): a `user` block per identity with the topics it may read and
  write, built with the topic builders of `ingest` (no topic is typed out here). Mosquitto's
  `pattern` rules are not used: they apply to every user, and `%u` substitutes only a whole
  level, so a per-ward pattern would make the user name the ward (one connection per ward,
  since the broker also makes the user name the client id) and grant every other identity a
  phantom ward named after itself.
- the password file (`update_password_file`), in Mosquitto's own format (PBKDF2-SHA512, as
  `mosquitto_passwd` writes it): identities that have no entry get a fresh random password,
  written to a file of its own in the secrets folder (mode 0600); entries of identities no
  longer on the roster are removed (revoked); `rotate` issues new passwords.

Roles (`+` in `wards` means every ward):

| role        | publishes                                             | reads                          |
|-------------|-------------------------------------------------------|--------------------------------|
| `scorer`    | scores, alerts, dead letters, heartbeat               | every input, every alert action |
| `wallboard` | alert actions (ack, resolve) of its wards             | its wards' adt, score, plan, alerts; the heartbeat |
| `gateway`   | its wards' bed channels: obs, fhir, hl7v2, labs, plan, event; adt only if its wards are `+` (the PAS) | nothing |
| `device`    | its wards' obs, fhir, hl7v2                           | nothing                        |
| `pager`     | alert actions of its wards                            | its wards' alerts              |
| `simulator` | what a gateway does, and `simulation/truth`           | nothing                        |
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

import msgspec

from ingest import (
    ACTIONS,
    CHANNELS,
    DEAD_LETTER_TOPIC,
    HEARTBEAT_TOPIC,
    alert_action_topic,
    alerts_acm_topic,
    alerts_topic,
    bed_topic,
    input_filters,
    score_fhir_topic,
    score_hl7v2_topic,
    score_topic,
)
from simulators import TRUTH_TOPIC

BrokerRole = Literal["scorer", "wallboard", "gateway", "device", "pager", "simulator"]
DEVICE_CHANNELS: Final = ("obs", "fhir", "hl7v2")
"""What a device may send: observations, in any of the three formats."""
ALL_WARDS: Final = "+"

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BAD_WARD: Final = re.compile(r"[/#+*>\s\x00-\x1f\x7f]")
_BAD_PREFIX: Final = re.compile(r"[#+*>\s\x00-\x1f\x7f]")
"""No wildcard, MQTT's (`+`, `#`) nor NATS's (`*`, `>`: the NATS users file maps topic levels to
subject tokens, where a ward `*` would be every ward, and `[auth]` spells "every ward" `*`), and
nothing that would end or split a line of the ACL file: a prefix or a ward goes verbatim into
`topic` lines, so a newline in either would add rules of its own."""
PASSWORD_ITERATIONS: Final = 101
"""Mosquitto's own default. The passwords issued here are 192 random bits, so the hash's cost
is not what protects them, and every CONNECT pays it."""


class RosterError(ValueError):
    """The roster is wrong; the message names the identity and the problem."""


class BrokerIdentity(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One identity on the broker: a user name, a role, the wards it serves."""

    name: str
    role: BrokerRole
    wards: list[str] = msgspec.field(default_factory=lambda: [ALL_WARDS])


class BrokerRoster(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every identity; `prefix` is the service's `[broker] prefix`."""

    prefix: str = ""
    identity: list[BrokerIdentity] = msgspec.field(default_factory=list)


def load_roster(path: Path) -> BrokerRoster:
    """Read and check a roster file.

    Raises:
        RosterError: the file cannot be read, or an identity is wrong.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        roster = msgspec.convert(raw, BrokerRoster)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, msgspec.ValidationError) as exc:
        msg = f"{path}: {exc}"
        raise RosterError(msg) from exc
    check_roster(roster)
    return roster


def check_roster(roster: BrokerRoster) -> None:
    """Raise `RosterError` naming every problem: names, wards, prefix."""
    problems = []
    prefix = roster.prefix
    if prefix and (not prefix.endswith("/") or _BAD_PREFIX.search(prefix)):
        problems.append(
            f"prefix {prefix!r}: end it with '/', with no wildcard (+ # * >), space or "
            "control character"
        )
    seen: set[str] = set()
    for identity in roster.identity:
        name = identity.name
        if not _NAME.fullmatch(name):
            problems.append(f"{name!r}: a name is 1-64 letters, digits, '.', '_' or '-'")
        if name in seen:
            problems.append(f"{name!r}: named twice")
        seen.add(name)
        if not identity.wards:
            problems.append(f'{name!r}: no wards (use ["+"] for every ward)')
        for ward in identity.wards:
            if ward != ALL_WARDS and (not ward or _BAD_WARD.search(ward)):
                problems.append(f'{name!r}: ward {ward!r} is not a topic level (every ward is "+")')
        if identity.role == "scorer" and identity.wards != [ALL_WARDS]:
            problems.append(f'{name!r}: the scorer reads every ward (wards = ["+"])')
    if problems:
        raise RosterError("; ".join(problems))


def acl_rules(identity: BrokerIdentity, prefix: str = "") -> list[tuple[str, str]]:
    """The `(access, topic)` pairs of one identity, `access` being `read` or `write`."""
    p, wards = prefix, identity.wards
    actions = [("write", alert_action_topic(p, w, "+", a)) for w in wards for a in ACTIONS]
    match identity.role:
        case "scorer":
            return [("read", topic) for topic in input_filters(p)] + [
                ("write", score_topic(p, "+", "+")),
                ("write", alerts_topic(p, "+")),
                # `[outbound] topics` (issue 17): a score's FHIR and HL7 v2 forms, the ACM
                # events (without these the broker drops them, silently under MQTT 3.1.1)
                ("write", score_fhir_topic(p, "+", "+")),
                ("write", score_hl7v2_topic(p, "+", "+")),
                ("write", alerts_acm_topic(p, "+")),
                ("write", p + DEAD_LETTER_TOPIC),
                ("write", p + HEARTBEAT_TOPIC),
            ]
        case "wallboard":
            reads = [
                topic
                for w in wards
                for topic in (
                    bed_topic(p, w, "+", "adt"),
                    score_topic(p, w, "+"),
                    bed_topic(p, w, "+", "plan"),
                    alerts_topic(p, w),
                )
            ]
            return [("read", t) for t in [*reads, p + HEARTBEAT_TOPIC]] + actions
        case "gateway":
            # ADT moves a patient between wards and discharges them: a ward's own gateway
            # could take another ward's patient (and close their alerts), so only a
            # hospital-wide gateway (the PAS interface, wards ["+"]) sends it.
            channels = CHANNELS if ALL_WARDS in wards else [c for c in CHANNELS if c != "adt"]
            return [("write", bed_topic(p, w, "+", c)) for w in wards for c in channels]
        case "device":
            return [("write", bed_topic(p, w, "+", c)) for w in wards for c in DEVICE_CHANNELS]
        case "pager":
            return [("read", alerts_topic(p, w)) for w in wards] + actions
        case "simulator":
            gateway = acl_rules(BrokerIdentity(name=identity.name, role="gateway", wards=wards), p)
            adt = [("write", bed_topic(p, w, "+", "adt")) for w in wards if w != ALL_WARDS]
            return [*gateway, *adt, ("write", p + TRUTH_TOPIC)]


def render_acl(roster: BrokerRoster, source: str = "the roster") -> str:
    """Mosquitto's ACL file for the roster: no rule for anonymous clients, a `user` block each."""
    source = " ".join(source.split())  # one comment line, whatever the roster's path holds
    lines = [
        f"# Generated by `surveillance broker-identities` from {source}.",
        "# Edit the roster and run it again, not this file.",
        "# No rule before the first `user` line: an anonymous client (refused anyway by",
        "# allow_anonymous false) may read and write nothing.",
    ]
    for identity in roster.identity:
        wards = ", ".join(identity.wards)
        lines += ["", f"# {identity.role}, wards {wards}", f"user {identity.name}"]
        lines += [f"topic {access} {topic}" for access, topic in acl_rules(identity, roster.prefix)]
    return "\n".join(lines) + "\n"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A password as Mosquitto 2.0 stores it: `$7$ITERATIONS$SALT$HASH` (PBKDF2-SHA512)."""
    salt = secrets.token_bytes(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PASSWORD_ITERATIONS, 64)
    b64 = base64.b64encode
    return f"$7${PASSWORD_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def update_password_file(
    roster: BrokerRoster, password_file: Path, secrets_dir: Path, *, rotate: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Bring the password file in line with the roster; returns (issued, revoked) names.

    An identity without an entry (or named in `rotate`) gets a new random password, written
    to `secrets_dir/NAME` (mode 0600) for whoever installs that component; entries not on the
    roster are removed, with their files in `secrets_dir`. The file is replaced atomically, mode 0640 (give it to the broker's
    group: Mosquitto reads it after dropping root).

    Raises:
        RosterError: `rotate` names an identity that is not on the roster.
    """
    names = [identity.name for identity in roster.identity]
    rotate = set(rotate)
    if unknown := rotate - set(names):
        msg = f"--rotate: not on the roster: {sorted(unknown)}"
        raise RosterError(msg)
    existing: dict[str, str] = {}
    if password_file.exists():
        for line in password_file.read_text(encoding="utf-8").splitlines():
            user, sep, hashed = line.partition(":")
            if sep and user:
                existing[user] = hashed
    revoked = sorted(set(existing) - set(names))
    for name in revoked:
        # A name read back from the password file is only a path inside `secrets_dir` if it is
        # a name the roster could have issued (`../../etc/x` is dropped, never unlinked).
        if is_identity_name(name):
            (secrets_dir / name).unlink(missing_ok=True)
    issued = []
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    entries = []
    for name in names:
        if name not in existing or name in rotate:
            password = secrets.token_urlsafe(24)
            _write_private(secrets_dir / name, password + "\n", 0o600)
            existing[name] = hash_password(password)
            issued.append(name)
        entries.append(f"{name}:{existing[name]}")
    _write_private(password_file, "\n".join(entries) + "\n", 0o640)
    return issued, revoked


def is_identity_name(name: str) -> bool:
    """Whether `name` is a name the roster could give (1-64 letters, digits, `.`, `_`, `-`,
    not starting with `.`, `_` or `-`): only such a name is ever a file in the secrets folder."""
    return _NAME.fullmatch(name) is not None


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write `text` to `path` atomically, never readable beyond `mode` on the way; a file
    replaced keeps its owner and group (the broker's group, given once with `chgrp`: a new
    file of root's group would be unreadable to Mosquitto at its next reload)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(fd, mode)  # an older file of that name kept its own mode
            try:
                old = path.stat()
            except FileNotFoundError:
                pass
            else:
                os.fchown(fd, old.st_uid, old.st_gid)  # not ours to give: PermissionError
            out.write(text)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # no stray copy of the hashes or a secret
        raise
