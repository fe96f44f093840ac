"""The broker's identities: the roster, the ACL made from it, the password file, the command.

What the broker does with these files is proven against a real Mosquitto in
`tests/ingest/test_locked_broker.py`; here, what the files say.
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from ingest import board_filters, input_filters
from surveillance import (
    BrokerIdentity,
    BrokerRole,
    BrokerRoster,
    RosterError,
    acl_rules,
    check_roster,
    hash_password,
    load_roster,
    render_acl,
    update_password_file,
)
from surveillance.cli import main
from tests import ROOT

ROSTER = ROOT / "config" / "broker-identities.toml"
ACL = ROOT / "config" / "mosquitto.acl"


def test_the_shipped_acl_is_the_shipped_rosters() -> None:
    """config/mosquitto.acl is never edited by hand out of step with the roster."""
    assert ACL.read_text() == render_acl(load_roster(ROSTER), "config/broker-identities.toml")


def test_the_scorer_reads_exactly_its_inputs_and_a_board_exactly_what_it_subscribes_to() -> None:
    for prefix in ("", "hospital-a/"):
        scorer = acl_rules(BrokerIdentity(name="s", role="scorer"), prefix)
        assert [t for access, t in scorer if access == "read"] == input_filters(prefix)
        board = acl_rules(BrokerIdentity(name="b", role="wallboard"), prefix)
        assert [t for access, t in board if access == "read"] == board_filters(prefix)
        assert all(t.startswith(prefix) for _, t in scorer + board)


@pytest.mark.parametrize("role", ["device", "gateway", "simulator", "wallboard", "pager"])
def test_no_one_but_the_scorer_may_publish_scores_alert_events_heartbeats_or_dead_letters(
    role: BrokerRole,
) -> None:
    writes = [t for a, t in acl_rules(BrokerIdentity(name="x", role=role)) if a == "write"]
    assert writes
    for topic in writes:
        assert not topic.endswith(("/score", "/alerts", "heartbeat", "deadletter")), topic


def test_a_device_sends_observations_of_its_own_wards_and_reads_nothing() -> None:
    rules = acl_rules(BrokerIdentity(name="d", role="device", wards=["7A", "7B"]))
    assert rules == [
        ("write", f"wards/{ward}/beds/+/{channel}")
        for ward in ("7A", "7B")
        for channel in ("obs", "fhir", "hl7v2")
    ]


def test_a_wallboard_publishes_only_alert_actions_of_its_wards() -> None:
    rules = acl_rules(BrokerIdentity(name="b", role="wallboard", wards=["7A"]))
    assert [t for a, t in rules if a == "write"] == [
        "wards/7A/alerts/+/ack",
        "wards/7A/alerts/+/resolve",
    ]
    assert ("read", "wards/7A/beds/+/score") in rules
    assert ("read", "wards/+/beds/+/score") not in rules


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '[[identity]]\nname = "a"\nrole = "device"\n[[identity]]\nname = "a"\nrole = "pager"\n',
            "twice",
        ),
        ('[[identity]]\nname = "a b"\nrole = "device"\n', "'a b'"),
        ('[[identity]]\nname = "a"\nrole = "device"\nwards = ["7/A"]\n', "'7/A'"),
        ('[[identity]]\nname = "a"\nrole = "device"\nwards = ["7A#"]\n', "'7A#'"),
        ('[[identity]]\nname = "a"\nrole = "device"\nwards = []\n', "no wards"),
        ('[[identity]]\nname = "a"\nrole = "scorer"\nwards = ["7A"]\n', "every ward"),
        ('[[identity]]\nname = "a"\nrole = "admin"\n', "role"),
        ('[[identity]]\nname = "a"\nrole = "device"\npassword = "x"\n', "password"),
        ('prefix = "site"\n', "prefix"),
        ('prefix = "site/#/"\n', "prefix"),
    ],
)
def test_a_wrong_roster_is_refused_with_the_problem_named(
    tmp_path: Path, text: str, named: str
) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(text)
    with pytest.raises(RosterError, match=named.replace("[", r"\[")):
        load_roster(path)


def test_the_password_hash_is_mosquittos_own() -> None:
    """A line `mosquitto_passwd -b FILE alice secret` wrote (Mosquitto 2.0.11)."""
    written = (
        "$7$101$060E0O0MZYbH4fYM$XDzEzsw+ILv0+7b69CS25xp3ygRZuH4k+qwa43m6lAzi29Osvaxuv59hRTyU"
        "/DYZ9ex9BIP+KVmbZZ+oQGeorg=="
    )
    salt = base64.b64decode("060E0O0MZYbH4fYM")
    assert hash_password("secret", salt=salt) == written
    assert hash_password("secret") != hash_password("secret")  # a new salt each time


def test_the_password_file_follows_the_roster(tmp_path: Path) -> None:
    passwd, secrets = tmp_path / "passwd", tmp_path / "secrets"
    roster = BrokerRoster(
        identity=[BrokerIdentity(name="a", role="device"), BrokerIdentity(name="b", role="pager")]
    )
    assert update_password_file(roster, passwd, secrets) == (["a", "b"], [])
    first = passwd.read_text()
    a_password = (secrets / "a").read_text().strip()
    assert len(a_password) >= 32
    assert stat.S_IMODE((secrets / "a").stat().st_mode) == 0o600
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640
    assert a_password not in first
    # Again: nothing changes. Then c joins, b leaves, a's password is rotated.
    assert update_password_file(roster, passwd, secrets) == ([], [])
    assert passwd.read_text() == first
    roster = BrokerRoster(
        identity=[BrokerIdentity(name="a", role="device"), BrokerIdentity(name="c", role="pager")]
    )
    assert update_password_file(roster, passwd, secrets, rotate=["a"]) == (["a", "c"], ["b"])
    assert [line.split(":")[0] for line in passwd.read_text().splitlines()] == ["a", "c"]
    assert (secrets / "a").read_text().strip() != a_password
    assert sorted(p.name for p in secrets.iterdir()) == ["a", "c"]
    with pytest.raises(RosterError, match="'zz'"):
        update_password_file(roster, passwd, secrets, rotate=["zz"])


def test_the_command_writes_both_files_and_refuses_a_bad_roster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acl, passwd, secrets = tmp_path / "acl", tmp_path / "passwd", tmp_path / "secrets"
    argv = ["broker-identities", str(ROSTER), "--acl", str(acl), "--password-file", str(passwd)]
    assert main([*argv, "--secrets", str(secrets)]) == 0
    assert acl.read_text().splitlines()[3:] == ACL.read_text().splitlines()[3:]
    names = [i.name for i in load_roster(ROSTER).identity]
    assert sorted(p.name for p in secrets.iterdir()) == sorted(names)
    assert main(argv) == 2  # a password file without a place for new passwords
    bad = tmp_path / "bad.toml"
    bad.write_text('[[identity]]\nname = "x"\nrole = "root"\n')
    assert main(["broker-identities", str(bad), "--acl", str(acl)]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_check_roster_names_every_problem_at_once() -> None:
    roster = BrokerRoster(
        prefix="x",
        identity=[
            BrokerIdentity(name="", role="device"),
            BrokerIdentity(name="s", role="scorer", wards=["1"]),
        ],
    )
    with pytest.raises(RosterError) as caught:
        check_roster(roster)
    assert str(caught.value).count(";") == 2
