"""The wallboard's HTTP and websocket endpoints (CONTRACT §8), over a `BrokerFeed`.

Websocket protocol (both streams): the server first sends a snapshot,
`{"type": "snapshot", "epoch", "seq", ...}`, then `{"type": "change", "seq", ...}` messages in
`seq` order. A client that reconnects with `?since=SEQ&epoch=EPOCH` (the last `seq` it applied,
and the snapshot's `epoch`) gets the changes after SEQ when the server still keeps them all,
else a fresh snapshot; a client too slow to keep up also gets a fresh snapshot instead of the
changes it missed. The client only ever sends nothing; anything it sends is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

from wallboard._feed import BrokerFeed, Stream, Subscription

STATIC = Path(__file__).parent / "static"

_HEADERS = {
    # Nothing but this origin: no CDN, no third-party request, no framing by other sites.
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_ENCODER = msgspec.json.Encoder()


def create_app(feed: BrokerFeed, *, health: Callable[[], dict[str, Any]] | None = None) -> FastAPI:
    """The wallboard app, reading `feed` (which the caller starts and stops).

    Args:
        feed: where the wards' state and changes come from.
        health: more for `/healthz`, e.g. the store's state: its items are added to the
            response, and a falsy `"ok"` among them makes the status 503.
    """
    app = FastAPI(title="Ward wallboard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(_HEADERS)
        if request.url.path.startswith("/api/") or request.url.path == "/healthz":
            response.headers["Cache-Control"] = "no-store"
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/wards/{ward}", include_in_schema=False)
    async def ward_page(ward: str) -> FileResponse:
        return FileResponse(STATIC / "ward.html")  # the script reads the ward from the path

    @app.get("/outreach", include_in_schema=False)
    async def outreach_page() -> FileResponse:
        return FileResponse(STATIC / "outreach.html")

    @app.get("/api/wards")
    async def wards() -> dict[str, Any]:
        return {"wards": feed.board.wards()}

    @app.get("/api/wards/{ward}")
    async def ward(ward: str) -> dict[str, Any]:
        if ward not in feed.board.wards():
            raise HTTPException(404, f"no ward {ward!r} seen on the broker")
        return feed.board.snapshot(ward)

    @app.post("/api/alerts/{alert_id}/ack")
    async def acknowledge(alert_id: str) -> JSONResponse:
        return JSONResponse(
            {
                "error": "not-implemented",
                "detail": "acknowledgement arrives with the alert lifecycle, not built yet; "
                "nothing was recorded",
                "alert_id": alert_id,
            },
            status_code=501,
        )

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        last = feed.last_message_at
        body: dict[str, Any] = {
            "broker": {
                "host": feed.host,
                "port": feed.port,
                "connected": feed.connected,
                "last_message_at": last.isoformat() if last is not None else None,
                "reconnects": feed.reconnects,
            },
            "board": feed.board.stats(),
            "subscribers": feed.subscribers,
        }
        extra = health() if health is not None else {}
        ok = feed.connected and bool(extra.get("ok", True))
        body |= {key: value for key, value in extra.items() if key != "ok"}
        body = {"ok": ok, **body}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.websocket("/ws/wards/{ward}")
    async def ward_stream(
        websocket: WebSocket, ward: str, since: int | None = None, epoch: str | None = None
    ) -> None:
        await _stream(websocket, feed, ward, since, epoch)

    @app.websocket("/ws/outreach")
    async def outreach_stream(
        websocket: WebSocket, since: int | None = None, epoch: str | None = None
    ) -> None:
        await _stream(websocket, feed, None, since, epoch)

    return app


async def _stream(
    websocket: WebSocket, feed: BrokerFeed, stream: Stream, since: int | None, epoch: str | None
) -> None:
    """Send the snapshot (or the changes since `since`), then every change, until closed."""
    await websocket.accept()
    with feed.subscribe(stream) as subscription:
        # No await between subscribing and reading the state: nothing can fall in between.
        backlog = (
            feed.changes_since(stream, since) if since is not None and epoch == feed.epoch else None
        )
        first = [c.message() for c in backlog] if backlog is not None else [feed.snapshot(stream)]
        sender = asyncio.create_task(_send(websocket, feed, subscription, first))
        reader = asyncio.create_task(_until_closed(websocket))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
                    await task
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close()


async def _send(
    websocket: WebSocket, feed: BrokerFeed, subscription: Subscription, first: list[Any]
) -> None:
    for message in first:
        await websocket.send_text(_ENCODER.encode(message).decode())
    while True:
        changes = await subscription.next()
        if changes is None:  # dropped for slowness: a snapshot covers them (taken before await)
            messages: list[Any] = [feed.snapshot(subscription.stream)]
        else:
            messages = [change.message() for change in changes]
        for message in messages:
            await websocket.send_text(_ENCODER.encode(message).decode())


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
