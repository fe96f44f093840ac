"""The production broker as shipped on main (review of issue 14).

The README names NATS with JetStream (`config/nats-server.conf`) the production broker and
Mosquitto the development one; issue 14's lock-down landed for Mosquitto only
(`config/mosquitto-secure.conf`). The shipped production configuration still has no
`authorization` and its MQTT listener is on 0.0.0.0: every forgery of issue 14 works there
from any host. (Branch nats-acl, unmerged at this review, brings a secure NATS configuration.)
Strict xfail: it passes once the shipped production broker refuses an anonymous client.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiomqtt
import pytest

from tests.nats_broker import NatsServer


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="review14 F0: config/nats-server.conf, the README's production broker, lets an "
    "anonymous client read every observation and forge a heartbeat",
)
async def test_the_shipped_production_broker_refuses_an_anonymous_client(
    nats: NatsServer,
) -> None:
    tag = uuid.uuid4().hex[:8]
    forged = f'{{"forged": "{tag}"}}'.encode()
    try:
        async with (
            aiomqtt.Client(nats.host, nats.port, identifier=f"snoop-{tag}") as snoop,
            aiomqtt.Client(nats.host, nats.port, identifier=f"forger-{tag}") as forger,
        ):
            await snoop.subscribe("surveillance/heartbeat", qos=1)
            await forger.publish("surveillance/heartbeat", forged, qos=1)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3):
                    async for message in snoop.messages:
                        assert message.payload != forged, "an anonymous heartbeat got through"
    except aiomqtt.MqttCodeError as refused:  # what a locked-down broker says
        if "authori" not in str(refused).lower():
            raise
