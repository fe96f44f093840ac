"""Composition roots of the live service: the scorer with its wallboard (`run`), a wallboard
server on its own, and the pieces the demo reuses (`live`, `wallboard`).

The command line (`surveillance.cli`) parses arguments and calls these.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final, Literal

from scoring import ChartSet
from surveillance._history import StoreHistory, dashboard_report
from surveillance._service import Service
from surveillance._settings import Settings, SettingsError
from surveillance.risk import Risk
from surveillance.store import open_store
from wallboard import (
    Auth,
    AuthConfig,
    BrokerFeed,
    ClaimRule,
    DisplayRegistry,
    OidcClient,
    RoleMapping,
    bind,
    create_app,
    serve,
)

WithoutLogin = Literal["demo", "none"]
"""A wallboard served without login: the demo, or `--auth none` (a closed development network)."""


def build_auth(settings: Settings, without_login: WithoutLogin | None) -> Auth:
    """Who the wallboard lets in: `[auth]`'s identity provider and role mapping, or nobody
    checked (`without_login`, which then logs a warning and puts a banner on every page).

    Raises:
        SettingsError: neither `[auth]` nor `without_login`.
    """
    if without_login is not None:
        if without_login == "none":
            log.warning(
                "the wallboard is served WITHOUT LOGIN (--auth none): anyone who reaches it "
                "can see every ward and act; for a closed development network only"
            )
        return Auth.without_login(without_login)
    auth = settings.auth
    if auth is None:
        msg = (
            "the wallboard needs a login: configure [auth] (the identity provider and the role "
            "mapping: see config/service.toml), or give --auth none on a closed development "
            "network, or --http 0 to serve no wallboard"
        )
        raise SettingsError(msg)
    return Auth(
        AuthConfig(
            mode="oidc",
            oidc=OidcClient(
                issuer=auth.issuer,
                client_id=auth.client_id,
                client_secret=auth.client_secret(),
                redirect_url=auth.redirect_url,
                scope=auth.scope,
            ),
            mapping=RoleMapping(
                claim=auth.roles_claim,
                rules=tuple(
                    ClaimRule(rule.value, rule.role, frozenset(rule.wards)) for rule in auth.roles
                ),
                name_claims=tuple(auth.name_claims),
            ),
            allowed_origins=frozenset(auth.origins()),
            session_seconds=auth.session_seconds,
            stepup_seconds=auth.stepup_seconds,
            displays=DisplayRegistry(Path(auth.displays)) if auth.displays else None,
        )
    )


log = logging.getLogger("surveillance")

GC_THRESHOLDS: Final = (20_000, 10, 10)
"""Python's cyclic garbage collector runs a young collection every 20,000 allocations of
container objects (its default: 700)."""


def settle_gc() -> None:
    """Tune the garbage collector for a long-running service, once it has started: collect,
    then freeze what is left (modules, charts, the restored state: they live as long as the
    process, so no collection need ever scan them again) and collect the young generation
    less often (`GC_THRESHOLDS`). The scorer allocates a few containers per message and makes
    almost no reference cycles, so the collector's scans were pure cost: `bench/pipeline`
    measured 175-186 µs of CPU per observation without this, 134-160 with it (README,
    "Benchmarks"). Process-wide: the command line's `run`, `wallboard` and `demo` call it,
    not `Service`.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def run_wallboard(
    settings: Settings, charts: ChartSet, *, without_login: WithoutLogin | None = None
) -> int:
    """A wallboard server on its own until SIGINT or SIGTERM; the exit status."""
    stop = stop_on_signals()
    auth = build_auth(settings, without_login)
    async with (
        wallboard(settings, charts, auth=auth) as (url, history),
        open_store(settings.store_url()) as store,
    ):
        history.store = store
        settle_gc()
        log.info("wallboard at %s", url)
        await stop.wait()
        log.info("stopping")
    return 0


async def run_service(
    settings: Settings, charts: ChartSet, *, without_login: WithoutLogin | None = None
) -> int:
    """The service and its wallboard until SIGINT or SIGTERM, then a clean stop; the exit status."""
    stop = stop_on_signals()
    async with live(settings, charts, stop=stop, without_login=without_login) as (service, url):
        settle_gc()
        if url:
            log.info("wallboard at %s", url)
        await stop.wait()
        log.info("stopping")
        service.stop.set()
    return 0


@contextlib.asynccontextmanager
async def live(
    settings: Settings,
    charts: ChartSet,
    *,
    stop: asyncio.Event | None = None,
    without_login: WithoutLogin | None = None,
    auth: Auth | None = None,
    load_risk: Callable[[Path | None], Risk] | None = None,
) -> AsyncIterator[tuple[Service, str | None]]:
    """The service and, unless `http.port` is 0, the wallboard, running until the block ends.

    The wallboard's login is `auth`, else built from the settings (`build_auth`: `[auth]`, or
    `without_login`); without either it is refused (`SettingsError`) before anything starts.

    `load_risk`: how the service loads the learned risk (default `surveillance.risk.load`).

    Yields the service and the wallboard's URL once the service reads input, or once `stop`
    is set (a stop while it still waits for the store or the broker). Leaving the block stops
    both cleanly (records flushed). If the service fails, the failure is raised here.
    """
    if settings.http.port and auth is None:
        auth = build_auth(settings, without_login)
    # The key the board signs people's identities with, for the scorer to believe them: the
    # settings' (shared with other board servers), else one of this process's own.
    key = settings.action_key() or secrets.token_bytes(32)
    if load_risk is None:
        service = Service(settings, charts, action_key=key)
    else:
        service = Service(settings, charts, action_key=key, load_risk=load_risk)
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
                    auth=auth,
                    action_key=key,
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
    auth: Auth | None,
    health: Callable[[], dict[str, Any]] | None = None,
    client_suffix: str = "wallboard",
    action_key: bytes | None = None,
) -> AsyncIterator[tuple[str, StoreHistory]]:
    """A wallboard server (CONTRACT §8) on `http.host:http.port`, fed by the broker.

    Yields its URL and the history reader, whose `store` the caller opens (the patient view
    answers 503 until then).
    """
    broker = settings.board_broker_url()
    history = StoreHistory(settings.online().tz)
    history.targets = settings.dashboard.checked_targets()
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
        ca_file=broker.ca_file,
        prefix=settings.broker.prefix,
        client_id=client_id,
        wards=settings.broker.wallboard_wards,
    ) as feed:
        if auth is None:
            auth = build_auth(settings, None)  # [auth], or refused
        app = create_app(
            feed,
            auth=auth,
            health=health,
            history=history,
            dashboard=history.dashboard,
            monthly_report=functools.partial(dashboard_report, history),
            charts=charts,
            action_key=action_key or settings.action_key(),
        )
        server = asyncio.create_task(serve(app, settings.http.host, port, sock=sock))
        try:
            yield f"http://{settings.http.host}:{port}/", history
        finally:
            await cancel(server)
            history.close()


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (in the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def setup_logging(level: str) -> None:
    """Log records at `level` and above to standard error."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
