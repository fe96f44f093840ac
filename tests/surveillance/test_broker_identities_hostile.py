"""The broker-identity writer against a hostile or unlucky roster and password file (review of
issue 14): nothing in a roster may add an ACL rule of its own, nothing read back from the
password file may name a path outside the secrets folder, and rewriting the password file
keeps the group the broker reads it as."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from surveillance import (
    BrokerIdentity,
    BrokerRoster,
    RosterError,
    check_roster,
    hash_password,
    load_roster,
    nats_permissions,
    render_acl,
    render_nats_users,
    update_nats_users,
    update_password_file,
)

INJECTED = "topic read surveillance/deadletter"


@pytest.mark.parametrize(
    "prefix",
    [
        f"site/\n{INJECTED}\nx/",  # a newline: a rule of its own for whoever's block it lands in
        f"site/\r\n{INJECTED}\r\nx/",
        "site a/",  # Mosquitto would read `topic write site` and drop the rest
        "site\x0b/",
        "site\x01/",
    ],
)
def test_a_prefix_that_would_split_an_acl_line_is_refused(prefix: str) -> None:
    roster = BrokerRoster(prefix=prefix, identity=[BrokerIdentity(name="d", role="device")])
    with pytest.raises(RosterError, match="prefix"):
        check_roster(roster)


@pytest.mark.parametrize("ward", ["MED\x011", "MED1\x7f", "MED\u20281"])
def test_a_ward_with_a_control_character_or_line_separator_is_refused(ward: str) -> None:
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device", wards=[ward])])
    with pytest.raises(RosterError, match="not a topic level"):
        check_roster(roster)


def test_the_rosters_path_cannot_add_a_rule_through_the_acls_comment() -> None:
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device", wards=["MED1"])])
    acl = render_acl(roster, f"roster\nuser d\n{INJECTED}\n.toml")
    lines = acl.splitlines()
    assert INJECTED not in lines
    assert [line for line in lines if line.startswith("user ")] == ["user d"]


def test_a_name_read_back_from_the_password_file_is_never_a_path(tmp_path: Path) -> None:
    """A line of the password file naming `../victim` (a hand edit, a restored backup) is
    dropped from the file as not on the roster, but the file it names is left alone."""
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    passwd = tmp_path / "passwd"
    passwd.write_text(f"../victim:{hash_password('x')}\n")
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device")])
    issued, revoked = update_password_file(roster, passwd, secrets)
    assert (issued, revoked) == (["d"], ["../victim"])
    assert victim.read_text() == "keep me\n"
    assert "victim" not in passwd.read_text()


def _another_group() -> int:
    """A group this process may give a file it owns: any, as root; else a supplementary one."""
    if os.geteuid() == 0:
        return 54321
    others = [g for g in os.getgroups() if g != os.getegid()]
    if not others:
        pytest.skip("this user belongs to no second group to give the file")
    return others[0]


def test_rewriting_the_password_file_keeps_the_brokers_group(tmp_path: Path) -> None:
    """The configuration says `chgrp mosquitto passwd` once: Mosquitto 2 reads the file after
    dropping root, at start and at every reload (SIGHUP). The file is replaced atomically; a
    replacement in root's group, mode 0640, would be unreadable to the broker at the next
    reload, which follows every issue, rotation or revocation."""
    secrets = tmp_path / "secrets"
    passwd = tmp_path / "passwd"
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device")])
    update_password_file(roster, passwd, secrets)
    group = _another_group()
    os.chown(passwd, -1, group)
    roster.identity.append(BrokerIdentity(name="e", role="device"))
    update_password_file(roster, passwd, secrets, rotate=["d"])
    assert passwd.stat().st_gid == group
    assert passwd.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("ward", ["*", ">", "MED1*"])
def test_a_nats_wildcard_is_no_ward(tmp_path: Path, ward: str) -> None:
    """`[auth]` spells "every ward" `*`; in the broker roster a ward `*` was a literal level
    for Mosquitto (fails closed) but NATS's token wildcard in the users file (fails open: a
    device of ward `*` could publish observations for every ward)."""
    identity = BrokerIdentity(name="dev-x", role="device", wards=[ward])
    if ward == "*":  # what it did: every ward's observations, on NATS
        assert "wards.*.beds.*.obs" in nats_permissions(identity)["publish"]["allow"]
    roster = tmp_path / "roster.toml"
    roster.write_text(f'[[identity]]\nname = "dev-x"\nrole = "device"\nwards = ["{ward}"]\n')
    with pytest.raises(RosterError, match="not a topic level"):
        load_roster(roster)


@pytest.mark.parametrize("prefix", ["*/", ">/", "site/*/"])
def test_a_nats_wildcard_is_no_prefix(prefix: str) -> None:
    roster = BrokerRoster(prefix=prefix, identity=[BrokerIdentity(name="d", role="device")])
    with pytest.raises(RosterError, match="prefix"):
        check_roster(roster)


def test_a_name_read_back_from_the_nats_users_file_is_never_a_path(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    users = tmp_path / "nats-server-users.conf"
    users.write_text('    {user: "../victim", password: "$2a$10$x",\n')
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device")])
    issued, revoked = update_nats_users(roster, users, secrets)
    assert (issued, revoked) == (["d"], ["../victim"])
    assert victim.read_text() == "keep me\n"


def test_the_rosters_path_cannot_add_a_setting_to_the_nats_users_file() -> None:
    roster = BrokerRoster(identity=[BrokerIdentity(name="d", role="device", wards=["MED1"])])
    text = render_nats_users(roster, {"d": "$2a$10$x"}, 'roster\nno_auth_user: "d"\n.toml')
    assert "no_auth_user" not in "".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    )
