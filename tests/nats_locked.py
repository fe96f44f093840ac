"""The shipped locked-down NATS broker, run for the tests (registered in conftest.py's `pytest_plugins`).

`config/nats-server-secure.conf` is run as shipped, with only what belongs to a machine changed:
the server name, the ports (free ports of 127.0.0.1), the JetStream store folder and its size,
the TLS certificate and key, and `ack_wait` (3 s, as tests/nats_broker.py: when an
unacknowledged message comes back, not whether). Its users file is written by
`surveillance broker-identities`' own code (`update_nats_users`) from the shipped roster, plus
one test-only observer, `test-witness`, that may read every subject and publish nothing: it is
how a test sees that a refused message was never delivered to anybody. The TLS authority and
server certificate are made by `openssl` for this session only (`tests.mqtt_locked`).

NATS has one MQTT listener, and it is the TLS one: `port` and `tls_port` are the same, and
`tls_context` trusts the session's authority (`tests.mqtt_locked.client` uses it).
"""

from __future__ import annotations

import re
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec
import pytest

from surveillance import load_roster, update_nats_users
from tests.mqtt_broker import BrokerProcess, _free_port
from tests.mqtt_locked import ROSTER, WITNESS, _certificates
from tests.nats_broker import READY_TIMEOUT, TEST_ACK_WAIT, nats_executable

CONFIG: Final = Path(__file__).resolve().parent.parent / "config"
SECURE_CONF: Final = CONFIG / "nats-server-secure.conf"
USERS_FILE: Final = "nats-server-users.conf"
"""The users file's name, beside the configuration (its `include` is relative)."""


class LockedNats(BrokerProcess):
    """The shipped secure NATS configuration on free ports; MQTT over TLS on `port`."""

    name = "locked nats-server"
    ready_timeout = READY_TIMEOUT
    stop_timeout = 15.0
    kind = "nats"

    def __init__(self, executable: str, workdir: Path) -> None:
        self.port = self.tls_port = _free_port()
        self.client_port = _free_port()
        self._executable = executable
        self._log = workdir / "nats-server.log"
        self._conf = workdir / "nats-server-secure.conf"
        self._users = workdir / USERS_FILE
        self._secrets = workdir / "secrets"
        self.ca_file = workdir / "ca.crt"
        certificate, key = _certificates(workdir)
        self.tls_context: ssl.SSLContext | None = ssl.create_default_context(cafile=self.ca_file)
        self._roster = load_roster(ROSTER)
        self._install()
        replacements = {
            r"^server_name: .*$": f"server_name: locked-{self.port}",
            r"^listen: .*$": f"listen: {self.host}:{self.client_port}",
            r"^  store_dir: .*$": f'  store_dir: "{workdir / "jetstream"}"',
            r"^  max_file_store: .*$": "  max_file_store: 1GB",
            r"^  max_memory_store: .*$": "  max_memory_store: 64MB",
            r"^  listen: 0\.0\.0\.0:8883$": f"  listen: {self.host}:{self.port}",
            r"^    cert_file: .*$": f'    cert_file: "{certificate}"',
            r"^    key_file: .*$": f'    key_file: "{key}"',
            r"^  ack_wait: .*$": f'  ack_wait: "{TEST_ACK_WAIT:g}s"',
            r'^include "nats-server-users\.conf"$': f'include "{USERS_FILE}"',
        }
        text = SECURE_CONF.read_text()
        for pattern, line in replacements.items():
            text, found = re.subn(pattern, line, text, flags=re.MULTILINE)
            assert found == 1, f"{SECURE_CONF}: expected one line matching {pattern!r}"
        self._conf.write_text(f'{text}\nlog_file: "{self._log}"\n')
        self._process = None

    def _install(self) -> None:
        """Write the users file as `surveillance broker-identities --nats-conf` does, and add
        the witness to it."""
        update_nats_users(self._roster, self._users, self._secrets)
        self._passwords = {p.name: p.read_text().strip() for p in self._secrets.iterdir()}
        self._passwords[WITNESS] = "witness-" + self._passwords["ward-surveillance"][:12]
        text = self._users.read_text()
        witness = (
            f'    {{user: "{WITNESS}", password: "{self._passwords[WITNESS]}",'
            ' permissions: {publish: {deny: [">"]}, subscribe: {allow: [">"]}}}\n'
        )
        assert text.endswith("  ]\n}\n")
        self._users.write_text(text[: -len("  ]\n}\n")] + witness + "  ]\n}\n")

    def revoke(self, name: str) -> None:
        """Take `name` off the roster, rewrite the users file as `surveillance
        broker-identities` does, and have the server reload it (SIGHUP)."""
        self._roster = msgspec.structs.replace(
            self._roster, identity=[i for i in self._roster.identity if i.name != name]
        )
        self._install()
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)

    def log_text(self) -> str:
        """The server's log so far (errors: refused logins, permission violations)."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def password(self, name: str) -> str:
        """The password issued to identity `name`."""
        return self._passwords[name]

    def url_for(self, name: str | None = None, *, tls: bool = True) -> str:
        """`mqtts://name:password@localhost:port` (NATS's one MQTT listener is TLS)."""
        assert tls, "the locked NATS broker has no plain MQTT listener"
        user = f"{name}:{self.password(name)}@" if name else ""
        return f"mqtts://{user}localhost:{self.port}"


@pytest.fixture(scope="session")
def locked_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedNats]:
    """The shipped secure NATS broker for the whole session; `.password(name)`,
    `.url_for(name)`, `.port` (TLS), `.ca_file`, `.tls_context`."""
    broker = LockedNats(nats_executable(), tmp_path_factory.mktemp("locked-nats"))
    broker.start()
    yield broker
    broker.stop()
