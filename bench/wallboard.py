"""The wallboard server under many screens: websocket clients of one server, on a private Mosquitto.

One process runs the server under test (`BrokerFeed` + `create_app` + `serve`, as
`surveillance run` does); this process runs the publisher and every websocket client, so the
publisher's clock and the clients' clock are the same (`time.perf_counter`).

1. Retained ADTs admit a patient to each of W wards × B beds; the bench waits until the server
   shows them all, then connects --clients websocket clients to `/ws/wards/{ward}` (client c
   watches ward c mod W) and checks each first snapshot.
2. Real NEWS2 score results (`scoring.score`, ~1 KB with vitals, `time` one second later at
   each bed's next update) are published retained at QoS 1 on `wards/{w}/beds/{b}/score`, beds
   in turn, paced at --rate for --seconds. Each `obs_msg_id` carries the publication's number,
   and the publisher notes the time just before its publish call.
3. Each client reads every frame (snapshot, changes, status). A bed view whose score is newer
   than the last one that client saw for that bed is a delivered update; its latency is the
   receipt of the frame minus the publish call of that score. Older updates replaced in the
   server before a frame went out (coalescing, latest state per bed) are superseded, not lost.
4. After the last publication the bench waits (at most DRAIN seconds) until every client holds,
   for every bed of its ward, the last score published for that bed. A bed of a client that
   does not is LOST; the exit status is 1 if any is.

Goal (issue #5): p99 < 100 ms from the publisher to the client at 200 clients and 500 ward
updates/s, nothing lost. The bench process parses only what it checks (bed and obs_msg_id, with
msgspec), so it costs less per frame than a browser; its CPU is printed, because on a 2-core
machine a saturated bench process adds its own queueing to the latencies.

Usage: bench/wallboard [--clients 200] [--rate 500] [--seconds 30] [--wards 1] [--beds 40] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from scoring import Context, ObservationSet, load_charts, score
from tests.mqtt_broker import MOSQUITTO, Mosquitto

GOAL_P99_MS = 100.0
WINDOW = 256
"""In-flight QoS 1 publishes of the paced publisher."""
DRAIN = 20.0
"""Seconds to wait, after the last publication, for every client to hold every bed's last state."""
CONNECT_BATCH = 50
"""Clients connecting at once (the server's listen backlog is 128)."""
PREFIX = "wb-"
"""`obs_msg_id` = PREFIX + the publication's number."""
ENCODE = msgspec.json.Encoder().encode
ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


# --- the server process ------------------------------------------------------------------------


def serve_main(broker_port: int) -> None:
    """The server under test: print `PORT n` once listening, run until SIGTERM."""
    logging.basicConfig(level=logging.WARNING, format="server %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(broker_port))


async def _serve(broker_port: int) -> None:
    from wallboard import Auth, BrokerFeed, bind, create_app, serve  # noqa: PLC0415  # server side only

    client_id = f"bench-wallboard-{uuid.uuid4().hex[:8]}"
    async with BrokerFeed("127.0.0.1", broker_port, client_id=client_id) as feed:
        sock = bind("127.0.0.1", 0)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        task = asyncio.create_task(
            serve(create_app(feed, auth=Auth.without_login("none")), "127.0.0.1", 0, sock=sock)
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Server:
    """The server process: started with the broker's port, stopped with SIGTERM."""

    def __init__(self, broker_port: int, log: Path) -> None:
        self._log = log.open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and file
            # As a module from the root: run as a file, bench/ would come first on sys.path
            # and `wallboard` would be this file, not the package.
            [sys.executable, "-m", "bench.wallboard", "--serve", str(broker_port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline().decode().split() if ready else []
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            msg = f"the server did not start: {log.read_text(errors='replace')[-2000:]}"
            raise RuntimeError(msg)
        self.port = int(line[1])

    def cpu_seconds(self) -> float:
        return proc_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (NaN when it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def get_json(port: int, path: str) -> tuple[int, Any]:
    """(status, body) of a GET on the server (blocking: run it in a thread)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


# --- the streams -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    wards: list[str]
    beds: int

    def places(self) -> list[tuple[str, str, str]]:
        """(ward, bed, patient) of every bed, bed by bed across wards (so updates in turn
        spread evenly over the wards)."""
        return [
            (ward, str(b + 1), f"{ward}-P{b + 1:03d}")
            for b in range(self.beds)
            for ward in self.wards
        ]


def adt_payloads(layout: Layout, t0: datetime) -> list[tuple[str, bytes]]:
    when = t0 - timedelta(hours=2)
    return [
        (
            f"wards/{ward}/beds/{bed}/adt",
            ENCODE(
                {
                    "msg_id": f"adt-{patient}",
                    "time": when,
                    "event": "admit",
                    "patient_id": patient,
                    "cohort": "adult",
                    "birth_date": "1948-03-02",
                    "spo2_scale": 1,
                }
            ),
        )
        for ward, bed, patient in layout.places()
    ]


def score_payloads(layout: Layout, n: int, t0: datetime) -> list[tuple[str, bytes]]:
    """n real NEWS2 results, beds in turn; each bed's `time` one second later at each round.

    Vitals stay near normal (NEWS2 0-3) so every bed's next set is due an hour or more after
    its score, which stays in the past: no bed's obs status flips during the run, and every
    change the clients see comes from a score.
    """
    charts = load_charts()
    where = layout.places()
    out = []
    for i in range(n):
        ward, bed, patient = where[i % len(where)]
        t = t0 + timedelta(seconds=i // len(where))
        obs = msgspec.convert(
            {
                "msg_id": f"{PREFIX}{i}",
                "patient_id": patient,
                "time": t,
                "source": "monitor",
                "vitals": {
                    "resp_rate": 12 + (i * 3) % 9,
                    "spo2": 95 + i % 4,
                    "on_oxygen": False,
                    "systolic_bp": 112 + (i * 11) % 40,
                    "diastolic_bp": 70 + i % 9,
                    "heart_rate": 55 + (i * 7) % 36,
                    "consciousness": "A",
                    "temperature": 36.2 + (i % 17) / 10,
                },
            },
            ObservationSet,
        )
        context = msgspec.convert(
            {
                "patient_id": patient,
                "cohort": "adult",
                "birth_date": "1948-03-02",
                "ward": ward,
                "bed": bed,
            },
            Context,
        )
        result = score(obs, context, charts)
        out.append((f"wards/{ward}/beds/{bed}/score", ENCODE(result)))
    return out


# --- the clients -------------------------------------------------------------------------------


class _Score(msgspec.Struct):
    obs_msg_id: str | None = None


class _Bed(msgspec.Struct):
    bed: str
    patient: dict[str, Any] | None = None
    score: _Score | None = None


class _Frame(msgspec.Struct):
    type: str
    ward: str | None = None
    beds: list[_Bed] | None = None


DECODE_FRAME = msgspec.json.Decoder(_Frame).decode


def obs_index(view: _Bed) -> int:
    """The publication number of the bed view's score; -1 for none (or not this bench's)."""
    mid = view.score.obs_msg_id if view.score is not None else None
    if mid is None or not mid.startswith(PREFIX):
        return -1
    return int(mid[len(PREFIX) :])


@dataclass
class Client:
    """One screen: the last score index it holds per bed, and what it received."""

    ward: str
    sent_at: array[float]
    last: dict[str, int] = field(default_factory=dict)
    latency_ms: array[float] = field(default_factory=lambda: array("d"))
    index: array[int] = field(default_factory=lambda: array("q"))
    frames: int = 0
    changes: int = 0
    statuses: int = 0
    snapshots: int = 0
    views: int = 0
    repeats: int = 0
    older: int = 0
    received_bytes: int = 0
    first_beds: int = 0
    first_patients: int = 0
    last_receipt: float = 0.0
    error: str | None = None

    def take(self, data: bytes, now: float) -> None:
        self.frames += 1
        self.received_bytes += len(data)
        frame = DECODE_FRAME(data)
        if frame.type == "status":
            self.statuses += 1
            return
        if frame.type == "snapshot":
            self.snapshots += 1
            if self.snapshots == 1:
                beds = frame.beds or []
                self.first_beds = len(beds)
                self.first_patients = sum(view.patient is not None for view in beds)
        elif frame.type == "changes":
            self.changes += 1
        for view in frame.beds or []:
            self.views += 1
            i = obs_index(view)
            held = self.last.get(view.bed, -1)
            if i > held:
                self.last[view.bed] = i
                if i >= 0:
                    self.latency_ms.append((now - self.sent_at[i]) * 1000)
                    self.index.append(i)
                    self.last_receipt = now
            elif i == held:
                self.repeats += 1
            else:
                self.older += 1


async def run_client(client: Client, ws: ClientConnection) -> None:
    try:
        while True:
            data = await ws.recv(decode=False)
            client.take(data, time.perf_counter())
    except ConnectionClosed as error:
        client.error = f"closed: {error}"
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        client.error = f"unreadable frame: {error}"


async def open_client(url: str, client: Client) -> ClientConnection:
    """Connect and take the first snapshot."""
    ws = await connect(url, compression=None, max_size=None, ping_interval=None, open_timeout=30)
    client.take(await asyncio.wait_for(ws.recv(decode=False), 30), time.perf_counter())
    return ws


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Published:
    n: int = 0
    start: float = 0.0
    send_seconds: float = 0.0
    acked_seconds: float = 0.0


async def publish_paced(
    port: int, payloads: list[tuple[str, bytes]], rate: float, sent_at: array[float], out: Published
) -> None:
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"bench-wb-pub-{uuid.uuid4().hex[:8]}",
        max_inflight_messages=0,
    ) as mqtt:
        mqtt.pending_calls_threshold = WINDOW + 1
        window = asyncio.Semaphore(WINDOW)
        pending: set[asyncio.Task[None]] = set()

        async def send(topic: str, payload: bytes) -> None:
            try:
                await mqtt.publish(topic, payload, qos=1, retain=True)
            finally:
                window.release()

        start = out.start = time.perf_counter()
        for i, (topic, payload) in enumerate(payloads):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await window.acquire()
            sent_at[i] = time.perf_counter()
            task = asyncio.create_task(send(topic, payload))
            pending.add(task)
            task.add_done_callback(pending.discard)
            out.n = i + 1
        out.send_seconds = time.perf_counter() - start
        if pending:
            await asyncio.gather(*pending)
        out.acked_seconds = time.perf_counter() - start


async def publish_all(port: int, payloads: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"bench-wb-adt-{uuid.uuid4().hex[:8]}"
    ) as mqtt:
        for topic, payload in payloads:
            await mqtt.publish(topic, payload, qos=1, retain=True)


async def until(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:g} s waiting for {what}"
            raise RuntimeError(msg)
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Options:
    clients: int
    rate: float
    seconds: float
    wards: int
    beds: int


async def measure(opts: Options, broker: Mosquitto, server: Server) -> dict[str, Any]:
    layout = Layout([f"WB{w:02d}" for w in range(opts.wards)], opts.beds)
    n = round(opts.rate * opts.seconds)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    payloads = score_payloads(layout, n, t0)
    sizes = [len(p) for _, p in payloads]
    sent_at = array("d", [float("nan")]) * n

    async def connected() -> bool:
        status, _ = await asyncio.to_thread(get_json, server.port, "/healthz")
        return bool(status == 200)

    await until(connected, "the server's feed to connect to the broker", 30)
    await publish_all(broker.port, adt_payloads(layout, t0))

    async def admitted() -> bool:
        for ward in layout.wards:
            status, body = await asyncio.to_thread(get_json, server.port, f"/api/wards/{ward}")
            if status != 200 or sum(v["patient"] is not None for v in body["beds"]) < layout.beds:
                return False
        return True

    await until(admitted, "the server to show every admitted bed", 30)

    clients = [Client(layout.wards[c % len(layout.wards)], sent_at) for c in range(opts.clients)]
    sockets: list[ClientConnection] = []
    base = f"ws://127.0.0.1:{server.port}/ws/wards/"
    for first in range(0, len(clients), CONNECT_BATCH):
        batch = clients[first : first + CONNECT_BATCH]
        sockets += await asyncio.gather(*(open_client(base + c.ward, c) for c in batch))
    bad = [c for c in clients if c.first_patients != layout.beds]
    if bad:
        msg = f"{len(bad)} clients' first snapshot lacks admitted beds (e.g. {bad[0].first_beds})"
        raise RuntimeError(msg)
    readers = [
        asyncio.create_task(run_client(c, ws)) for c, ws in zip(clients, sockets, strict=True)
    ]
    await asyncio.sleep(0.5)
    for c in clients:  # what came before the publisher starts is not part of the figures
        c.frames = c.changes = c.statuses = c.views = c.repeats = c.received_bytes = 0

    cpu0 = (server.cpu_seconds(), self_cpu(), broker_cpu(broker))
    pub = Published()
    await publish_paced(broker.port, payloads, opts.rate, sent_at, pub)

    where = layout.places()
    final: dict[str, dict[str, int]] = {ward: {} for ward in layout.wards}
    for i in range(max(0, n - len(where)), n):
        ward, bed, _ = where[i % len(where)]
        final[ward][bed] = i

    def complete(c: Client) -> bool:
        return all(c.last.get(bed, -1) == i for bed, i in final[c.ward].items())

    drain_start = time.perf_counter()
    deadline = drain_start + DRAIN
    while time.perf_counter() < deadline and not all(complete(c) for c in clients):
        await asyncio.sleep(0.05)
    drained = time.perf_counter()
    cpu1 = (server.cpu_seconds(), self_cpu(), broker_cpu(broker))
    _, health = await asyncio.to_thread(get_json, server.port, "/healthz")

    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    lost = sum(c.last.get(bed, -1) != i for c in clients for bed, i in final[c.ward].items())
    latency = np.concatenate([np.frombuffer(c.latency_ms, dtype=np.float64) for c in clients])
    index = np.concatenate([np.frombuffer(c.index, dtype=np.int64) for c in clients])
    per_ward_clients = {w: sum(c.ward == w for c in clients) for w in layout.wards}
    expected = sum(per_ward_clients[where[i % len(where)][0]] for i in range(pub.n))
    delivered = int(latency.size)
    last_receipt = max((c.last_receipt for c in clients), default=0.0)
    span = (last_receipt or drained) - pub.start
    window = drained - pub.start
    quarter = max(1, n // 4)

    def pct(values: np.ndarray[Any, Any], p: float) -> float:
        return float(np.percentile(values, p)) if values.size else float("nan")

    cpu = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "clients": opts.clients,
        "wards": opts.wards,
        "beds_per_ward": opts.beds,
        "target_rate": opts.rate,
        "seconds": opts.seconds,
        "published": pub.n,
        "achieved_rate": pub.n / pub.send_seconds if pub.send_seconds > 0 else float("nan"),
        "acked_seconds": pub.acked_seconds,
        "score_bytes_mean": sum(sizes) / len(sizes) if sizes else 0,
        "updates_per_client_per_s": opts.rate / opts.wards,
        "expected_deliveries": expected,
        "delivered": delivered,
        "superseded": expected - delivered,
        "delivered_per_s": delivered / span if span > 0 else float("nan"),
        "change_frames": sum(c.changes for c in clients),
        "status_frames": sum(c.statuses for c in clients),
        "frames_per_s": sum(c.frames for c in clients) / window,
        "change_frames_per_client_per_s": sum(c.changes for c in clients) / len(clients) / span
        if span > 0
        else float("nan"),
        "bytes_per_s": sum(c.received_bytes for c in clients) / window,
        "bed_views": sum(c.views for c in clients),
        "repeat_views": sum(c.repeats for c in clients),
        "older_views": sum(c.older for c in clients),
        "resync_snapshots": sum(c.snapshots - 1 for c in clients),
        "latency_ms": {
            "p50": pct(latency, 50),
            "p90": pct(latency, 90),
            "p99": pct(latency, 99),
            "max": float(latency.max()) if latency.size else float("nan"),
        },
        "p99_first_quarter_ms": pct(latency[index < quarter], 99),
        "p99_last_quarter_ms": pct(latency[index >= n - quarter], 99),
        "last_state_after_s": (last_receipt - pub.start - pub.send_seconds)
        if last_receipt
        else None,
        "drain_seconds": drained - drain_start,
        "lost": lost,
        "beds_checked": sum(len(final[c.ward]) for c in clients),
        "client_errors": [c.error for c in clients if c.error is not None][:5],
        "client_errors_count": sum(c.error is not None for c in clients),
        "window_seconds": window,
        "cpu_seconds": {"server": cpu[0], "bench": cpu[1], "broker": cpu[2]},
        "server_board": health.get("board") if isinstance(health, dict) else None,
    }


def broker_cpu(broker: Mosquitto) -> float:
    process = getattr(broker, "_process", None)  # the test helper keeps its Popen private
    return proc_cpu(process.pid) if process is not None else float("nan")


def report(r: dict[str, Any], server_log: str) -> None:
    lat = r["latency_ms"]
    cpu = r["cpu_seconds"]
    window = r["window_seconds"]
    met = lat["p99"] < GOAL_P99_MS and r["lost"] == 0
    print(
        f"{r['clients']} clients on {r['wards']} ward(s) × {r['beds_per_ward']} beds; published "
        f"{r['published']:,} scores at {r['achieved_rate']:,.0f}/s (target {r['target_rate']:,.0f}); "
        f"delivered {r['delivered']:,} bed updates = {r['delivered_per_s']:,.0f}/s; "
        f"latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms; "
        f"lost {r['lost']} of {r['beds_checked']:,} (client, bed) final states; goal "
        + ("MET" if met else "NOT MET")
        + f" (p99 < {GOAL_P99_MS:g} ms, none lost)"
    )
    board = r["server_board"] or {}
    rows: list[tuple[str, Any]] = [
        ("cpu_count", os.cpu_count()),
        ("python", sys.version.split()[0]),
        ("clients", r["clients"]),
        ("wards × beds", f"{r['wards']} × {r['beds_per_ward']}"),
        ("score payload, mean bytes", f"{r['score_bytes_mean']:,.0f}"),
        ("publish: target / achieved /s", f"{r['target_rate']:,.0f} / {r['achieved_rate']:,.0f}"),
        ("publish: scores, all acked after s", f"{r['published']:,}, {r['acked_seconds']:.2f}"),
        ("updates/s each client's ward gets", f"{r['updates_per_client_per_s']:,.0f}"),
        ("updates × watching clients", f"{r['expected_deliveries']:,}"),
        ("delivered bed updates", f"{r['delivered']:,}"),
        ("delivered bed updates/s", f"{r['delivered_per_s']:,.0f}"),
        ("superseded by coalescing", f"{r['superseded']:,}"),
        ("changes frames (all clients)", f"{r['change_frames']:,}"),
        ("changes frames/s per client", f"{r['change_frames_per_client_per_s']:.1f}"),
        ("frames/s (all clients, incl. status)", f"{r['frames_per_s']:,.0f}"),
        ("bytes/s (all clients)", f"{r['bytes_per_s'] / 1e6:,.1f} MB/s"),
        ("bed views repeated / older", f"{r['repeat_views']:,} / {r['older_views']:,}"),
        ("resync snapshots (slow client)", r["resync_snapshots"]),
        ("latency p50 ms", f"{lat['p50']:.1f}"),
        ("latency p90 ms", f"{lat['p90']:.1f}"),
        ("latency p99 ms", f"{lat['p99']:.1f} (goal < {GOAL_P99_MS:g})"),
        ("latency max ms", f"{lat['max']:.1f}"),
        (
            "latency p99 first / last quarter ms",
            f"{r['p99_first_quarter_ms']:.1f} / {r['p99_last_quarter_ms']:.1f}",
        ),
        (
            "last state arrived, s after last publish",
            "never" if r["last_state_after_s"] is None else f"{r['last_state_after_s']:.3f}",
        ),
        ("LOST (client, bed) final states", f"{r['lost']} of {r['beds_checked']:,}"),
        ("client errors", r["client_errors_count"]),
        (
            "CPU, % of one core: server / bench / broker",
            f"{100 * cpu['server'] / window:.0f} / {100 * cpu['bench'] / window:.0f} / "
            f"{100 * cpu['broker'] / window:.0f} (over {window:.1f} s)",
        ),
        ("server: board rejected / ignored", f"{board.get('rejected')} / {board.get('ignored')}"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for error in r["client_errors"]:
        print(f"  client error: {error}")
    if cpu["bench"] / window > 0.8:
        print(
            "  note: the bench process used over 80 % of a core; the latencies include its own "
            "queueing (frames waiting to be read)"
        )
    if server_log.strip():
        lines = server_log.strip().splitlines()
        print(f"\nserver stderr ({len(lines)} lines, last 10):")
        for line in lines[-10:]:
            print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200, help="websocket clients")
    parser.add_argument("--rate", type=float, default=500, help="score updates/s, all wards")
    parser.add_argument("--seconds", type=float, default=30, help="length of the paced run")
    parser.add_argument("--wards", type=int, default=1, help="wards; clients and updates spread")
    parser.add_argument("--beds", type=int, default=40, help="beds per ward")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    parser.add_argument("--serve", type=int, metavar="BROKER_PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_main(args.serve)
        return
    opts = Options(args.clients, args.rate, args.seconds, args.wards, args.beds)
    if min(opts.clients, opts.wards, opts.beds) < 1 or opts.rate <= 0 or opts.seconds <= 0:
        parser.error("--clients, --wards, --beds, --rate and --seconds must be positive")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(MOSQUITTO, folder)
        broker.start()
        server: Server | None = None
        try:
            server = Server(broker.port, folder / "server.log")
            if not args.json:
                print(
                    f"private Mosquitto on {broker.url}; wallboard server pid "
                    f"{server.process.pid} on 127.0.0.1:{server.port}; {opts.clients} clients, "
                    f"{opts.wards} × {opts.beds} beds, {opts.rate:,.0f} updates/s for "
                    f"{opts.seconds:g} s",
                    flush=True,
                )
            result = asyncio.run(measure(opts, broker, server))
        finally:
            if server is not None:
                server.stop()
            broker.stop()
        server_log = (folder / "server.log").read_text(errors="replace")
    if args.json:
        print(json.dumps(result))
    else:
        report(result, server_log)
    if result["lost"] or result["client_errors_count"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
