"""`surveillance run` and `surveillance demo` (CONTRACT §7): the live service, and all of it at once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from scoring import LONDON, ChartError, ChartSet, load_charts
from simulators import SimConfig, parse_broker_url, publish, simulate
from surveillance._report_cmd import report_from_store
from surveillance._responders import answer_alerts
from surveillance._service import Service
from surveillance._settings import Settings, SettingsError, load_settings
from surveillance.store import AlertRecord, ObservationRecord, ScoreRecord, Store, open_store
from wallboard import BrokerFeed, create_app, serve
from wallboard._server import bind

log = logging.getLogger("surveillance")


def add_run(commands: Any) -> None:
    """The `run` subcommand."""
    run = commands.add_parser(
        "run",
        help="run the service against an external broker and database",
        description=(
            "Consume the input topics of CONTRACT §1 from the broker, score, publish scores, alerts "
            "and dead letters, keep everything in the store, and serve the wallboard (CONTRACT §8). "
            "Settings come from --config (see config/*.toml); the flags override the file. "
            "Stops cleanly on Ctrl-C or SIGTERM: the batch in hand is finished and every record "
            "flushed. Exit status 2 on a settings or chart-file error."
        ),
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    _add_overrides(run)
    run.set_defaults(run=_run)


def add_wallboard(commands: Any) -> None:
    """The `wallboard` subcommand."""
    board = commands.add_parser(
        "wallboard",
        help="a wallboard server on its own (several may run behind a load balancer)",
        description=(
            "Serve the wallboards and the outreach console (CONTRACT §8) from the broker's "
            "adt, score and alerts topics, without the scorer: run as many as the wards need "
            "behind a load balancer. Acknowledgements go to the scorer over MQTT; the patient "
            "view reads the store. Same settings file as `run` ([broker], [store], [http])."
        ),
    )
    board.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    _add_overrides(board)
    board.set_defaults(run=_wallboard)


def add_demo(commands: Any) -> None:
    """The `demo` subcommand."""
    demo = commands.add_parser(
        "demo",
        help="everything in one process: broker, simulated wards, scorer, store, wallboard",
        description=(
            "Start an in-process MQTT broker, the service with a SQLite store and the wallboard, "
            "then stream simulated wards into it: the last --history hours as fast as they go, "
            "then live, in real time (or --speed times faster). Prints the URL to open. Nothing "
            "external is needed. Ctrl-C stops it."
        ),
    )
    demo.add_argument(
        "--wards",
        type=int,
        default=4,
        help="wards: medical, surgical, children's, maternity (default 4)",
    )
    demo.add_argument("--beds", type=int, default=12, help="beds per ward (default 12)")
    demo.add_argument("--history", type=float, default=6.0, help="hours already passed (default 6)")
    demo.add_argument("--hours", type=float, default=24.0, help="hours to run live (default 24)")
    demo.add_argument(
        "--speed", type=float, default=1.0, help="live speed, × real time (default 1)"
    )
    demo.add_argument("--seed", type=int, default=None, help="simulation seed (default: random)")
    demo.add_argument(
        "--http",
        type=int,
        default=8000,
        metavar="PORT",
        help="wallboard port (default 8000; 0: any free port)",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help="store URL (default: a new SQLite file in a temporary folder)",
    )
    demo.add_argument("--charts", action="append", type=Path, default=[], metavar="PATH")
    demo.add_argument(
        "--no-responders",
        action="store_true",
        help="no simulated staff answering alerts (every alert then climbs its ladder)",
    )
    demo.set_defaults(run=_demo)


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker", metavar="URL", help="broker URL, mqtt://[user[:password]@]host[:port]"
    )
    parser.add_argument(
        "--store", metavar="URL", help="store URL, sqlite:///PATH or postgresql://..."
    )
    parser.add_argument("--http", type=int, metavar="PORT", help="wallboard port (0: off)")
    parser.add_argument(
        "--charts",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="extra chart file or folder (repeatable), as for `surveillance score`",
    )


def _settings(args: argparse.Namespace, command: str) -> tuple[Settings, ChartSet] | None:
    overrides = {
        key: value
        for key, value in (
            ("broker.url", args.broker),
            ("store.url", args.store),
            ("http.port", args.http),
        )
        if value is not None
    }
    try:
        settings = load_settings(args.config, overrides)
        charts = load_charts([*(Path(p) for p in settings.scorer.charts), *args.charts])
    except (SettingsError, ChartError, OSError) as exc:
        print(f"surveillance {command}: {exc}", file=sys.stderr)
        return None
    _logging(settings.log_level)
    log.info("starting: %s", settings.describe())
    return settings, charts


def _run(args: argparse.Namespace) -> int:
    loaded = _settings(args, "run")
    return 2 if loaded is None else asyncio.run(_main(*loaded))


def _wallboard(args: argparse.Namespace) -> int:
    loaded = _settings(args, "wallboard")
    if loaded is None:
        return 2
    settings, charts = loaded
    if not settings.http.port:
        print("surveillance wallboard: http.port is 0 (off); give --http PORT", file=sys.stderr)
        return 2
    return asyncio.run(_wallboard_main(settings, charts))


async def _wallboard_main(settings: Settings, charts: ChartSet) -> int:
    stop = _stop_on_signals()
    async with (
        wallboard(settings, charts) as (url, history),
        open_store(settings.store_url()) as store,
    ):
        history.store = store
        log.info("wallboard at %s", url)
        await stop.wait()
        log.info("stopping")
    return 0


async def _main(settings: Settings, charts: ChartSet) -> int:
    stop = _stop_on_signals()
    async with live(settings, charts, stop=stop) as (service, url):
        if url:
            log.info("wallboard at %s", url)
        await stop.wait()
        log.info("stopping")
        service.stop.set()
    return 0


@contextlib.asynccontextmanager
async def live(
    settings: Settings, charts: ChartSet, *, stop: asyncio.Event | None = None
) -> AsyncIterator[tuple[Service, str | None]]:
    """The service and, unless `http.port` is 0, the wallboard, running until the block ends.

    Yields the service and the wallboard's URL once the service reads input, or once `stop`
    is set (a stop while it still waits for the store or the broker). Leaving the block stops
    both cleanly (records flushed). If the service fails, the failure is raised here.
    """
    service = Service(settings, charts)
    running = asyncio.create_task(service.run(), name="service")
    url = None
    async with contextlib.AsyncExitStack() as stack:
        history = None
        if settings.http.port:
            # Subscribed before the service starts: its first alerts reach the board too.
            url, history = await stack.enter_async_context(
                wallboard(
                    settings,
                    charts,
                    health=lambda: {"ok": service.healthy, **service.health()},
                    client_suffix="wallboard",
                )
            )
        started = asyncio.create_task(service.started.wait())
        waits: set[asyncio.Task[Any]] = {started, running}
        if stop is not None:
            waits.add(asyncio.create_task(stop.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits - {running}:
            waiting.cancel()
        if running.done():
            running.result()  # raises what stopped it
        if history is not None and service.started.is_set():
            # A reader of its own, once the service has migrated the store.
            history.store = await stack.enter_async_context(open_store(settings.store_url()))
        try:
            yield service, url
        finally:
            service.stop.set()
            await running


@contextlib.asynccontextmanager
async def wallboard(
    settings: Settings,
    charts: ChartSet,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    client_suffix: str = "wallboard",
) -> AsyncIterator[tuple[str, StoreHistory]]:
    """A wallboard server (CONTRACT §8) on `http.host:http.port`, fed by the broker.

    Yields its URL and the history reader, whose `store` the caller opens (the patient view
    answers 503 until then).
    """
    broker = settings.broker_url()
    history = StoreHistory(settings.online().tz)
    sock = bind(settings.http.host, settings.http.port)
    port = sock.getsockname()[1]
    # Stable per server (host and port), so its persistent session survives a restart and
    # two servers on one host never share one.
    client_id = f"{settings.broker.client_id}-{client_suffix}-{socket.gethostname()}-{port}"
    async with BrokerFeed(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        tls=broker.tls,
        prefix=settings.broker.prefix,
        client_id=client_id,
    ) as feed:
        app = create_app(feed, health=health, history=history, charts=charts)
        server = asyncio.create_task(serve(app, settings.http.host, port, sock=sock))
        try:
            yield f"http://{settings.http.host}:{port}/", history
        finally:
            await _cancel(server)


class StoreHistory:
    """The patient view's history and the alert report, read from the store
    (`wallboard.History`)."""

    def __init__(self, tz: ZoneInfo = LONDON) -> None:
        self.store: Store | None = None
        self.tz = tz

    async def report(self, since: datetime, until: datetime, wards: list[str]) -> dict[str, Any]:
        report = await report_from_store(
            self._open(), since=since, until=until, tz=self.tz, wards=wards or None
        )
        return report.to_builtins()

    def _open(self) -> Store:
        if self.store is None:
            msg = "the store is not open yet"
            raise LookupError(msg)
        return self.store

    async def scores(self, patient_id: str, since: datetime) -> list[dict[str, Any]]:
        """The patient's scores, each with the vitals its own reading measured (`vitals`) and
        its `source`: a device reading's score covers its merged snapshot, but the chart plots
        only what was measured then, so carried-over values are not drawn again and again."""
        store = self._open()
        records = await store.fetch(ScoreRecord, patient_id=patient_id, since=since)
        readings = {
            o.msg_id: o
            for o in await store.fetch(ObservationRecord, patient_id=patient_id, since=since)
        }
        results = []
        for record in records:
            result = msgspec.json.decode(record.result)
            reading = readings.get(record.obs_msg_id)
            if reading is not None:
                result["scored_vitals"] = result.get("vitals")
                result["vitals"], result["source"] = reading.vitals, reading.source
            results.append(result)
        return results

    async def alerts(self, patient_id: str, since: datetime) -> list[dict[str, Any]]:
        records = await self._open().fetch(AlertRecord, patient_id=patient_id, since=since)
        return [msgspec.json.decode(record.event) for record in records]


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _demo(args: argparse.Namespace) -> int:
    try:
        charts = load_charts(args.charts)
        config = SimConfig(
            wards=args.wards,
            beds=args.beds,
            hours=args.history + args.hours,
            start=int(time.time() - args.history * 3600),
            seed=args.seed if args.seed is not None else int(time.time()),
            fhir_share=0.2,
            hl7_share=0.2,
        )
    except (ChartError, OSError, ValueError) as exc:
        print(f"surveillance demo: {exc}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("surveillance demo: --speed must be more than 0", file=sys.stderr)
        return 2
    _logging("INFO")
    for chatty in ("amqtt", "transitions"):  # the in-process broker logs every state change
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return asyncio.run(_demo_main(args, charts, config))


async def _demo_main(args: argparse.Namespace, charts: ChartSet, config: SimConfig) -> int:
    from amqtt.broker import Broker  # noqa: PLC0415 - only the demo needs an in-process broker
    from amqtt.contexts import BrokerConfig, ListenerConfig  # noqa: PLC0415

    stop = _stop_on_signals()
    with tempfile.TemporaryDirectory(prefix="surveillance-demo-") as folder:
        broker_port = _free_port()
        broker = Broker(
            BrokerConfig(
                listeners={"default": ListenerConfig(bind=f"127.0.0.1:{broker_port}")},
                plugins={
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            )
        )
        await broker.start()
        try:
            settings = load_settings(
                None,
                {
                    "broker.url": f"mqtt://127.0.0.1:{broker_port}",
                    "store.url": args.store or f"sqlite:///{Path(folder) / 'demo.db'}",
                    "http.port": args.http,
                    "scorer.feed_timeout": 300.0,
                },
            )
            if args.http == 0:
                settings.http.port = _free_port()
            async with live(settings, charts) as (service, url):
                print(f"\n  Ward wallboard: {url}\n  (Ctrl-C stops the demo)\n", flush=True)
                feeding = asyncio.create_task(_feed(config, charts, broker_port, args.speed))
                stopping = asyncio.create_task(stop.wait())
                helpers = [feeding, stopping]
                if not args.no_responders:
                    staff = answer_alerts(
                        "127.0.0.1", broker_port, speed=args.speed, seed=config.seed
                    )
                    helpers.append(asyncio.create_task(staff))
                await asyncio.wait({feeding, stopping}, return_when=asyncio.FIRST_COMPLETED)
                # Cutting the simulator off mid-stream makes amqtt log its broadcast loop's
                # broken deliveries as errors; on the way out they are expected.
                logging.getLogger("amqtt").setLevel(logging.CRITICAL)
                for task in helpers:
                    await _cancel(task)
                del service
        finally:
            await broker.shutdown()
    return 0


async def _feed(config: SimConfig, charts: ChartSet, port: int, speed: float) -> None:
    """History as fast as it goes, then the rest paced like the clock (× speed)."""
    now = time.time()
    messages = list(simulate(config, charts))
    past = [m for m in messages if m.time <= now]
    future = [m for m in messages if m.time > now]
    broker = parse_broker_url(f"mqtt://127.0.0.1:{port}")
    log.info("demo: %d messages of history, then %d live", len(past), len(future))
    await publish(past, broker, speed=0, progress=False, client_id="demo-history")
    log.info("demo: history sent; live from %s", datetime.now(UTC).isoformat(timespec="seconds"))
    await publish(future, broker, speed=speed, progress=False, client_id="demo-live")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
