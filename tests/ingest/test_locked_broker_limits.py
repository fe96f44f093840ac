"""The locked-down broker bounds what one identity can make it hold (review of issue 14).

Without `max_packet_size`, Mosquitto takes packets up to 256 MiB; with `max_queued_messages 0`
it queues every one for the scorer's persistent session and persists it: a device (or a
stolen device credential) could fill the broker's memory and disk, and every ward would lose
its monitoring. The service itself refuses any payload over `ingest.MAX_PAYLOAD` (256 KiB).
"""

from __future__ import annotations

import contextlib
import uuid

import aiomqtt

from ingest import MAX_PAYLOAD
from tests.mqtt_locked import WITNESS, LockedMosquitto, client, receiving

DEVICE = "dev-MED1-wearables"


async def test_an_oversized_message_is_refused_and_a_largest_one_is_delivered(
    locked_mosquitto: LockedMosquitto,
) -> None:
    tag = uuid.uuid4().hex[:10]
    topic = f"wards/MED1/beds/b{tag}/obs"
    largest = b"L" * MAX_PAYLOAD  # the largest payload the service reads: delivered
    oversized = b"O" * (2 * 1024 * 1024)
    canary = f"canary-{tag}".encode()
    async with client(locked_mosquitto, WITNESS) as w, receiving(w, topic) as seen:
        async with client(locked_mosquitto, DEVICE) as c:
            await c.publish(topic, largest, qos=1)
        with contextlib.suppress(aiomqtt.MqttError):  # the broker hangs up on it
            async with client(locked_mosquitto, DEVICE) as c:
                await c.publish(topic, oversized, qos=1, timeout=3)
        async with client(locked_mosquitto, DEVICE) as c:
            await c.publish(topic, canary, qos=1)
        await seen.wait(lambda inbox: canary in inbox.payloads())
    sizes = [len(payload) for payload in seen.payloads()]
    assert sizes == [len(largest), len(canary)]
