"""The shipped locked-down broker, run for the tests (registered in conftest.py's `pytest_plugins`).

`config/mosquitto-secure.conf` is run as shipped, with only what belongs to a machine changed:
the listeners' ports (free ports of 127.0.0.1), the paths of the password file, the
persistence folder and the TLS certificate and key. The ACL is `config/mosquitto.acl` itself,
plus one test-only observer, `test-witness`, that may read every topic: it is how a test sees
that a refused message was never delivered to anybody. Its block grants nothing to any other
user. The passwords are issued by `surveillance broker-identities`' own code for the shipped
roster (`config/broker-identities.toml`), and the TLS authority and server certificate are
made by `openssl` for this session only: no key is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import aiomqtt
import msgspec
import pytest

from surveillance import hash_password, load_roster, render_acl, update_password_file
from tests.mqtt_broker import INSTALL, MOSQUITTO, BrokerProcess, _free_port

if TYPE_CHECKING:
    from tests.nats_locked import LockedNats

CONFIG: Final = Path(__file__).resolve().parent.parent / "config"
SECURE_CONF: Final = CONFIG / "mosquitto-secure.conf"
SHIPPED_ACL: Final = CONFIG / "mosquitto.acl"
ROSTER: Final = CONFIG / "broker-identities.toml"
WITNESS: Final = "test-witness"


class LockedMosquitto(BrokerProcess):
    """The shipped secure configuration on free ports: `port` plain, `tls_port` TLS."""

    name = "locked mosquitto"
    kind = "mosquitto"
    tls_context: ssl.SSLContext | None = None
    """`client()` speaks plain MQTT to `port` (NATS's `port` is TLS: it sets a context)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.port = _free_port()
        self.tls_port = _free_port()
        self._executable = executable
        self._log = workdir / "mosquitto.log"
        self._conf = workdir / "mosquitto-secure.conf"
        self.ca_file = workdir / "ca.crt"
        certificate, key = _certificates(workdir)
        self._secrets = workdir / "secrets"
        self._passwd = workdir / "passwd"
        self._acl = workdir / "acl"
        self._roster = load_roster(ROSTER)
        self._install(SHIPPED_ACL.read_text())
        passwd, acl = self._passwd, self._acl
        self._conf.write_text(
            self.rewrite(
                SECURE_CONF.read_text(),
                {
                    "password_file": str(passwd),
                    "acl_file": str(acl),
                    "persistence_location": f"{workdir}/",
                    "certfile": str(certificate),
                    "keyfile": str(key),
                    "listener 8883": f"{self.tls_port} {self.host}",
                    "listener 1883": f"{self.port} {self.host}",
                },
            )
            + f"user {getpass.getuser()}\n"
            f"log_dest file {self._log}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )

    def _install(self, acl: str) -> None:
        """Issue passwords to the roster's identities (and the witness), and write the ACL
        `acl` with the witness's block after it."""
        update_password_file(self._roster, self._passwd, self._secrets)
        self._passwords = {p.name: p.read_text().strip() for p in self._secrets.iterdir()}
        self._passwords[WITNESS] = "witness-" + self._passwords["ward-surveillance"][:12]
        with self._passwd.open("a") as out:
            out.write(f"{WITNESS}:{hash_password(self._passwords[WITNESS])}\n")
        self._acl.write_text(
            acl + f"\n# test only: an observer of everything\nuser {WITNESS}\ntopic read #\n"
        )

    def revoke(self, name: str) -> None:
        """Take `name` off the roster, write both files as `surveillance broker-identities`
        does, and have the broker reload them (SIGHUP)."""
        self._roster = msgspec.structs.replace(
            self._roster, identity=[i for i in self._roster.identity if i.name != name]
        )
        self._install(render_acl(self._roster))
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)

    @staticmethod
    def rewrite(text: str, values: dict[str, str]) -> str:
        """The configuration with the value of each key in `values` replaced (a key may name a
        listener by its shipped port: `listener 8883`); every other line as shipped."""
        out, done = [], set()
        for line in text.splitlines():
            words = line.split()
            key = " ".join(words[:2]) if words[:1] == ["listener"] else words[0] if words else ""
            if key in values:
                done.add(key)
                out.append(f"{words[0]} {values[key]}")
            else:
                out.append(line)
        missing = set(values) - done
        assert not missing, f"{SECURE_CONF} no longer has {sorted(missing)}"
        return "\n".join(out) + "\n"

    def log_text(self) -> str:
        """The broker's log so far (errors, warnings, notices: who connected as whom)."""
        return self._log.read_text(errors="replace")

    def password(self, name: str) -> str:
        """The password issued to identity `name`."""
        return self._passwords[name]

    def url_for(self, name: str | None = None, *, tls: bool = False) -> str:
        """`mqtt://name:password@127.0.0.1:port`, or mqtts:// on the TLS port."""
        user = f"{name}:{self.password(name)}@" if name else ""
        if tls:
            return f"mqtts://{user}localhost:{self.tls_port}"
        return f"mqtt://{user}{self.host}:{self.port}"


def _certificates(workdir: Path) -> tuple[Path, Path]:
    """A throwaway certificate authority (`ca.crt`) and a server certificate it signed for
    localhost and 127.0.0.1; returns the certificate's and its key's paths."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need openssl: apt-get install openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=workdir, check=True, capture_output=True)

    days = ["-days", "2"]
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-subj", "/CN=surveillance test CA", *days)  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
        "-subj", "/CN=localhost")  # fmt: skip
    (workdir / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.crt", "-extfile", "san.ext", *days)  # fmt: skip
    return workdir / "broker.crt", workdir / "broker.key"


def client(
    broker: LockedMosquitto | LockedNats,
    name: str | None,
    *,
    password: str | None = None,
    identifier: str | None = None,
    clean_session: bool | None = None,
) -> aiomqtt.Client:
    """A client of `broker.port` logged in as `name` (with its own password by default): the
    plain listener of Mosquitto, the TLS one of NATS."""
    if password is None and name is not None:
        password = broker.password(name)
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=name,
        password=password,
        identifier=identifier,
        clean_session=clean_session,
        tls_context=broker.tls_context,
    )


@dataclass
class Inbox:
    """What one subscriber received: (topic, payload, retained) in arrival order."""

    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def payloads(self) -> list[bytes]:
        return [payload for _, payload, _ in self.messages]

    async def wait(self, predicate: Callable[[Inbox], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def receiving(c: aiomqtt.Client, *filters: str) -> AsyncIterator[Inbox]:
    """Subscribe `c` (connected) to `filters` and collect what arrives until the block ends."""
    inbox = Inbox()
    for topic in filters:
        await c.subscribe(topic, qos=1)

    async def collect() -> None:
        async for message in c.messages:
            payload = message.payload
            assert isinstance(payload, bytes)
            inbox.messages.append((message.topic.value, payload, bool(message.retain)))
            inbox.arrived.set()

    task = asyncio.create_task(collect())
    try:
        yield inbox
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def mosquitto_executable() -> str:
    """Where mosquitto is (the test fails, saying how to install it, when it is not)."""
    executable = MOSQUITTO if Path(MOSQUITTO).exists() else shutil.which("mosquitto")
    if executable is None:
        pytest.fail(
            f"the MQTT tests need the mosquitto broker, not found at {MOSQUITTO}: {INSTALL}"
        )
    return executable


@pytest.fixture(scope="session")
def locked_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedMosquitto]:
    """The shipped secure broker for the whole session; `.password(name)`, `.url_for(name)`,
    `.tls_port`, `.ca_file`."""
    broker = LockedMosquitto(mosquitto_executable(), tmp_path_factory.mktemp("locked-mosquitto"))
    broker.start()
    yield broker
    broker.stop()
