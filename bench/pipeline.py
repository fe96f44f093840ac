"""The live pipeline against a bare aiomqtt subscriber, on one private Mosquitto.

1. Bare subscriber: a plain aiomqtt client subscribed (QoS 1) to the input topics receives N
   native-JSON observation sets published at --speed 0 by `simulators.publish`: messages/s,
   first to last message.
2. Pipeline: the same kind of stream (other patients, admitted first by retained ADT) through
   the real service (`Service`, store in a temporary directory or --store URL): observations
   scored per second, first received to the last one scored, and the time until the store
   writer has flushed. Ratio pipeline / bare (goal: at least 50 %).
3. Latency: a paced stream at --rate obs/s for --seconds through a fresh service run; a
   separate subscriber on `wards/+/beds/+/score` records, for each score, now minus the
   wall-clock time its observation was handed to the publishing client: p50, p90, p99, max.

Mosquitto runs with `set_tcp_nodelay true`, as config/mosquitto.conf recommends (`--nagle`
leaves Mosquitto's default: a PUBACK can then wait ~40 ms for a delayed TCP ACK).

Publishers (and the latency phase's score subscriber) run in a separate process, so the
process measured (bare subscriber or service) has its own event loop to itself, as in
production.

Usage: bench/pipeline [--beds 300] [--messages 20000] [--rate 2000] [--seconds 20] [--store URL]
                      [--window N] [--nagle] [--profile FILE]

`--profile FILE` runs phase 2 under cProfile (the event loop's thread: the service's Python)
and writes the stats to FILE (`python -m pstats FILE`), printing the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import cProfile
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec

from ingest import input_filters, parse_broker_url
from scoring import load_charts
from simulators import Message, publish, rfc3339
from surveillance import Service, load_settings, settle_gc
from tests.mqtt_broker import MOSQUITTO, Mosquitto

BEDS_PER_WARD = 25
WINDOW = 256
"""In-flight QoS 1 publishes of the paced publisher."""
SUSTAINED_P99_MS = 1000.0
"""A p99 latency at or above this means the service did not keep up with the rate."""
DRAIN = 60.0
"""Seconds to wait for the last results after the last message is published."""
ENCODE = msgspec.json.Encoder().encode


# --- the streams (module level: also used in the publisher process) ---------------------------


def places(tag: str, beds: int) -> list[tuple[str, str, str]]:
    """(ward, bed, patient) for `beds` beds, 25 to a ward."""
    return [
        (f"{tag}{i // BEDS_PER_WARD:02d}", str(i % BEDS_PER_WARD + 1), f"{tag}-P{i:04d}")
        for i in range(beds)
    ]


def adt_messages(tag: str, beds: int, t0: int) -> list[Message]:
    """A retained admission for every bed, an hour before `t0`."""
    return [
        Message(
            t0 - 3600,
            f"wards/{ward}/beds/{bed}/adt",
            ENCODE(
                {
                    "msg_id": f"adt-{patient}",
                    "time": rfc3339(t0 - 3600),
                    "event": "admit",
                    "patient_id": patient,
                    "cohort": "adult",
                    "birth_date": "1948-03-02",
                }
            ),
            True,
        )
        for ward, bed, patient in places(tag, beds)
    ]


def observation(tag: str, where: list[tuple[str, str, str]], i: int, t0: int) -> Message:
    """Observation set i: beds in turn, one second later at each round; vitals vary a little."""
    ward, bed, patient = where[i % len(where)]
    t = t0 + i // len(where)
    vitals = {
        "resp_rate": 12 + (i * 3) % 10,
        "spo2": 94 + i % 5,
        "on_oxygen": False,
        "systolic_bp": 105 + (i * 11) % 40,
        "diastolic_bp": 70,
        "heart_rate": 60 + (i * 7) % 50,
        "consciousness": "A",
        "temperature": 36.5 + (i % 10) / 10,
    }
    payload = ENCODE(
        {
            "msg_id": f"obs-{tag}-{i}",
            "patient_id": patient,
            "time": rfc3339(t),
            "source": "monitor",
            "vitals": vitals,
        }
    )
    return Message(t, f"wards/{ward}/beds/{bed}/obs", payload)


def obs_messages(tag: str, beds: int, n: int, t0: int) -> list[Message]:
    where = places(tag, beds)
    return [observation(tag, where, i, t0) for i in range(n)]


# --- the publisher process ---------------------------------------------------------------------


def warm_up() -> int:
    """Nothing; makes the worker process import this module before anything is timed."""
    return os.getpid()


def publish_fast(plan: Plan, tag: str) -> tuple[float, float]:
    """Publish the observations at speed 0; (publisher msg/s, seconds)."""
    messages = obs_messages(tag, plan.beds, plan.messages, plan.t0)
    stats = asyncio.run(
        publish(
            messages,
            parse_broker_url(plan.url),
            speed=0,
            progress=False,
            client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
        )
    )
    return stats.rate, stats.seconds


@dataclass(frozen=True)
class Plan:
    """What to run: broker, admitted beds, stream sizes and the paced rate."""

    url: str
    beds: int
    messages: int
    rate: float
    seconds: float
    t0: int
    window: int | None = None  # the service's publish window (None: its default)


@dataclass(frozen=True)
class Latency:
    """What the paced phase measured."""

    sent: int
    scores: int
    send_seconds: float
    acked_seconds: float
    latencies_ms: list[float]  # in the order the observations were sent
    last_score_seconds: float
    first_quarter_p50: float
    last_quarter_p50: float


def publish_paced(plan: Plan, tag: str) -> Latency:
    return asyncio.run(_paced(plan, tag))


async def _paced(plan: Plan, tag: str) -> Latency:
    broker = parse_broker_url(plan.url)
    rate = plan.rate
    n = round(rate * plan.seconds)
    where = places(tag, plan.beds)
    messages = [observation(tag, where, i, plan.t0) for i in range(n)]
    sent_at: dict[str, tuple[int, float]] = {}
    latency: list[float | None] = [None] * n
    got = 0
    last_score = 0.0
    everything = asyncio.Event()
    decode = msgspec.json.Decoder().decode
    tail = f"obs-{tag}-"

    async with (
        aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=f"bench-scores-{uuid.uuid4().hex[:8]}",
            max_queued_incoming_messages=0,
        ) as scores,
        aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=f"bench-paced-{uuid.uuid4().hex[:8]}",
            max_inflight_messages=0,
        ) as client,
    ):
        await scores.subscribe("wards/+/beds/+/score", qos=1)

        async def listen() -> None:
            nonlocal got, last_score
            async for message in scores.messages:
                now = time.time()
                mid = decode(message.payload).get("obs_msg_id")
                if not isinstance(mid, str) or not mid.startswith(tail):
                    continue  # retained scores of earlier phases
                entry = sent_at.pop(mid, None)
                if entry is None:
                    continue
                index, then = entry
                latency[index] = (now - then) * 1000
                got += 1
                last_score = now
                if got == n:
                    everything.set()

        listener = asyncio.create_task(listen())
        client.pending_calls_threshold = WINDOW + 1
        window = asyncio.Semaphore(WINDOW)
        pending: set[asyncio.Task[None]] = set()

        async def send(message: Message) -> None:
            try:
                await client.publish(message.topic, message.payload, qos=1)
            finally:
                window.release()

        start = time.time()
        for i, message in enumerate(messages):
            delay = start + i / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await window.acquire()
            sent_at[f"{tail}{i}"] = (i, time.time())
            task = asyncio.create_task(send(message))
            pending.add(task)
            task.add_done_callback(pending.discard)
        send_seconds = time.time() - start
        if pending:
            await asyncio.gather(*pending)
        acked_seconds = time.time() - start
        try:
            async with asyncio.timeout(DRAIN):
                await everything.wait()
        except TimeoutError:
            pass
        listener.cancel()
    measured = [x for x in latency if x is not None]
    quarter = max(1, n // 4)
    first = [x for x in latency[:quarter] if x is not None]
    last = [x for x in latency[-quarter:] if x is not None]
    return Latency(
        sent=n,
        scores=got,
        send_seconds=send_seconds,
        acked_seconds=acked_seconds,
        latencies_ms=measured,
        last_score_seconds=last_score - start if last_score else 0.0,
        first_quarter_p50=percentile(first, 50),
        last_quarter_p50=percentile(last, 50),
    )


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[min(len(ordered), int(rank)) - 1]


# --- the measured process ----------------------------------------------------------------------


async def bare_phase(
    plan: Plan, pool: concurrent.futures.Executor
) -> tuple[int, float, float, float]:
    """(received, seconds first to last, publisher msg/s, CPU seconds of this process)."""
    broker = parse_broker_url(plan.url)
    n = plan.messages
    loop = asyncio.get_running_loop()
    received = 0
    first = last = 0.0
    cpu = 0.0
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=f"bench-bare-{uuid.uuid4().hex[:8]}",
        max_queued_incoming_messages=0,
    ) as sub:
        await sub.subscribe([(topic, 1) for topic in input_filters()])
        cpu = time.process_time()
        publisher = loop.run_in_executor(pool, publish_fast, plan, "A")
        try:
            async with asyncio.timeout(120):
                async for _ in sub.messages:
                    last = time.perf_counter()
                    if received == 0:
                        first = last
                    received += 1
                    if received == n:
                        break
        except TimeoutError:
            pass
        cpu = time.process_time() - cpu
        rate, _ = await publisher
    return received, last - first, rate, cpu


@dataclass
class PipelineRun:
    scored: int
    seconds: float
    flushed_seconds: float
    publisher_rate: float
    dead_letters: int
    duplicates: int
    alerts: int
    cpu_seconds: float  # of the service's process, all threads, until the store is flushed


def make_service(url: str, store: str, window: int | None = None) -> Service:
    settings = load_settings(
        None,
        {
            "broker.url": url,
            "broker.client_id": f"bench-scorer-{uuid.uuid4().hex[:8]}",
            "store.url": store,
            "http.port": 0,
        },
    )
    service = Service(settings, load_charts())
    if window is not None:
        service.link.publish_window = window
    return service


async def start(service: Service) -> asyncio.Task[None]:
    task = asyncio.create_task(service.run())
    started = asyncio.create_task(service.started.wait())
    await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    if not service.started.is_set():
        msg = "the service did not start in 30 s"
        raise RuntimeError(msg)
    if not os.environ.get("BENCH_DEFAULT_GC"):
        settle_gc()  # as `surveillance run` does once the service has started
    return task


async def stop(service: Service, task: asyncio.Task[None]) -> None:
    service.stop.set()
    await asyncio.wait_for(task, 60)


async def admit(plan: Plan, service: Service, tag: str, expected: int) -> None:
    """Publish the retained ADTs and wait until the service has received `expected` inputs."""
    adts = adt_messages(tag, plan.beds, plan.t0)
    await publish(adts, parse_broker_url(plan.url), speed=0, progress=False)
    async with asyncio.timeout(60):
        while service.counters.received < expected:
            await asyncio.sleep(0.01)
    await settled(service)


async def settled(service: Service) -> None:
    """Until the store writer has nothing pending and the outbox is empty."""
    while True:
        health = service.health()["scorer"]
        if health["store_pending"] == 0 and health["outbox"] == 0:
            return
        await asyncio.sleep(0.002)


async def pipeline_phase(
    plan: Plan,
    pool: concurrent.futures.Executor,
    store: str,
    profiler: cProfile.Profile | None = None,
) -> PipelineRun:
    n = plan.messages
    service = make_service(plan.url, store, plan.window)
    task = await start(service)
    try:
        await admit(plan, service, "B", plan.beds)
        counters = service.counters
        base_received, base_scored = counters.received, counters.scored
        base_dead, base_dups, base_alerts = (
            counters.dead_letters,
            counters.duplicates,
            counters.alerts,
        )
        loop = asyncio.get_running_loop()
        if profiler is not None:
            profiler.enable()
        cpu = time.process_time()
        publisher = loop.run_in_executor(pool, publish_fast, plan, "B")
        first = end = 0.0
        async with asyncio.timeout(300):
            while counters.received == base_received:
                await asyncio.sleep(0.001)
            first = time.perf_counter()
            while counters.scored - base_scored + counters.dead_letters - base_dead < n:
                await asyncio.sleep(0.001)
            end = time.perf_counter()
            await settled(service)
        flushed = time.perf_counter()
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
        rate, _ = await publisher
        return PipelineRun(
            scored=counters.scored - base_scored,
            seconds=end - first,
            flushed_seconds=flushed - first,
            publisher_rate=rate,
            dead_letters=counters.dead_letters - base_dead,
            duplicates=counters.duplicates - base_dups,
            alerts=counters.alerts - base_alerts,
            cpu_seconds=cpu,
        )
    finally:
        await stop(service, task)


async def latency_phase(
    plan: Plan, pool: concurrent.futures.Executor, store: str, retained_adts: int
) -> tuple[Latency, int, int]:
    """The paced run; (latency, dead letters, scored) of the service."""
    service = make_service(plan.url, store, plan.window)
    task = await start(service)
    try:
        await admit(plan, service, "C", retained_adts)
        counters = service.counters
        base_dead, base_scored = counters.dead_letters, counters.scored
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(pool, publish_paced, plan, "C")
        await settled(service)
        return result, counters.dead_letters - base_dead, counters.scored - base_scored
    finally:
        await stop(service, task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--beds", type=int, default=300, help="admitted beds (25 to a ward)")
    parser.add_argument("--messages", type=int, default=20_000, help="observations, phases 1-2")
    parser.add_argument("--rate", type=float, default=2_000, help="obs/s of the paced phase")
    parser.add_argument("--seconds", type=float, default=20, help="length of the paced phase")
    parser.add_argument(
        "--store", default="sqlite", help="`sqlite` (a temporary file) or a postgresql:// URL"
    )
    parser.add_argument(
        "--window", type=int, help="the service's publish window (QoS 1 publishes in flight)"
    )
    parser.add_argument(
        "--nagle",
        action="store_true",
        help="leave Mosquitto's set_tcp_nodelay at its default (false), unlike "
        "config/mosquitto.conf",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile phase 2 into FILE")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    beds, n = args.beds, args.messages
    t0 = int(time.time())
    spawn = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as tmp,
        concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool,
    ):
        folder = Path(tmp)
        pool.submit(warm_up).result()
        broker = Mosquitto(MOSQUITTO, folder)
        if not args.nagle:  # as config/mosquitto.conf recommends
            broker._conf.write_text(broker._conf.read_text() + "set_tcp_nodelay true\n")
        broker.start()
        plan = Plan(broker.url, beds, n, args.rate, args.seconds, t0, args.window)
        stores = (
            (f"sqlite:///{folder / 'pipeline.db'}", f"sqlite:///{folder / 'latency.db'}")
            if args.store == "sqlite"
            else (args.store, args.store)
        )
        try:
            print(f"private Mosquitto on {broker.url}; {beds} admitted beds; store {args.store}")
            received, bare_s, bare_pub, bare_cpu = asyncio.run(bare_phase(plan, pool))
            bare_rate = received / bare_s if bare_s > 0 else float("nan")
            print(
                f"1. bare subscriber: {received:,}/{n:,} obs in {bare_s:.2f} s = "
                f"{bare_rate:,.0f} msg/s (publisher {bare_pub:,.0f} msg/s); "
                f"CPU {1e6 * bare_cpu / max(received, 1):.0f} µs/msg"
            )
            run = asyncio.run(pipeline_phase(plan, pool, stores[0], profiler))
            if profiler is not None:
                profiler.dump_stats(args.profile)
                pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
            pipe_rate = run.scored / run.seconds if run.seconds > 0 else float("nan")
            ratio = pipe_rate / bare_rate
            print(
                f"2. pipeline: {run.scored:,}/{n:,} scored in {run.seconds:.2f} s = "
                f"{pipe_rate:,.0f} obs/s ({ratio:.0%} of bare; goal >= 50 %), "
                f"store flushed at {run.flushed_seconds:.2f} s; dead letters {run.dead_letters}, "
                f"duplicates {run.duplicates}, alerts {run.alerts}; "
                f"CPU {1e6 * run.cpu_seconds / max(run.scored, 1):.0f} µs/obs"
            )
            lat, dead, scored = asyncio.run(latency_phase(plan, pool, stores[1], 2 * beds))
        finally:
            broker.stop()
    achieved = lat.sent / lat.send_seconds if lat.send_seconds > 0 else float("nan")
    p50, p90, p99 = (percentile(lat.latencies_ms, p) for p in (50, 90, 99))
    worst = max(lat.latencies_ms, default=float("nan"))
    all_in = lat.scores == lat.sent
    scored_rate = lat.scores / lat.last_score_seconds if lat.last_score_seconds > 0 else 0.0
    # Kept up: the publisher held the rate, every score came, and none waited a second or more.
    sustained = achieved >= 0.98 * args.rate and all_in and p99 < SUSTAINED_P99_MS
    print(
        f"3. latency at {args.rate:,.0f} obs/s for {args.seconds:g} s: published {lat.sent:,} at "
        f"{achieved:,.0f} obs/s (all acked after {lat.acked_seconds:.2f} s); scores "
        f"{lat.scores:,}/{lat.sent:,} ({'all arrived' if all_in else 'SOME MISSING'}); "
        f"p50 {p50:.1f} ms, p90 {p90:.1f}, p99 {p99:.1f}, max {worst:.1f}; "
        f"p50 first/last quarter {lat.first_quarter_p50:.1f}/{lat.last_quarter_p50:.1f} ms; "
        f"scores arrived at {scored_rate:,.0f}/s; dead letters {dead}; "
        + ("rate sustained" if sustained else "RATE NOT SUSTAINED (latency grows / shortfall)")
    )
    rows: list[tuple[str, Any]] = [
        ("cpu_count", os.cpu_count()),
        ("python", sys.version.split()[0]),
        ("store", args.store),
        ("beds", beds),
        ("service publish window", args.window or "default"),
        ("broker set_tcp_nodelay", "false (--nagle)" if args.nagle else "true"),
        ("bare: obs received", f"{received:,} / {n:,}"),
        ("bare: msg/s (first to last)", f"{bare_rate:,.0f}"),
        ("bare: publisher msg/s", f"{bare_pub:,.0f}"),
        ("pipeline: obs scored", f"{run.scored:,} / {n:,}"),
        ("pipeline: obs scored/s", f"{pipe_rate:,.0f}"),
        ("pipeline / bare", f"{ratio:.0%} (goal >= 50 %)"),
        ("bare: CPU µs/msg", f"{1e6 * bare_cpu / max(received, 1):.0f}"),
        ("pipeline: CPU µs/obs (all threads)", f"{1e6 * run.cpu_seconds / max(run.scored, 1):.0f}"),
        (
            "CPU bare / pipeline",
            f"{bare_cpu / max(received, 1) / (run.cpu_seconds / max(run.scored, 1)):.0%}",
        ),
        ("pipeline: store flushed after s", f"{run.flushed_seconds:.2f}"),
        ("pipeline: publisher msg/s", f"{run.publisher_rate:,.0f}"),
        ("pipeline: dead letters", run.dead_letters),
        ("pipeline: duplicates", run.duplicates),
        ("pipeline: alerts", run.alerts),
        ("paced: target obs/s", f"{args.rate:,.0f}"),
        ("paced: achieved obs/s", f"{achieved:,.0f}"),
        ("paced: scores / obs sent", f"{lat.scores:,} / {lat.sent:,}"),
        ("paced: service scored", f"{scored:,}"),
        ("paced: scores arrived/s", f"{scored_rate:,.0f}"),
        ("paced: dead letters", dead),
        ("paced: latency p50 ms", f"{p50:.1f}"),
        ("paced: latency p90 ms", f"{p90:.1f}"),
        ("paced: latency p99 ms", f"{p99:.1f}"),
        ("paced: latency max ms", f"{worst:.1f}"),
        (
            "paced: p50 first/last quarter ms",
            f"{lat.first_quarter_p50:.1f} / {lat.last_quarter_p50:.1f}",
        ),
        ("paced: sustained", "yes" if sustained else "NO"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
