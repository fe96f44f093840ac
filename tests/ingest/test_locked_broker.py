"""The shipped locked-down broker refuses every forgery the intruder test found (issue 14).

Each test runs against `config/mosquitto-secure.conf` and `config/mosquitto.acl` as shipped
(`tests/mqtt_locked.py`); the forgery matrix and its controls run against the production
broker's `config/nats-server-secure.conf` too (`tests/nats_locked.py`; what is particular to
NATS is in test_locked_nats.py). NATS refuses a publish it does not allow (and still PUBACKs it
at QoS 1). Mosquitto drops a refused publish (under MQTT 3.1.1 it still
acknowledges it; 2.0.11 with `max_queued_messages 0` then also closes the connection, a quirk
of its `process_bad_message`), so the publisher's side proves nothing: a witness that may read
every topic subscribes to `#`; the forger sends the forgery, and once the broker has dealt
with it (PUBACK or hang-up), a canary it *is* allowed to send. The broker handles packets in
order and delivers to one subscriber in order, so once the canary has reached the witness,
the forgery would have reached it first. A positive control sends each kind of message from
its rightful identity, so the witness is shown to see what it is asked about.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from ingest import BrokerLink, parse_broker_url
from tests.mqtt_locked import (
    WITNESS,
    Inbox,
    LockedMosquitto,
    client,
    mosquitto_executable,
    receiving,
)
from tests.nats_broker import nats_executable
from tests.nats_locked import LockedNats

SCORER = "ward-surveillance"
DEVICE = "dev-MED1-wearables"
GATEWAY = "gw-MED1"
BOARD = "wallboard-2"
WARD_BOARD = "board-MED1"
PAGER = "pager-gateway"
SIMULATOR = "simulator"


@pytest.fixture(params=["mosquitto", "nats"])
def locked(request: pytest.FixtureRequest) -> LockedMosquitto | LockedNats:
    """Each shipped locked-down broker in turn: Mosquitto's, and NATS's (production)."""
    broker: LockedMosquitto | LockedNats = request.getfixturevalue(f"locked_{request.param}")
    return broker


EVERY_TREE = ("wards/#", "surveillance/#", "simulation/#")


@contextlib.asynccontextmanager
async def witness(broker: LockedMosquitto | LockedNats, *filters: str) -> AsyncIterator[Inbox]:
    """The test-only observer, subscribed to `filters` (every topic by default).

    On NATS "every topic" is every tree the service uses (`wards/#`, `surveillance/#`,
    `simulation/#`), not `#`: nats-server 2.9 holds every new connection back for 4 s (its
    internal JetStream request timeout) after a QoS 1 subscription to `#` is torn down, which
    made each NATS test 4 s slower. No roster identity may subscribe to `#` there anyway.
    """
    if not filters:
        filters = EVERY_TREE if broker.kind == "nats" else ("#",)
    async with client(broker, WITNESS) as c, receiving(c, *filters) as inbox:
        yield inbox


async def flushed(c: aiomqtt.Client) -> None:
    """Return once everything the broker routed to `c` before now has arrived: the broker
    queues a SUBACK behind what it already queued for this client."""
    await c.subscribe(f"flush/{uuid.uuid4().hex}", qos=1)


def fill(template: str, tag: str) -> str:
    return template.format(bed=f"b{tag}", alert=f"A{tag}")


SCORE = "wards/MED1/beds/{bed}/score"
ADT = "wards/MED1/beds/{bed}/adt"
PLAN = "wards/MED1/beds/{bed}/plan"
OBS = "wards/MED1/beds/{bed}/obs"
ACK = "wards/MED1/alerts/{alert}/ack"
RESOLVE = "wards/MED1/alerts/{alert}/resolve"
ALERTS = "wards/MED1/alerts"
HEARTBEAT = "surveillance/heartbeat"
DEAD_LETTER = "surveillance/deadletter"

FORGERIES = [
    # (forger, forged topic, a canary the forger may send)
    pytest.param(DEVICE, SCORE, OBS, id="device-forges-score"),
    pytest.param(DEVICE, ACK, OBS, id="device-forges-acknowledgement"),
    pytest.param(DEVICE, RESOLVE, OBS, id="device-forges-resolve"),
    pytest.param(DEVICE, ADT, OBS, id="device-forges-discharge"),
    pytest.param(DEVICE, PLAN, OBS, id="device-forges-plan"),
    pytest.param(DEVICE, HEARTBEAT, OBS, id="device-forges-heartbeat"),
    pytest.param(DEVICE, ALERTS, OBS, id="device-forges-alert-event"),
    pytest.param(DEVICE, DEAD_LETTER, OBS, id="device-forges-dead-letter"),
    pytest.param(DEVICE, "wards/SURG1/beds/{bed}/obs", OBS, id="device-sends-for-another-ward"),
    pytest.param(BOARD, SCORE, ACK, id="wallboard-forges-score"),
    pytest.param(BOARD, HEARTBEAT, ACK, id="wallboard-forges-heartbeat"),
    pytest.param(BOARD, ADT, ACK, id="wallboard-forges-discharge"),
    pytest.param(BOARD, PLAN, ACK, id="wallboard-forges-plan"),
    pytest.param(BOARD, OBS, ACK, id="wallboard-forges-observation"),
    pytest.param(BOARD, ALERTS, ACK, id="wallboard-forges-alert-event"),
    pytest.param(
        WARD_BOARD, "wards/SURG1/alerts/{alert}/ack", ACK, id="ward-board-acks-other-ward"
    ),
    pytest.param(GATEWAY, "wards/SURG1/beds/{bed}/adt", PLAN, id="gateway-discharges-other-ward"),
    # ADT moves patients between wards: a ward's gateway could pull another ward's patient
    # onto its own topics and discharge them there (review of issue 14): PAS only.
    pytest.param(GATEWAY, ADT, PLAN, id="ward-gateway-sends-adt-even-for-its-own-ward"),
    pytest.param(GATEWAY, SCORE, PLAN, id="gateway-forges-score"),
    pytest.param(GATEWAY, ACK, PLAN, id="gateway-forges-acknowledgement"),
    pytest.param(GATEWAY, HEARTBEAT, PLAN, id="gateway-forges-heartbeat"),
    pytest.param(PAGER, SCORE, ACK, id="pager-forges-score"),
    pytest.param(PAGER, ADT, ACK, id="pager-forges-discharge"),
    pytest.param(PAGER, HEARTBEAT, ACK, id="pager-forges-heartbeat"),
    pytest.param(SIMULATOR, SCORE, OBS, id="simulator-forges-score"),
    pytest.param(SIMULATOR, ACK, OBS, id="simulator-forges-acknowledgement"),
    pytest.param(SIMULATOR, HEARTBEAT, OBS, id="simulator-forges-heartbeat"),
    pytest.param(SCORER, ACK, SCORE, id="scorer-acknowledges-its-own-alert"),
    pytest.param(SCORER, OBS, SCORE, id="scorer-forges-an-observation"),
]


@pytest.mark.parametrize(("forger", "forged", "canary"), FORGERIES)
async def test_a_forgery_is_delivered_to_nobody_and_not_retained(
    locked: LockedMosquitto | LockedNats, forger: str, forged: str, canary: str
) -> None:
    tag = uuid.uuid4().hex[:10]
    forgery, signal = f"forged-{tag}".encode(), f"canary-{tag}".encode()
    async with witness(locked) as seen:
        with contextlib.suppress(aiomqtt.MqttError):  # the broker may hang up: see below
            async with client(locked, forger) as c:
                await c.publish(fill(forged, tag), forgery, qos=1, retain=True)
        # The PUBACK came, or the broker closed the connection over the forgery: either way it
        # has dealt with it, before this new connection's canary.
        async with client(locked, forger) as c:
            await c.publish(fill(canary, tag), signal, qos=1)
        await seen.wait(lambda inbox: signal in inbox.payloads())
    assert forgery not in seen.payloads()
    # Nor kept as the retained message a later subscriber (a board starting) would be given.
    async with client(locked, WITNESS) as c, receiving(c, fill(forged, tag)) as later:
        await flushed(c)
        await flushed(c)  # retained messages follow the SUBACK of their subscription
    assert forgery not in later.payloads()


RIGHTFUL = [
    pytest.param(SCORER, SCORE, id="scorer-score"),
    pytest.param(SCORER, HEARTBEAT, id="scorer-heartbeat"),
    pytest.param(SCORER, ALERTS, id="scorer-alert-event"),
    pytest.param(SCORER, DEAD_LETTER, id="scorer-dead-letter"),
    pytest.param(DEVICE, OBS, id="device-observation"),
    pytest.param(DEVICE, "wards/MED1/beds/{bed}/fhir", id="device-fhir"),
    pytest.param("pas-gateway", ADT, id="pas-discharge"),
    pytest.param(GATEWAY, PLAN, id="gateway-plan"),
    pytest.param(GATEWAY, "wards/MED1/beds/{bed}/labs", id="gateway-labs"),
    pytest.param("pas-gateway", "wards/SURG1/beds/{bed}/adt", id="pas-any-ward"),
    pytest.param(BOARD, ACK, id="wallboard-acknowledgement"),
    pytest.param(WARD_BOARD, RESOLVE, id="ward-board-resolve-own-ward"),
    pytest.param(PAGER, ACK, id="pager-acknowledgement"),
    pytest.param(SIMULATOR, "simulation/truth", id="simulator-truth"),
    pytest.param(SIMULATOR, ADT, id="simulator-adt"),
]


@pytest.mark.parametrize(("sender", "topic"), RIGHTFUL)
async def test_the_rightful_identity_is_delivered(
    locked: LockedMosquitto | LockedNats, sender: str, topic: str
) -> None:
    """The control: what the forgery tests refuse does arrive from the identity it belongs to."""
    tag = uuid.uuid4().hex[:10]
    payload = f"rightful-{tag}".encode()
    async with witness(locked) as seen, client(locked, sender) as c:
        await c.publish(fill(topic, tag), payload, qos=1)
        await seen.wait(lambda inbox: payload in inbox.payloads())
    assert (fill(topic, tag), payload, False) in seen.messages


# What the rightful identities publish while a snoop listens: (name, publisher, topic).
SECRETS = [
    ("obs SURG1", "gw-SURG1", "wards/SURG1/beds/{bed}/obs"),
    ("score SURG1", SCORER, "wards/SURG1/beds/{bed}/score"),
    ("score MED1", SCORER, SCORE),
    ("alerts SURG1", SCORER, "wards/SURG1/alerts"),
    ("dead letter", SCORER, DEAD_LETTER),
    ("ack SURG1", PAGER, "wards/SURG1/alerts/{alert}/ack"),
    ("truth", SIMULATOR, "simulation/truth"),
]


@pytest.mark.parametrize(
    ("snoop", "filters", "allowed"),
    [
        pytest.param(DEVICE, ["#"], set(), id="device-reads-everything"),
        pytest.param(
            DEVICE,
            ["wards/SURG1/beds/+/score", "surveillance/deadletter", "wards/+/beds/+/obs"],
            set(),
            id="device-reads-other-wards-and-dead-letters",
        ),
        pytest.param(GATEWAY, ["#"], set(), id="gateway-reads-everything"),
        pytest.param(
            BOARD, ["#"], {"score SURG1", "score MED1", "alerts SURG1"}, id="wallboard-reads-all"
        ),
        pytest.param(
            BOARD,
            ["wards/+/beds/+/obs", "surveillance/deadletter", "wards/+/alerts/+/ack"],
            set(),
            id="wallboard-reads-inputs-and-dead-letters",
        ),
        pytest.param(WARD_BOARD, ["#"], {"score MED1"}, id="ward-board-reads-other-wards"),
        pytest.param(PAGER, ["#"], {"alerts SURG1"}, id="pager-reads-everything"),
        pytest.param(SIMULATOR, ["#"], set(), id="simulator-reads-everything"),
        pytest.param(SCORER, ["#"], {"obs SURG1", "ack SURG1"}, id="scorer-reads-only-inputs"),
    ],
)
async def test_an_identity_reads_only_its_own_topics(
    locked_mosquitto: LockedMosquitto, snoop: str, filters: list[str], allowed: set[str]
) -> None:
    tag = uuid.uuid4().hex[:10]
    sent = {name: (fill(topic, tag), f"{name}-{tag}".encode()) for name, _, topic in SECRETS}
    async with (
        witness(locked_mosquitto) as seen,
        client(locked_mosquitto, snoop) as c,
        receiving(c, *filters) as snooped,
    ):
        for name, publisher, _ in SECRETS:
            topic, payload = sent[name]
            if publisher == snoop:  # one connection per identity: use the snoop's own
                await c.publish(topic, payload, qos=1)
                continue
            async with client(locked_mosquitto, publisher) as p:
                await p.publish(topic, payload, qos=1)  # PUBACK: routed to every subscriber
        await flushed(c)
        await seen.wait(lambda inbox: all(p in inbox.payloads() for _, p in sent.values()))
    got = {name for name, (_, payload) in sent.items() if payload in snooped.payloads()}
    assert got == allowed


async def test_anonymous_clients_unknown_users_and_wrong_passwords_are_refused(
    locked: LockedMosquitto | LockedNats,
) -> None:
    """Mosquitto answers CONNACK 5 (not authorised), NATS 4 (bad user name or password)."""
    refused = r"[Nn]ot authori|[Bb]ad user name or password"
    attempts = [
        (None, None),
        ("", ""),
        (SCORER, "not-the-password"),
        (SCORER, ""),
        ("intruder", "anything"),
    ]
    for username, password in attempts:
        with pytest.raises(aiomqtt.MqttCodeError, match=refused):
            async with client(locked, username, password=password, identifier=SCORER):
                pass
    # The TLS listener too.
    with pytest.raises(aiomqtt.MqttCodeError, match=refused):
        async with aiomqtt.Client(
            "localhost",
            locked.tls_port,
            tls_context=ssl.create_default_context(cafile=locked.ca_file),
        ):
            pass


async def test_no_other_identity_can_take_the_scorers_session(
    locked_mosquitto: LockedMosquitto,
) -> None:
    """The issue's theft: connect with the service's client id and take its queued inputs (or
    wipe them with a clean session). The broker gives every connection its user name as
    client id, so the thief gets a session of its own and the scorer's queue is untouched."""
    tag = uuid.uuid4().hex[:10]
    obs = f"obs-{tag}".encode()
    # The scorer's persistent session, subscribed as the service subscribes, then away.
    async with client(locked_mosquitto, SCORER, identifier=SCORER, clean_session=False) as c:
        await c.subscribe("wards/+/beds/+/obs", qos=1)
    async with client(locked_mosquitto, GATEWAY) as c:
        await c.publish(fill(OBS, tag), obs, qos=1)  # queued for the scorer
    for thief in (BOARD, DEVICE, PAGER):
        for clean in (False, True):
            async with (
                client(locked_mosquitto, thief, identifier=SCORER, clean_session=clean) as c,
                receiving(c, "wards/+/beds/+/obs") as stolen,
            ):
                await flushed(c)
                await flushed(c)
            assert stolen.messages == []
    # The scorer comes back to its session, queued observation and all.
    async with (
        client(locked_mosquitto, SCORER, identifier=SCORER, clean_session=False) as c,
        receiving(c) as mine,
    ):
        await mine.wait(lambda inbox: obs in inbox.payloads())
    await forget_scorer_session(locked_mosquitto)


async def test_the_service_link_connects_over_tls_with_its_identity_and_the_hospital_ca(
    locked: LockedMosquitto | LockedNats,
) -> None:
    """`BrokerLink` (the service's adapter) passes the credentials and the private CA to paho:
    it logs in over mqtts://, subscribes to every input and receives one."""
    url = parse_broker_url(locked.url_for(SCORER, tls=True))
    assert url.tls
    broker = dataclasses.replace(url, ca_file=str(locked.ca_file))
    tag = uuid.uuid4().hex[:10]
    obs = f"tls-obs-{tag}".encode()
    got: list[bytes] = []
    arrived = asyncio.Event()
    async with BrokerLink(broker, client_id=SCORER) as link:

        async def consume() -> None:
            async for batch in link.batches():
                got.extend(r.payload for r in batch)
                link.ack(r.token for r in batch)
                arrived.set()

        reading = asyncio.create_task(consume())
        try:
            async with asyncio.timeout(10):
                await link.wait_connected()
            async with client(locked, GATEWAY) as c:
                await c.publish(fill(OBS, tag), obs, qos=1)
            async with asyncio.timeout(10):
                while obs not in got:
                    arrived.clear()
                    await arrived.wait()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    await forget_scorer_session(locked)


async def forget_scorer_session(broker: LockedMosquitto | LockedNats) -> None:
    """End the scorer's persistent session, so later tests' messages are not kept for it."""
    async with client(broker, SCORER, identifier=SCORER, clean_session=True):
        pass


# paho leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_checks_the_brokers_certificate(locked: LockedMosquitto | LockedNats) -> None:
    """Without the hospital's CA the broker's certificate is not trusted, and plain MQTT is not
    spoken on the TLS port."""
    with pytest.raises(aiomqtt.MqttError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        async with aiomqtt.Client(
            "localhost",
            locked.tls_port,
            username=BOARD,
            password=locked.password(BOARD),
            tls_context=ssl.create_default_context(),
        ):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            "localhost",
            locked.tls_port,
            username=BOARD,
            password=locked.password(BOARD),
            timeout=3,
        ):
            pass


@pytest.mark.parametrize(
    ("sender", "topic", "canary", "delivered"),
    [
        pytest.param(DEVICE, HEARTBEAT, OBS, False, id="device-heartbeat"),
        pytest.param(DEVICE, ACK, OBS, False, id="device-acknowledgement"),
        pytest.param(BOARD, SCORE, ACK, False, id="wallboard-score"),
        pytest.param(SCORER, ALERTS, SCORE, True, id="control-scorer-alert-event"),
    ],
)
async def test_a_forgery_left_as_a_last_will_is_never_published(
    locked: LockedMosquitto | LockedNats, sender: str, topic: str, canary: str, delivered: bool
) -> None:
    """The broker publishes a client's will when the client vanishes: a device could try to
    leave a heartbeat or an acknowledgement behind that way. (The control: the scorer's will
    on its own topic is published, so the vanishing does trigger wills.)"""
    tag = uuid.uuid4().hex[:10]
    last_will, signal = f"will-{tag}".encode(), f"canary-{tag}".encode()
    async with witness(locked) as seen:
        with contextlib.suppress(aiomqtt.MqttError):  # refused at CONNECT is refused too
            c = aiomqtt.Client(
                locked.host,
                locked.port,
                username=sender,
                password=locked.password(sender),
                will=aiomqtt.Will(fill(topic, tag), last_will, qos=1),
                tls_context=locked.tls_context,
            )
            await c.__aenter__()
            sock = c._client.socket()  # vanish without a DISCONNECT: the will is due
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                await c.__aexit__(None, None, None)
        # The same identity again (the same client id): the broker has done with the old
        # connection, and its will, before it serves this one's canary.
        async with client(locked, sender) as again:
            await again.publish(fill(canary, tag), signal, qos=1)
        await seen.wait(lambda inbox: signal in inbox.payloads())
    assert (last_will in seen.payloads()) is delivered


@pytest.mark.mqtt
@pytest.mark.parametrize("kind", ["mosquitto", "nats"])
async def test_a_revoked_identity_is_cut_off_once_the_broker_reloads(
    tmp_path: Path, kind: str
) -> None:
    """Taking a device off the roster and reloading the broker (SIGHUP): it can neither log in
    again nor, if still connected, have anything delivered."""
    broker: LockedMosquitto | LockedNats
    if kind == "nats":
        broker = LockedNats(nats_executable(), tmp_path)
        reloaded = "Reloaded server configuration"
    else:
        broker = LockedMosquitto(mosquitto_executable(), tmp_path)
        reloaded = "Reloading config"
    broker.start()
    try:
        tag = uuid.uuid4().hex[:10]
        before, after, canary = (f"{word}-{tag}".encode() for word in ("before", "after", "canary"))
        password = broker.password(DEVICE)
        async with witness(broker) as seen:
            with contextlib.suppress(aiomqtt.MqttError):  # the broker may hang up on it
                async with client(broker, DEVICE) as device:
                    await device.publish(fill(OBS, tag), before, qos=1)
                    await seen.wait(lambda inbox: before in inbox.payloads())
                    broker.revoke(DEVICE)
                    async with asyncio.timeout(10):
                        while reloaded not in broker.log_text():
                            await asyncio.sleep(0.02)
                    await device.publish(fill(OBS, tag), after, qos=1)
            with pytest.raises(
                aiomqtt.MqttCodeError, match=r"[Nn]ot authori|[Bb]ad user name or password"
            ):
                async with client(broker, DEVICE, password=password):
                    pass
            async with client(broker, GATEWAY) as gateway:
                await gateway.publish(fill(OBS, tag), canary, qos=1)
            await seen.wait(lambda inbox: canary in inbox.payloads())
        assert before in seen.payloads()
        assert after not in seen.payloads()
    finally:
        broker.stop()
