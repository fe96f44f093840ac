"""The locked-down broker against what tests/ingest/test_locked_broker.py does not try (review
of issue 14): the scorer's session taken with MQTT 5 or over the TLS listener, `$SYS` read by
a component, and the broker's host name checked by the TLS context every component uses
(`BrokerURL.tls_context`), not only its certificate authority.
"""

from __future__ import annotations

import dataclasses
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import parse_broker_url
from tests.mqtt_locked import (
    WITNESS,
    LockedMosquitto,
    client,
    mosquitto_executable,
    receiving,
)

SCORER = "ward-surveillance"
GATEWAY = "gw-MED1"
THIEVES = ("wallboard-2", "dev-MED1-wearables", "pager-gateway")
V5 = aiomqtt.ProtocolVersion.V5
V311 = aiomqtt.ProtocolVersion.V311


async def flushed(c: aiomqtt.Client) -> None:
    """Everything the broker routed to `c` before now has arrived (a SUBACK queues behind)."""
    await c.subscribe(f"flush/{uuid.uuid4().hex}", qos=1)


def connect(
    broker: LockedMosquitto,
    name: str,
    *,
    tls: bool,
    protocol: aiomqtt.ProtocolVersion,
    identifier: str,
    clean: bool,
) -> aiomqtt.Client:
    """`name` on the plain or the TLS listener, MQTT 3.1.1 (clean session) or 5 (clean start,
    and a session that outlives the connection when not clean)."""
    options: dict[str, object] = {}
    if protocol == V5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 0 if clean else 3600
        options = {"clean_start": clean, "properties": properties}
    else:
        options = {"clean_session": clean}
    return aiomqtt.Client(
        "localhost" if tls else broker.host,
        broker.tls_port if tls else broker.port,
        username=name,
        password=broker.password(name),
        identifier=identifier,
        protocol=protocol,
        tls_context=ssl.create_default_context(cafile=broker.ca_file) if tls else None,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_no_identity_takes_the_scorers_session_with_mqtt5_or_over_tls(
    locked_mosquitto: LockedMosquitto, tls: bool
) -> None:
    """The scorer's persistent session holds a queued observation; every other identity asks
    for the scorer's client id with MQTT 3.1.1 and MQTT 5, clean or not, on this listener, and
    subscribes to the observations: it gets none, and the scorer still gets its own."""
    tag = uuid.uuid4().hex[:10]
    payload = f"obs-{tag}".encode()
    async with connect(
        locked_mosquitto, SCORER, tls=tls, protocol=V311, identifier=SCORER, clean=False
    ) as c:
        await c.subscribe("wards/+/beds/+/obs", qos=1)
    async with client(locked_mosquitto, GATEWAY) as c:
        await c.publish(f"wards/MED1/beds/b{tag}/obs", payload, qos=1)
    for thief in THIEVES:
        for protocol in (V5, V311):
            for clean in (True, False):
                async with (
                    connect(
                        locked_mosquitto,
                        thief,
                        tls=tls,
                        protocol=protocol,
                        identifier=SCORER,
                        clean=clean,
                    ) as c,
                    receiving(c, "wards/+/beds/+/obs") as stolen,
                ):
                    await flushed(c)
                    await flushed(c)
                assert stolen.messages == [], (thief, protocol, clean)
    async with (
        connect(
            locked_mosquitto, SCORER, tls=tls, protocol=V311, identifier=SCORER, clean=False
        ) as c,
        receiving(c) as mine,
    ):
        await mine.wait(lambda inbox: payload in inbox.payloads())
    async with client(locked_mosquitto, SCORER, identifier=SCORER, clean_session=True):
        pass  # forget the session: later tests' messages are not kept for it


class _OtherNameBroker(LockedMosquitto):
    """The shipped configuration whose certificate names only `broker.example` (signed by the
    test CA), and whose witness may also read `$SYS` (the positive control of the `$SYS`
    test: `#` does not match topics beginning with `$`)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        super().__init__(executable, workdir)
        with self._acl.open("a") as out:
            out.write("topic read $SYS/#\n")  # appended to the witness's block, the last one

        openssl = shutil.which("openssl")
        assert openssl is not None  # the parent made its certificates with it

        def run(*args: str) -> None:
            subprocess.run([openssl, *args], cwd=workdir, check=True, capture_output=True)

        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out",
            "broker.csr", "-subj", "/CN=broker.example")  # fmt: skip
        (workdir / "san.ext").write_text("subjectAltName=DNS:broker.example\n")
        run("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "broker.crt", "-extfile", "san.ext", "-days", "2")  # fmt: skip


@pytest.fixture(scope="module")
def other_name_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_OtherNameBroker]:
    broker = _OtherNameBroker(mosquitto_executable(), tmp_path_factory.mktemp("other-name"))
    broker.start()
    yield broker
    broker.stop()


@pytest.mark.mqtt
# paho leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_a_certificate_for_another_host_name_is_refused(
    other_name_broker: _OtherNameBroker, host: str
) -> None:
    """The certificate is signed by the trusted CA but names another host: the components'
    TLS context (`BrokerURL.tls_context`, given to paho by the service, the simulators and the
    board's feed) refuses it. A context that checked only the authority would connect."""
    url = dataclasses.replace(
        parse_broker_url(f"mqtts://{host}:{other_name_broker.tls_port}"),
        username="wallboard-2",
        password=other_name_broker.password("wallboard-2"),
        ca_file=str(other_name_broker.ca_file),
    )
    context = url.tls_context()
    assert context is not None
    with pytest.raises(aiomqtt.MqttError, match=r"[Hh]ostname mismatch|IP address mismatch"):
        async with aiomqtt.Client(
            url.host, url.port, username=url.username, password=url.password,
            tls_context=context, timeout=5,
        ):  # fmt: skip
            pass
    # The control: the same authority without the host-name check connects.
    lax = ssl.create_default_context(cafile=other_name_broker.ca_file)
    lax.check_hostname = False
    async with aiomqtt.Client(
        url.host, url.port, username=url.username, password=url.password, tls_context=lax
    ):
        pass


@pytest.mark.mqtt
@pytest.mark.parametrize("name", [SCORER, "wallboard-2", "board-MED1", GATEWAY, "simulator"])
async def test_no_component_reads_sys(other_name_broker: _OtherNameBroker, name: str) -> None:
    """`$SYS` says who is connected and how busy the broker is: no component's business. Its
    retained topics (`$SYS/broker/version`) reach the witness at once, and nobody else."""
    async with (
        client(other_name_broker, WITNESS) as w,
        receiving(w, "$SYS/broker/version") as control,
    ):
        await control.wait(lambda inbox: bool(inbox.messages))
    async with client(other_name_broker, name) as c, receiving(c, "$SYS/#") as snooped:
        await flushed(c)
        await flushed(c)
    assert snooped.messages == []
