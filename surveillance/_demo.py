"""The composition root of `surveillance demo`: an in-process broker, the service with its
wallboard, simulated wards streaming in, and simulated staff answering alerts."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest import parse_broker_url
from scoring import ChartSet
from simulators import SimConfig, answer_alerts, publish, simulate
from surveillance._demo_broker import free_port, in_process_broker
from surveillance._runtime import cancel, live, settle_gc, stop_on_signals
from surveillance._settings import load_settings

log = logging.getLogger("surveillance")


async def run_demo(
    charts: ChartSet,
    config: SimConfig,
    *,
    store_url: str | None = None,
    http_port: int = 8000,
    speed: float = 1.0,
    responders: bool = True,
) -> int:
    """Everything in one process until SIGINT or SIGTERM, or the simulation's end.

    Args:
        charts: the charts to score with.
        config: the simulated wards; messages up to now are sent at once, the rest in time.
        store_url: the store (default: a SQLite file in a temporary folder).
        http_port: the wallboard's port (0: any free port).
        speed: live speed, × real time.
        responders: simulated staff answer alerts (`simulators.answer_alerts`).
    """
    stop = stop_on_signals()
    with tempfile.TemporaryDirectory(prefix="surveillance-demo-") as folder:
        async with in_process_broker() as broker_port:
            settings = load_settings(
                None,
                {
                    "broker.url": f"mqtt://127.0.0.1:{broker_port}",
                    "store.url": store_url or f"sqlite:///{Path(folder) / 'demo.db'}",
                    "http.port": http_port,
                },
            )
            if http_port == 0:
                settings.http.port = free_port()
            async with live(settings, charts, without_login="demo") as (service, url):
                settle_gc()
                print(f"\n  Ward wallboard: {url}\n  (Ctrl-C stops the demo)\n", flush=True)
                feeding = asyncio.create_task(_feed(config, charts, broker_port, speed))
                stopping = asyncio.create_task(stop.wait())
                helpers = [feeding, stopping]
                if responders:
                    staff = answer_alerts("127.0.0.1", broker_port, speed=speed, seed=config.seed)
                    helpers.append(asyncio.create_task(staff))
                await asyncio.wait({feeding, stopping}, return_when=asyncio.FIRST_COMPLETED)
                # Cutting the simulator off mid-stream makes amqtt log its broadcast loop's
                # broken deliveries as errors; on the way out they are expected.
                logging.getLogger("amqtt").setLevel(logging.CRITICAL)
                for task in helpers:
                    await cancel(task)
                del service
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
