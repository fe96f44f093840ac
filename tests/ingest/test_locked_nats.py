"""What is particular to the locked-down NATS broker (config/nats-server-secure.conf), the
production one: how it refuses what an identity may not read, what it does with the MQTT
internals a permission has to open, its NATS protocol port, and the scorer's client id.

The forgery matrix, its controls, logins, TLS, wills and revocation run against NATS and
Mosquitto alike in test_locked_broker.py.

The client id: NATS 2.9 keeps MQTT sessions per account by client id and does not bind a client
id to a user (Mosquitto's `use_username_as_clientid` has no NATS equivalent). Another identity
connecting as `ward-surveillance` therefore takes the scorer's session over. What holds, and
what does not, is tested here as it is, so that a change of NATS's behaviour shows:
- the intruder is never delivered the scorer's queued inputs: a session's subscriptions are
  made again under the connecting user's permissions, and NATS refuses them;
- with a persistent session, the scorer gets its queued inputs back afterwards;
- but an online scorer is cut off, and a clean-session takeover deletes the session and the
  inputs queued in it (the residual risk `config/nats-server-secure.conf` states).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import uuid

import aiomqtt
import pytest

from tests.ingest.test_locked_broker import (
    BOARD,
    DEVICE,
    GATEWAY,
    OBS,
    PAGER,
    SCORE,
    SCORER,
    SECRETS,
    SIMULATOR,
    WARD_BOARD,
    fill,
    flushed,
    witness,
)
from tests.mqtt_locked import Inbox, client, receiving
from tests.nats_locked import LockedNats
from wallboard import BrokerFeed

REFUSED = 0x80
"""SUBACK's failure code: NATS refuses a subscription its user may not make."""


def codes(granted: object) -> list[int]:
    """The SUBACK return codes aiomqtt gives (reason codes under MQTT 3.1.1)."""
    assert isinstance(granted, list)
    values = []
    for code in granted:
        value = getattr(code, "value", code)
        assert isinstance(value, int), granted
        values.append(value)
    return values


@pytest.mark.parametrize(
    ("snoop", "filters", "allowed"),
    [
        pytest.param(
            DEVICE,
            ["#", "wards/SURG1/beds/+/score", "surveillance/deadletter", "wards/+/beds/+/obs"],
            set(),
            id="device",
        ),
        pytest.param(GATEWAY, ["#", "wards/+/beds/+/obs", "wards/+/alerts"], set(), id="gateway"),
        pytest.param(SIMULATOR, ["#", "simulation/truth"], set(), id="simulator"),
        pytest.param(
            BOARD,
            [
                "#",
                "wards/+/beds/+/obs",
                "surveillance/deadletter",
                "wards/+/alerts/+/ack",
                "wards/+/beds/+/score",
                "wards/+/alerts",
            ],
            {"score SURG1", "score MED1", "alerts SURG1"},
            id="wallboard",
        ),
        pytest.param(
            WARD_BOARD,
            ["#", "wards/+/beds/+/score", "wards/SURG1/beds/+/score", "wards/MED1/beds/+/score"],
            {"score MED1"},
            id="ward-board",
        ),
        pytest.param(
            PAGER, ["#", "wards/+/beds/+/score", "wards/+/alerts"], {"alerts SURG1"}, id="pager"
        ),
        pytest.param(
            SCORER,
            [
                "#",
                "wards/+/beds/+/score",
                "surveillance/deadletter",
                "simulation/truth",
                "wards/+/beds/+/obs",
                "wards/+/alerts/+/ack",
            ],
            {"obs SURG1", "ack SURG1"},
            id="scorer",
        ),
    ],
)
async def test_nats_refuses_every_subscription_an_identity_may_not_make(
    locked_nats: LockedNats, snoop: str, filters: list[str], allowed: set[str]
) -> None:
    """Nobody but the scorer reads observations or dead letters; a board reads only its wards'
    scores and alerts. NATS answers a filter it does not allow with SUBACK 0x80 (even `#`, for
    which Mosquitto grants and then filters), and grants the allowed ones."""
    tag = uuid.uuid4().hex[:10]
    sent = {name: (fill(topic, tag), f"{name}-{tag}".encode()) for name, _, topic in SECRETS}
    snooped = Inbox()
    async with witness(locked_nats) as seen, client(locked_nats, snoop) as c:
        granted = {f: codes(await c.subscribe(f, qos=1))[0] for f in filters}
        async with receiving(c) as snooped:
            for name, publisher, _ in SECRETS:
                topic, payload = sent[name]
                if publisher == snoop:
                    await c.publish(topic, payload, qos=1)
                    continue
                async with client(locked_nats, publisher) as p:
                    await p.publish(topic, payload, qos=1)
            await flushed(c)
            await seen.wait(lambda inbox: all(p in inbox.payloads() for _, p in sent.values()))
            await flushed(c)
    assert granted["#"] == REFUSED
    got = {name for name, (_, payload) in sent.items() if payload in snooped.payloads()}
    assert got == allowed
    if not allowed:
        assert set(granted.values()) == {REFUSED}


@pytest.mark.parametrize("reader", [BOARD, PAGER, SCORER])
async def test_the_mqtt_delivery_subjects_a_reader_is_allowed_cannot_be_subscribed_to(
    locked_nats: LockedNats, reader: str
) -> None:
    """A reader's permissions must allow `$MQTT.sub.>` (where NATS delivers its QoS 1
    subscriptions). Through MQTT that is not a way to read other clients' deliveries: NATS
    refuses an MQTT filter on `$MQTT/...`, and the scorer's observations do not reach it."""
    tag = uuid.uuid4().hex[:10]
    obs = f"obs-{tag}".encode()
    async with (
        client(locked_nats, SCORER, identifier=f"scorer-{tag}") as scorer,
        receiving(scorer, "wards/+/beds/+/obs") as scorer_got,
        client(locked_nats, reader) as c,
    ):
        granted = [
            codes(await c.subscribe(f, qos=q))[0]
            for f in ("$MQTT/sub/#", "$MQTT/#", "$MQTT/sub/+")
            for q in (0, 1)
        ]
        async with receiving(c) as stolen:
            async with client(locked_nats, GATEWAY) as g:
                await g.publish(fill(OBS, tag), obs, qos=1)
            await scorer_got.wait(lambda inbox: obs in inbox.payloads())  # the control
            await flushed(c)
    assert granted == [REFUSED] * len(granted)
    assert stolen.messages == []


async def test_no_identity_can_log_in_on_the_nats_protocol_port(locked_nats: LockedNats) -> None:
    """Every user is allowed MQTT connections only: on NATS's own port (where a client could
    call the JetStream API behind the MQTT sessions) the scorer's own credentials are refused."""
    for name in (SCORER, "test-witness"):
        reply = await asyncio.to_thread(_nats_protocol_login, locked_nats, name)
        if name == SCORER:
            assert "Authorization Violation" in reply, reply
        else:  # the control: a user without allowed_connection_types is let in (PONG)
            assert "PONG" in reply, reply


def _nats_protocol_login(broker: LockedNats, name: str) -> str:
    """CONNECT with `name`'s password over the NATS protocol, PING; what the server says."""
    with socket.create_connection((broker.host, broker.client_port), timeout=5) as s:
        reader = s.makefile("rb")
        assert reader.readline().startswith(b"INFO ")
        connect = {"user": name, "pass": broker.password(name), "verbose": False}
        s.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        return reader.readline().decode(errors="replace")


async def _scorer_session_with_a_queued_observation(broker: LockedNats, tag: str) -> bytes:
    """The scorer's persistent session, subscribed as the service subscribes, then away, with
    one observation queued for it."""
    obs = f"queued-{tag}".encode()
    async with client(broker, SCORER, identifier=SCORER, clean_session=False) as c:
        await c.subscribe("wards/+/beds/+/obs", qos=1)
    async with client(broker, GATEWAY) as c:
        await c.publish(fill(OBS, tag), obs, qos=1)
    return obs


async def _stolen(broker: LockedNats, thief: str, *, clean: bool) -> list[bytes]:
    """What `thief` is delivered when it connects with the scorer's client id."""
    async with (
        client(broker, thief, identifier=SCORER, clean_session=clean) as c,
        receiving(c) as stolen,
    ):
        await asyncio.sleep(1.0)  # a restored session's queue comes right after CONNACK
        await flushed(c)
    return stolen.payloads()


async def _forget_scorer_session(broker: LockedNats) -> None:
    async with client(broker, SCORER, identifier=SCORER, clean_session=True):
        pass


@pytest.mark.parametrize("thief", [BOARD, DEVICE, PAGER])
async def test_nats_session_takeover_delivers_the_intruder_nothing_and_keeps_the_queue(
    locked_nats: LockedNats, thief: str
) -> None:
    """Another identity that connects with the scorer's client id and a persistent session gets
    the scorer's session, but none of its queued inputs (its subscriptions are made again
    under the intruder's permissions, which refuse them), and the scorer, back, gets them."""
    tag = uuid.uuid4().hex[:10]
    obs = await _scorer_session_with_a_queued_observation(locked_nats, tag)
    assert await _stolen(locked_nats, thief, clean=False) == []
    async with (
        client(locked_nats, SCORER, identifier=SCORER, clean_session=False) as c,
        receiving(c) as mine,
    ):
        await mine.wait(lambda inbox: obs in inbox.payloads())
    await _forget_scorer_session(locked_nats)


async def test_nats_residual_risk_a_clean_takeover_discards_the_scorers_queue(
    locked_nats: LockedNats,
) -> None:
    """THE RESIDUAL RISK (config/nats-server-secure.conf): with clean_session=1, another identity
    using the scorer's client id deletes the scorer's session and the inputs queued in it. It
    reads none of them; the scorer, back, finds no queue and no subscription (the service
    subscribes again at every connection, so only what was queued is lost). If this test
    fails, NATS now protects the session: update the configuration's and the safety case's
    statement of the risk."""
    tag = uuid.uuid4().hex[:10]
    obs = await _scorer_session_with_a_queued_observation(locked_nats, tag)
    assert await _stolen(locked_nats, BOARD, clean=True) == []
    async with (
        client(locked_nats, SCORER, identifier=SCORER, clean_session=False) as c,
        receiving(c) as mine,
    ):
        await asyncio.sleep(1.0)
        await flushed(c)
    assert obs not in mine.payloads()
    await _forget_scorer_session(locked_nats)


async def test_nats_residual_risk_a_takeover_cuts_the_online_scorer_off(
    locked_nats: LockedNats,
) -> None:
    """THE RESIDUAL RISK, the other half: NATS replaces a connected client by one with the same
    client id whoever its user is, so an intruder disconnects the running scorer (which
    reconnects and takes the session back: the two would fight). The intruder's own publishes
    stay bound by its permissions: a score it sends under the scorer's client id is delivered
    to nobody."""
    tag = uuid.uuid4().hex[:10]
    forged, canary = f"forged-{tag}".encode(), f"canary-{tag}".encode()

    async def take_over() -> None:
        async with (
            client(locked_nats, SCORER, identifier=SCORER) as scorer,
            client(locked_nats, BOARD, identifier=SCORER) as intruder,
        ):
            await intruder.publish(fill(SCORE, tag), forged, qos=1)
            async with asyncio.timeout(10):
                while True:  # until the scorer's connection is closed under it
                    await scorer.publish(fill(SCORE, tag), canary, qos=1, timeout=2)
                    await asyncio.sleep(0.1)

    logged = len(locked_nats.log_text())
    async with witness(locked_nats) as seen:
        with pytest.raises(aiomqtt.MqttError):
            await take_over()
        async with client(locked_nats, SCORER, identifier=SCORER) as scorer:
            await scorer.publish(fill(SCORE, tag), canary, qos=1)
        await seen.wait(lambda inbox: canary in inbox.payloads())
    assert forged not in seen.payloads()
    # What an operator can alert on: the server's log names each takeover.
    assert f'same client ID "{SCORER}"' in locked_nats.log_text()[logged:]
    with contextlib.suppress(aiomqtt.MqttError):
        await _forget_scorer_session(locked_nats)


@pytest.mark.parametrize(
    ("wards", "refused"),
    [pytest.param(["MED1"], False, id="own-ward"), pytest.param(["+"], True, id="every-ward")],
)
async def test_a_ward_board_feed_says_when_nats_refuses_its_subscriptions(
    locked_nats: LockedNats, wards: list[str], refused: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """`board-MED1` may read ward MED1 only: subscribing to every ward, its feed is refused
    (and says so in the log, naming `wallboard_wards`); to MED1, it is not."""
    caplog.set_level(logging.WARNING, logger="wallboard")
    async with BrokerFeed(
        "localhost",
        locked_nats.port,
        username=WARD_BOARD,
        password=locked_nats.password(WARD_BOARD),
        tls=True,
        ca_file=str(locked_nats.ca_file),
        client_id=f"{WARD_BOARD}-{uuid.uuid4().hex[:8]}",
        wards=wards,
    ) as feed:
        async with asyncio.timeout(10):
            while not feed.connected:
                await asyncio.sleep(0.05)
    warned = [
        r.getMessage() for r in caplog.records if "refused the subscription" in r.getMessage()
    ]
    assert bool(warned) is refused, warned
    if refused:
        assert all("wallboard_wards" in message for message in warned)
        assert any("wards/+/beds/+/adt" in message for message in warned)


async def test_a_secret_client_id_keeps_the_scorer_out_of_reach_of_the_takeover(
    locked_nats: LockedNats,
) -> None:
    """The mitigation of the residual risk above (`[broker] client_id_env`): a scorer whose
    MQTT client id is a secret is not cut off by an intruder who connects with the name it is
    known by, its user name or its public `client_id`; it keeps publishing, and the broker
    logs no takeover of it."""
    tag = uuid.uuid4().hex[:10]
    secret = f"{SCORER}-{uuid.uuid4().hex}"
    sent = [f"canary-{tag}-{n}".encode() for n in range(3)]
    logged = len(locked_nats.log_text())
    async with witness(locked_nats) as seen:
        async with client(locked_nats, SCORER, identifier=secret) as scorer:
            await scorer.publish(fill(SCORE, tag), sent[0], qos=1)
            for guess in (SCORER, "ward-surveillance"):
                async with client(locked_nats, BOARD, identifier=guess):
                    await asyncio.sleep(0.3)
            await scorer.publish(fill(SCORE, tag), sent[1], qos=1, timeout=5)
            await asyncio.sleep(0.5)
            await scorer.publish(fill(SCORE, tag), sent[2], qos=1, timeout=5)
        await seen.wait(lambda inbox: all(s in inbox.payloads() for s in sent))
    assert secret not in locked_nats.log_text()[logged:]  # no "same client ID" for it
