"""What a broker loses when it is killed with -9 mid-stream: Mosquitto and NATS, shipped settings.

For each broker, started privately from its shipped configuration file (config/mosquitto.conf,
config/nats-server.conf; only the listener, the files' directory and the log are set here):

1. The service's persistent session: a client with the service's fixed-id, no-clean-session
   MQTT session subscribes with QoS 1 to the input topics (`ingest.input_filters`).
   `--subscriber offline` (default): it then disconnects, as while the service restarts.
   `--subscriber slow`: it stays connected and acknowledges (PUBACK) `--slow-rate` messages a
   second, as a service whose store is slow.
2. A publisher sends a retained admission for each of `--beds` beds, then `--messages` QoS 1
   observations as fast as the broker acknowledges them, recording every PUBACK
   (tests.nats_broker.AckedPublisher).
3. Half-way through (half the observations acknowledged) the broker gets `kill -9`; it is
   started again on the same files. The publisher reconnects and sends again whatever was not
   acknowledged, then the rest.
4. The subscriber connects again with the same session, subscribes again (as the service does)
   and takes whatever comes, until nothing has come for `--idle` seconds; on NATS, for at
   least its `ack_wait` more (it resends what it had sent and not had acknowledged only then).

Printed for each: messages acknowledged (PUBACK) to the publisher before the kill and in all,
messages delivered to the subscriber (distinct `msg_id`s, either connection), of which late
(only after a quiet spell of `--idle` seconds), lost (acknowledged to the publisher, never
delivered), retained admissions a new subscriber is given before the kill and after the
restart. Mosquitto is run twice: killed before its first autosave, and with
its database saved (SIGUSR1, as an autosave would) just before the stream, the best point of its
`autosave_interval` cycle for the kill to fall.

Usage: python -m bench.broker_loss [--messages 6000] [--beds 50] [--subscriber offline|slow]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import re
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiomqtt
import msgspec

from bench.pipeline import adt_messages, obs_messages
from ingest import input_filters
from tests.mqtt_broker import MOSQUITTO, Mosquitto
from tests.nats_broker import CONFIG as NATS_CONFIG
from tests.nats_broker import AckedPublisher, NatsServer, nats_executable

MOSQUITTO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "mosquitto.conf"
SERVICE_ID = "bench-scorer"
"""The subscriber's fixed client id, like the service's."""


class Broker(Protocol):
    host: str
    port: int

    def start(self) -> None: ...
    def kill(self) -> None: ...
    def stop(self) -> None: ...


class ShippedMosquitto(Mosquitto):
    """Mosquitto with config/mosquitto.conf as shipped (persistence, autosave_interval 60, no
    queue limit, 1,000 in flight); only the listener, the database's directory, the user to run
    as and the log are set here. `kill()` is `kill -9`; `save()` is SIGUSR1 (save now)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        super().__init__(executable, workdir)
        shipped, found = re.subn(
            r"^persistence_location .*$",
            f"persistence_location {workdir}/",
            MOSQUITTO_CONFIG.read_text(),
            flags=re.MULTILINE,
        )
        assert found == 1, f"{MOSQUITTO_CONFIG}: no persistence_location line"
        self._conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            f"user {getpass.getuser()}\n"
            f"{shipped}\n"
            f"log_dest file {self._log}\n"
            "log_type error\n"
            "log_type warning\n"
            "connection_messages false\n"
        )

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def save(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)  # the save is asynchronous to the signal


@dataclass
class Result:
    name: str
    messages: int
    acked_before_kill: int
    acked: int
    delivered: int
    lost_acked_before_kill: int
    lost: int
    late: int
    retained_before: int
    retained_after: int
    seconds: float


async def count_retained(broker: Broker, expected: int) -> int:
    """Retained admissions a new subscriber is given (waits up to 3 s for `expected`)."""
    seen: set[str] = set()
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"bench-late-{uuid.uuid4().hex[:8]}"
    ) as client:
        await client.subscribe("wards/+/beds/+/adt", qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                async for message in client.messages:
                    if message.retain:
                        seen.add(message.topic.value)
                    if len(seen) >= expected:
                        break
    return len(seen)


class Subscriber:
    """The service's persistent session; records the `msg_id` of every observation delivered."""

    def __init__(self, broker: Broker, slow_rate: float) -> None:
        self.broker = broker
        self.slow_rate = slow_rate
        self.delivered: set[str] = set()
        self.late: set[str] = set()
        self.quiet = False  # the drain has seen `idle` seconds without a message
        self.last_arrival = time.monotonic()
        self._decode = msgspec.json.Decoder().decode

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=SERVICE_ID,
            clean_session=False,
            max_inflight_messages=0,
        )

    def _note(self, message: aiomqtt.Message) -> None:
        self.last_arrival = time.monotonic()
        if message.topic.value.endswith("/obs") and isinstance(message.payload, bytes):
            msg_id = self._decode(message.payload)["msg_id"]
            if self.quiet and msg_id not in self.delivered:
                self.late.add(msg_id)
            self.delivered.add(msg_id)

    async def subscribe_and_leave(self) -> None:
        async with self._client() as client:
            await client.subscribe([(topic, 1) for topic in input_filters()])

    async def slow(self) -> None:
        """Connected, acknowledging `slow_rate` messages a second, until the connection drops."""
        with contextlib.suppress(aiomqtt.MqttError):
            async with self._client() as client:
                client._client.manual_ack_set(True)  # as ingest._broker does
                await client.subscribe([(topic, 1) for topic in input_filters()])
                async for message in client.messages:
                    self._note(message)
                    await asyncio.sleep(1 / self.slow_rate)
                    if message.mid:
                        client._client.ack(message.mid, 1)

    async def drain(self, idle: float, at_least: float) -> None:
        """Connect again (same session), subscribe again, take everything until idle for
        `idle` seconds and `at_least` seconds have passed; what comes after a quiet spell of
        `idle` seconds is also counted as late."""
        start = time.monotonic()
        async with self._client() as client:
            await client.subscribe([(topic, 1) for topic in input_filters()])

            async def take() -> None:
                async for message in client.messages:
                    self._note(message)

            task = asyncio.create_task(take())
            self.last_arrival = time.monotonic()
            while True:
                await asyncio.sleep(0.1)
                now = time.monotonic()
                if now - self.last_arrival >= idle:
                    self.quiet = True
                    if now - start >= at_least:
                        break
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_one(
    name: str,
    broker: Broker,
    args: argparse.Namespace,
    *,
    redelivery_wait: float,
    save_before_stream: bool = False,
) -> Result:
    t0 = int(time.time())
    tag = f"L{uuid.uuid4().hex[:4]}"
    admissions = [(m.topic, m.payload, True) for m in adt_messages(tag, args.beds, t0)]
    observations = [
        (m.topic, m.payload, False) for m in obs_messages(tag, args.beds, args.messages, t0)
    ]
    started = time.monotonic()
    await asyncio.to_thread(broker.start)
    subscriber = Subscriber(broker, args.slow_rate)
    await subscriber.subscribe_and_leave()
    await AckedPublisher(broker.host, broker.port, admissions).run()
    retained_before = await count_retained(broker, args.beds)
    if save_before_stream:
        assert isinstance(broker, ShippedMosquitto)
        await asyncio.to_thread(broker.save)
    slow = asyncio.create_task(subscriber.slow()) if args.subscriber == "slow" else None
    publisher = AckedPublisher(broker.host, broker.port, observations, client_id=f"{tag}-pub")
    sending = asyncio.create_task(publisher.run())
    async with asyncio.timeout(120):
        while publisher.acked_count < args.messages // 2:
            await asyncio.sleep(0.001)
    broker.kill()  # kill -9
    acked_before = [f"obs-{tag}-{i}" for i, acked in enumerate(publisher.acked) if acked]
    await asyncio.to_thread(broker.start)
    await sending
    if slow is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await slow
    retained_after = await count_retained(broker, args.beds)
    await subscriber.drain(args.idle, redelivery_wait)
    broker.stop()
    every = {f"obs-{tag}-{i}" for i in range(args.messages)}
    return Result(
        name=name,
        messages=args.messages,
        acked_before_kill=len(acked_before),
        acked=publisher.acked_count,
        delivered=len(subscriber.delivered & every),
        lost_acked_before_kill=len(set(acked_before) - subscriber.delivered),
        lost=len(every - subscriber.delivered),
        late=len(subscriber.late & every),
        retained_before=retained_before,
        retained_after=retained_after,
        seconds=time.monotonic() - started,
    )


def nats_ack_wait() -> float:
    """The shipped configuration's `ack_wait`, in seconds."""
    found = re.search(r'^  ack_wait: "(\d+(?:\.\d+)?)s"$', NATS_CONFIG.read_text(), re.MULTILINE)
    assert found, f"{NATS_CONFIG}: no ack_wait line"
    return float(found.group(1))


async def main_async(args: argparse.Namespace) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, saved in (
            ("mosquitto, killed before its first autosave", False),
            ("mosquitto, saved just before the stream", True),
        ):
            sub = folder / f"mosquitto-{int(saved)}"
            sub.mkdir()
            mosquitto = ShippedMosquitto(MOSQUITTO, sub)
            try:
                results.append(
                    await run_one(
                        name, mosquitto, args, redelivery_wait=0.0, save_before_stream=saved
                    )
                )
            finally:
                mosquitto.kill()
        (folder / "nats").mkdir()
        nats = NatsServer(nats_executable(), folder / "nats")  # the shipped settings
        try:
            wait = nats_ack_wait() + args.idle + 2
            results.append(await run_one("nats (JetStream)", nats, args, redelivery_wait=wait))
        finally:
            nats.kill()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=6000, help="QoS 1 observations")
    parser.add_argument("--beds", type=int, default=50, help="beds with a retained admission")
    parser.add_argument("--subscriber", choices=["offline", "slow"], default="offline")
    parser.add_argument(
        "--slow-rate", type=float, default=500.0, help="PUBACKs/s of the slow subscriber"
    )
    parser.add_argument(
        "--idle", type=float, default=3.0, help="seconds without a message that end the drain"
    )
    args = parser.parse_args()
    # A broker killed under them makes paho and asyncio log socket errors: expected here.
    for noisy in ("asyncio", "mqtt"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    print(
        f"kill -9 of the broker mid-stream: {args.messages:,} QoS 1 observations after "
        f"{args.beds} retained admissions; the persistent subscriber is {args.subscriber}"
        + (f" ({args.slow_rate:g} PUBACKs/s)" if args.subscriber == "slow" else "")
    )
    results = asyncio.run(main_async(args))
    print(
        f"{'broker (shipped settings)':<45} {'PUBACKed':>17} {'delivered':>9} {'late':>5} "
        f"{'lost':>17} {'retained':>9} {'s':>5}"
    )
    print(
        f"{'':<45} {'before kill / all':>17} {'':>9} {'':>5} {'of before / all':>17} {'bef/aft':>9}"
    )
    for r in results:
        print(
            f"{r.name:<45} {r.acked_before_kill:>7,} / {r.acked:>6,} {r.delivered:>9,} "
            f"{r.late:>5,} {r.lost_acked_before_kill:>7,} / {r.lost:>6,} "
            f"{r.retained_before:>4}/{r.retained_after:<4} {r.seconds:>5.1f}"
        )
    print(
        "late: delivered only after the subscriber had waited --idle seconds with nothing "
        "coming (NATS resends a message it had sent but not had acknowledged after ack_wait)"
    )


if __name__ == "__main__":
    main()
