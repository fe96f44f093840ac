"""Simulator and replay throughput (issue 3 goals).

1. Record 1,000 beds × 24 h of mixed monitoring (40 wards × 25 beds), gzip and plain:
   events generated per second, wall time, file size, peak memory. Goal: well under a minute.
2. Replay that recording at --speed 0 to a private Mosquitto (started here on a free port)
   with a QoS 1 subscriber counting what arrives: messages per second, and that all arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

import aiomqtt

from ingest import parse_broker_url
from scoring import load_charts
from simulators import SimConfig, count_messages, publish, read_recording, simulate, write_recording
from tests.mqtt_broker import MOSQUITTO, Mosquitto


def record(path: Path, config: SimConfig) -> tuple[int, float]:
    start = time.perf_counter()
    count = write_recording(path, simulate(config, load_charts()), {"seed": config.seed})
    return count, time.perf_counter() - start


async def replay(path: Path, url: str, total: int) -> tuple[float, int]:
    broker = parse_broker_url(url)
    received = 0
    done = asyncio.Event()

    async def count() -> None:
        nonlocal received
        async with aiomqtt.Client(broker.host, broker.port, max_queued_incoming_messages=0) as sub:
            await sub.subscribe("#", qos=1)
            ready.set()
            async for _ in sub.messages:
                received += 1
                if received == total:
                    done.set()
                    return

    ready = asyncio.Event()
    counter = asyncio.create_task(count())
    await ready.wait()
    stats = await publish(read_recording(path), broker, speed=0, total=total, progress=False)
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    except TimeoutError:
        counter.cancel()
    return stats.rate, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wards", type=int, default=40)
    parser.add_argument("--beds", type=int, default=25)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--no-replay", action="store_true")
    args = parser.parse_args()
    config = SimConfig(wards=args.wards, beds=args.beds, hours=args.hours, mode="mixed", seed=1)
    beds = args.wards * args.beds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"simulate: {beds} beds × {args.hours:g} h, mixed monitoring")
        for name in ("ward.jsonl.gz", "ward.jsonl"):
            count, seconds = record(folder / name, config)
            size = (folder / name).stat().st_size / 1e6
            print(
                f"  record {name:14} {count:>9,} events in {seconds:5.1f} s = "
                f"{count / seconds:>8,.0f} events/s, {size:6.1f} MB"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory {peak:,.0f} MB")
        if args.no_replay:
            return
        broker = Mosquitto(MOSQUITTO, folder)
        broker.start()
        try:
            path = folder / "ward.jsonl.gz"
            total = count_messages(path)
            start = time.perf_counter()
            rate, received = asyncio.run(replay(path, broker.url, total))
            seconds = time.perf_counter() - start
        finally:
            broker.stop()
        print("replay --speed 0 to a private Mosquitto, QoS 1, one subscriber counting")
        print(
            f"  {total:,} messages in {seconds:.1f} s: publisher {rate:,.0f} msg/s; "
            f"subscriber received {received:,} ({'all' if received == total else 'MISSING SOME'})"
        )


if __name__ == "__main__":
    main()
