"""Run the wallboard app with uvicorn inside the caller's event loop.

The port is known before the server starts: `bind` opens and listens on the socket (port 0 =
a free port, read back with `getsockname()`), and `serve` hands it to uvicorn. A connection
made between the two waits in the listen backlog instead of being refused, and there is no
window in which another process could take the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

SHUTDOWN_SECONDS = 5
"""How long a stopping server waits for open connections (websockets) before closing them."""


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers: the caller owns Ctrl-C and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (0: a free port; `getsockname()[1]` tells it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve(app: FastAPI, host: str, port: int, *, sock: socket.socket | None = None) -> None:
    """Serve `app` until cancelled; then close the listener and connections, and re-raise.

    Args:
        app: the wallboard app (`create_app`).
        host: address to listen on (ignored when `sock` is given).
        port: port to listen on (ignored when `sock` is given).
        sock: a socket from `bind`, to know the port (even with port 0) before serving.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",  # uvicorn's "websockets" uses the deprecated legacy API
        # Frames are encoded once and sent to every screen; compressing them would cost a
        # deflate per screen per frame (and the wallboard runs on the hospital's LAN).
        ws_per_message_deflate=False,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    finally:
        if sock is not None:
            sock.close()
