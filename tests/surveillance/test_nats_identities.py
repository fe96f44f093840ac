"""NATS's users file: the same roster and the same rules as Mosquitto's ACL, on NATS subjects.

What nats-server does with the file is proven against a real server started from
`config/nats-server-secure.conf` in `tests/ingest/test_locked_broker.py` (both brokers) and
`tests/ingest/test_locked_nats.py`; here, what the file says.
"""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest

from ingest import board_filters
from surveillance import (
    BrokerIdentity,
    BrokerRole,
    BrokerRoster,
    RosterError,
    acl_rules,
    load_roster,
    mqtt_to_subject,
    nats_permissions,
    read_nats_hashes,
    update_nats_users,
)
from surveillance.cli import main
from tests import ROOT

ROSTER = ROOT / "config" / "broker-identities.toml"
SECURE_CONF = ROOT / "config" / "nats-server-secure.conf"
ROLES: list[BrokerRole] = ["scorer", "wallboard", "gateway", "device", "pager", "simulator"]


@pytest.mark.parametrize(
    ("topic", "subject"),
    [
        ("wards/MED1/beds/+/obs", "wards.MED1.beds.*.obs"),
        ("wards/+/alerts/+/ack", "wards.*.alerts.*.ack"),
        ("hospital-a/surveillance/heartbeat", "hospital-a.surveillance.heartbeat"),
        ("#", ">"),
        ("wards/#", "wards.>"),
    ],
)
def test_an_mqtt_topic_is_its_nats_subject(topic: str, subject: str) -> None:
    assert mqtt_to_subject(topic) == subject


@pytest.mark.parametrize("topic", ["wards/7.A/alerts", "wards//alerts", "/wards", "wards/a b"])
def test_a_topic_nats_would_map_otherwise_is_refused(topic: str) -> None:
    """NATS turns '.' inside a level (and empty levels) into something else: such a ward
    would get permissions on the wrong subjects, so the roster is refused instead."""
    with pytest.raises(RosterError, match="NATS"):
        mqtt_to_subject(topic)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("prefix", ["", "hospital-a/"])
def test_the_permissions_are_the_acl_rules_on_subjects(role: BrokerRole, prefix: str) -> None:
    """No second copy of the rules: publish is exactly the ACL's writes, subscribe exactly its
    reads plus the delivery subject of QoS 1 subscriptions; nothing at all where it has none
    (NATS would grant every subscription to a user with no `subscribe` part)."""
    identity = BrokerIdentity(name="x", role=role, wards=["MED1", "SURG1"])
    if role == "scorer":
        identity = BrokerIdentity(name="x", role=role)
    rules = acl_rules(identity, prefix)
    writes = [mqtt_to_subject(t) for a, t in rules if a == "write"]
    reads = [mqtt_to_subject(t) for a, t in rules if a == "read"]
    permissions = nats_permissions(identity, prefix)
    assert permissions["publish"] == {"allow": writes}
    assert writes
    if reads:
        assert permissions["subscribe"] == {"allow": [*reads, "$MQTT.sub.>"]}
    else:
        assert permissions["subscribe"] == {"deny": [">"]}
    assert role in {"scorer", "wallboard", "pager"} or not reads


def test_a_ward_board_subscribes_to_exactly_what_its_identity_may_read() -> None:
    """`wallboard_wards` = the identity's wards gives subscriptions NATS grants in full."""
    for prefix in ("", "site/"):
        identity = BrokerIdentity(name="b", role="wallboard", wards=["MED1", "SURG1"])
        reads = [t for a, t in acl_rules(identity, prefix) if a == "read"]
        assert board_filters(prefix, ["MED1", "SURG1"]) == reads


def _roster(*names: str) -> BrokerRoster:
    return BrokerRoster(identity=[BrokerIdentity(name=n, role="device") for n in names])


def _checks(hashed: str, secret: Path) -> bool:
    return bcrypt.checkpw(secret.read_text().strip().encode(), hashed.encode())


def test_the_users_file_issues_keeps_rotates_and_revokes(tmp_path: Path) -> None:
    users, secrets = tmp_path / "nats-server-users.conf", tmp_path / "secrets"
    issued, revoked = update_nats_users(_roster("a", "b"), users, secrets)
    assert (issued, revoked) == (["a", "b"], [])
    hashes = read_nats_hashes(users)
    assert list(hashes) == ["a", "b"]
    assert all(h.startswith("$2a$") for h in hashes.values())  # what nats-server checks
    assert all(_checks(hashes[n], secrets / n) for n in "ab")
    assert stat.S_IMODE(users.stat().st_mode) == 0o640
    assert stat.S_IMODE((secrets / "a").stat().st_mode) == 0o600
    assert 'allowed_connection_types: ["MQTT"]' in users.read_text()
    # Again: nothing new, the same hashes kept.
    assert update_nats_users(_roster("a", "b"), users, secrets) == ([], [])
    assert read_nats_hashes(users) == hashes
    # Rotate a, add c, drop b.
    old_a = (secrets / "a").read_text()
    issued, revoked = update_nats_users(_roster("a", "c"), users, secrets, rotate=["a"])
    assert (issued, revoked) == (["a", "c"], ["b"])
    assert (secrets / "a").read_text() != old_a
    after = read_nats_hashes(users)
    assert list(after) == ["a", "c"]
    assert _checks(after["a"], secrets / "a")
    assert not _checks(hashes["a"], secrets / "a")
    assert sorted(p.name for p in secrets.iterdir()) == ["a", "c"]
    with pytest.raises(RosterError, match="'zz'"):
        update_nats_users(_roster("a"), users, secrets, rotate=["zz"])


def test_an_identity_has_one_password_on_both_brokers(tmp_path: Path) -> None:
    """A password already issued (for Mosquitto) is hashed for NATS, not replaced."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "a").write_text("issued-for-mosquitto\n")
    issued, _ = update_nats_users(_roster("a"), tmp_path / "users.conf", secrets)
    assert issued == []
    assert bcrypt.checkpw(
        b"issued-for-mosquitto", read_nats_hashes(tmp_path / "users.conf")["a"].encode()
    )


def test_a_roster_nats_cannot_carry_changes_nothing(tmp_path: Path) -> None:
    users, secrets = tmp_path / "users.conf", tmp_path / "secrets"
    update_nats_users(_roster("a"), users, secrets)
    before = users.read_text()
    bad = BrokerRoster(identity=[BrokerIdentity(name="b", role="device", wards=["7.A"])])
    with pytest.raises(RosterError, match="NATS"):
        update_nats_users(bad, users, secrets)
    assert users.read_text() == before
    assert sorted(p.name for p in secrets.iterdir()) == ["a"]


def test_the_command_writes_the_nats_users_with_the_mosquitto_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passwd, users, secrets = tmp_path / "passwd", tmp_path / "users.conf", tmp_path / "secrets"
    argv = ["broker-identities", str(ROSTER), "--password-file", str(passwd)]
    assert main([*argv, "--nats-conf", str(users), "--secrets", str(secrets)]) == 0
    names = [i.name for i in load_roster(ROSTER).identity]
    hashes = read_nats_hashes(users)
    assert list(hashes) == names
    assert all(_checks(hashes[n], secrets / n) for n in names)
    # Rotating one on both: the new password is the one NATS checks.
    assert main([*argv, "--nats-conf", str(users), "--secrets", str(secrets),
                 "--rotate", "simulator"]) == 0  # fmt: skip
    assert _checks(read_nats_hashes(users)["simulator"], secrets / "simulator")
    assert read_nats_hashes(users)["gw-MED1"] == hashes["gw-MED1"]
    assert main(["broker-identities", str(ROSTER), "--nats-conf", str(users)]) == 2
    assert "--secrets" in capsys.readouterr().err


def test_the_secure_configuration_locks_the_broker() -> None:
    """The shipped file: the users file included, no anonymous user, MQTT over TLS only, the
    JetStream and MQTT settings of config/nats-server.conf kept."""
    text = SECURE_CONF.read_text()
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert 'include "nats-server-users.conf"' in lines
    assert not any("no_auth_user" in line for line in lines)
    assert "tls {" in lines
    assert "listen: 0.0.0.0:8883" in lines
    shipped = (ROOT / "config" / "nats-server.conf").read_text()
    for setting in ("max_ack_pending: 5000", 'ack_wait: "30s"', "max_file_store: 20GB"):
        assert setting in shipped
        assert setting in lines
