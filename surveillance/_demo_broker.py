"""An MQTT broker inside this process (amqtt), for `surveillance demo`: nothing external needed.

Demo only: a production site runs a real broker (Mosquitto, NATS, ...).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def in_process_broker() -> AsyncIterator[int]:
    """An anonymous broker on a free port of 127.0.0.1; yields the port, shuts down on exit."""
    from amqtt.broker import Broker  # noqa: PLC0415 - only the demo needs an in-process broker
    from amqtt.contexts import BrokerConfig, ListenerConfig  # noqa: PLC0415

    port = free_port()
    broker = Broker(
        BrokerConfig(
            listeners={"default": ListenerConfig(bind=f"127.0.0.1:{port}")},
            plugins={"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        )
    )
    await broker.start()
    try:
        yield port
    finally:
        await broker.shutdown()


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
