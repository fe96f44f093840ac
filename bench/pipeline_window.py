"""The service's publish window: QoS 1 publishes in flight at once, measured.

For each window size, N retained score-sized messages are published to a private Mosquitto
two ways, in the same run:
- `link`: `BrokerLink.publish` (the service's path: paho's publish, one countdown per window);
- `aiomqtt`: `aiomqtt.Client.publish` gathered a window at a time (the path before), whose
  every call scans every pending call.
It prints messages/s and the CPU time of this process per message (all threads).

Usage: bench/pipeline_window [--messages 20000] [--windows 16,64,256,512,1024,4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt

from ingest import BrokerLink, parse_broker_url
from tests.mqtt_broker import MOSQUITTO, Mosquitto

PAYLOAD = b'{"patient_id":"P0001","ward":"7A","bed":"12","total":5,"risk":"medium"}' * 6


async def via_link(url: str, n: int, window: int) -> tuple[float, float]:
    link = BrokerLink(parse_broker_url(url), client_id=f"win-{uuid.uuid4().hex[:8]}")
    link.publish_window = window
    messages = [(f"bench/w/{i % 300}/score", PAYLOAD, True, None) for i in range(n)]
    async with link:

        async def consume() -> None:
            async for _ in link.batches():
                pass

        reading = asyncio.create_task(consume())
        await asyncio.wait_for(link.wait_connected(), 10)
        wall, cpu = time.perf_counter(), time.process_time()
        await link.publish(messages)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert link.outbox == 0
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
    return wall, cpu


async def via_aiomqtt(url: str, n: int, window: int) -> tuple[float, float]:
    broker = parse_broker_url(url)
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"win-{uuid.uuid4().hex[:8]}", max_inflight_messages=0
    ) as client:
        client.pending_calls_threshold = window + 64
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, n, window):
            await asyncio.gather(
                *(
                    client.publish(f"bench/w/{i % 300}/score", PAYLOAD, qos=1, retain=True)
                    for i in range(start, min(n, start + window))
                )
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--windows", default="16,64,256,512,1024,4096")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, windows = args.messages, [int(w) for w in args.windows.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(MOSQUITTO, Path(tmp))
        broker.start()
        try:
            print(f"{n:,} QoS 1 publishes of {len(PAYLOAD)} bytes; median of {args.repeat}")
            print(f"{'window':>7} {'path':>8} {'msg/s':>9} {'CPU µs/msg':>11}  (runs: msg/s)")
            for window in windows:
                for name, run in (("link", via_link), ("aiomqtt", via_aiomqtt)):
                    results = [asyncio.run(run(broker.url, n, window)) for _ in range(args.repeat)]
                    rates = [n / wall for wall, _ in results]
                    cpu = statistics.median(1e6 * c / n for _, c in results)
                    runs = ", ".join(f"{r:,.0f}" for r in rates)
                    print(
                        f"{window:>7} {name:>8} {statistics.median(rates):>9,.0f} "
                        f"{cpu:>11.1f}  ({runs})"
                    )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
