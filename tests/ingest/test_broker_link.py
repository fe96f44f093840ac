"""The broker link's use of aiomqtt's and paho's private parts (`ingest._broker._Paho`).

The manual PUBACK and the fast publish path reach under aiomqtt 2.x; this pins the versions
they were written against, so an upgrade fails here, loudly, instead of in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from importlib.metadata import version

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.exception import MalformedPacket

from ingest import parse_broker_url
from ingest._broker import WRITTEN_AGAINST, BrokerLink, Received, _Paho
from tests.mqtt_broker import Mosquitto


def test_the_mqtt_client_versions_are_those_the_workarounds_were_written_against() -> None:
    installed = {name: version(name) for name in WRITTEN_AGAINST}
    assert installed == WRITTEN_AGAINST, (
        "aiomqtt or paho-mqtt changed: check ingest/_broker.py `_Paho` (manual PUBACK, "
        "`_pending_publishes`, `_disconnected`) against the new versions, then update "
        "WRITTEN_AGAINST"
    )


async def test_the_private_parts_used_are_there() -> None:
    client = aiomqtt.Client("127.0.0.1", 1883)
    assert isinstance(client._client, paho.Client)
    assert isinstance(client._pending_publishes, dict)
    assert isinstance(client._disconnected, asyncio.Future)
    assert callable(client._client.manual_ack_set)
    assert callable(client._client.ack)


async def test_a_window_is_published_and_acknowledged(mosquitto: Mosquitto) -> None:
    broker = parse_broker_url(mosquitto.url)
    topic = f"test/link/{uuid.uuid4().hex[:8]}"
    n = 700
    got: list[bytes] = []
    async with aiomqtt.Client(broker.host, broker.port) as listener:
        await listener.subscribe(f"{topic}/#", qos=1)
        link = BrokerLink(broker, client_id=f"link-{uuid.uuid4().hex[:8]}")
        link.publish_window = 256
        async with link:

            async def consume() -> None:
                async for _ in link.batches():
                    pass

            reading = asyncio.create_task(consume())
            await asyncio.wait_for(link.wait_connected(), 10)
            await link.publish(
                [(f"{topic}/{i}", str(i).encode(), False, f"k{i}") for i in range(n)]
            )
            assert link.outbox == 0
            assert link.take_published() == [f"k{i}" for i in range(n)]
            client = link._client
            assert client is not None
            assert client._pending_publishes == {}  # nothing left behind
            async with asyncio.timeout(10):
                async for message in listener.messages:
                    assert isinstance(message.payload, bytes)
                    got.append(message.payload)
                    if len(got) == n:
                        break
            reading.cancel()
    assert sorted(int(p) for p in got) == list(range(n))


async def test_a_lost_connection_fails_the_window_instead_of_waiting() -> None:
    """Acks that cannot come (the connection is gone) end the wait at once."""
    loop = asyncio.get_running_loop()
    client = aiomqtt.Client("127.0.0.1", 1883)
    client._disconnected = loop.create_future()
    link = _Paho(client)
    sent: list[str] = []

    class Info:
        rc = paho.MQTT_ERR_SUCCESS
        mid = 1

        def is_published(self) -> bool:
            return False

    class Paho:
        def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> Info:
            sent.append(topic)
            return Info()

    link.paho = Paho()  # type: ignore[assignment]
    loop.call_later(0.05, client._disconnected.set_exception, aiomqtt.MqttError("gone"))
    with pytest.raises(aiomqtt.MqttError, match="lost"):
        await link.publish_all([("t", b"x", False, None)], timeout=5)
    assert sent == ["t"]
    assert client._pending_publishes == {}
    assert isinstance(client._disconnected.exception(), aiomqtt.MqttError)


async def test_inputs_arrive_in_order_in_batches_and_are_sent_again_until_acknowledged(
    mosquitto: Mosquitto,
) -> None:
    broker = parse_broker_url(mosquitto.url)
    ward = uuid.uuid4().hex[:8]
    topics = [f"wards/{ward}/beds/{i % 5}/obs" for i in range(300)]
    client_id = f"link-{uuid.uuid4().hex[:8]}"

    async def read(n: int, *, ack: bool) -> list[Received]:
        got: list[Received] = []
        link = BrokerLink(broker, client_id=client_id, max_batch=64)
        async with link:
            async with asyncio.timeout(20):
                async for batch in link.batches():
                    assert 1 <= len(batch) <= 64
                    got.extend(r for r in batch if ward in r.topic)
                    if ack:
                        link.ack([r.token for r in batch])
                    if len(got) >= n:
                        break
        return got

    link = BrokerLink(broker, client_id=client_id)
    async with link:  # the persistent session exists: the broker keeps what comes

        async def consume() -> None:
            async for _ in link.batches():
                pass

        reading = asyncio.create_task(consume())
        await asyncio.wait_for(link.wait_connected(), 10)
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading  # disconnected before anything is published
    async with aiomqtt.Client(broker.host, broker.port) as publisher:
        for i, topic in enumerate(topics):
            await publisher.publish(topic, str(i).encode(), qos=1)
    first = await read(50, ack=False)  # the broker's window (100 in the tests) allows 50
    assert [(r.topic, r.payload) for r in first[:50]] == [
        (t, str(i).encode()) for i, t in enumerate(topics[:50])
    ]
    again = await read(300, ack=True)  # never acknowledged: sent again, then the rest
    assert [(r.topic, r.payload) for r in again] == [
        (t, str(i).encode()) for i, t in enumerate(topics)
    ]


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5])
async def test_the_lean_puback_handler_does_what_pahos_does(
    protocol: int,
) -> None:
    """`lean_pubacks`: an MQTT 3.1.1 PUBACK completes its message and calls the PUBACK
    callback as paho's own handler would; anything else is left to paho's handler."""
    client = aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion(protocol))
    inner = client._client
    full = inner._handle_pubackcomp
    _Paho(client).lean_pubacks()
    if protocol == paho.MQTTv5:
        assert inner._handle_pubackcomp == full  # MQTT 5 PUBACKs carry a reason: paho's
        return
    told: list[int] = []
    inner.on_publish = lambda _c, _u, mid, reason, _props: told.append(mid)
    message = paho.MQTTMessage(mid=0x1234)
    inner._out_messages[0x1234] = message
    inner._in_packet["packet"] = bytearray(b"\x12\x34")
    assert inner._handle_pubackcomp("PUBACK") == paho.MQTT_ERR_SUCCESS
    assert told == [0x1234]
    assert message.info.is_published()
    assert 0x1234 not in inner._out_messages
    # A PUBACK for a message no longer in flight (a repeat): nothing happens, as in paho.
    assert inner._handle_pubackcomp("PUBACK") == paho.MQTT_ERR_SUCCESS
    assert told == [0x1234]
    # A malformed PUBACK goes to paho's own handler, which refuses it.
    inner._in_packet["packet"] = bytearray(b"\x12\x34\x00")
    with pytest.raises(MalformedPacket):
        inner._handle_pubackcomp("PUBACK")


async def test_a_batch_of_pubacks_is_the_bytes_paho_would_send_in_one_write() -> None:
    def queued(acknowledge: object) -> list[bytes]:
        client = aiomqtt.Client("127.0.0.1", 1883)
        inner = client._client
        inner.manual_ack_set(True)
        acknowledge(client)  # type: ignore[operator]
        return [bytes(packet["packet"]) for packet in inner._out_packet]

    mids = [1, 2, 0x1234, 0xFFFF]
    pahos = queued(lambda c: [c._client.ack(mid, 1) for mid in mids])
    ours = queued(lambda c: _Paho(c).ack(mids))
    assert len(pahos) == len(mids)
    assert ours == [b"".join(pahos)]  # the same bytes, one write
    assert queued(lambda c: _Paho(c).ack([])) == []
