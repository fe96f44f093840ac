"""A TCP path that a test can cut and restore: a server (PostgreSQL, say) going away and coming
back, without touching the real server other tests share.

`TcpGate(target_host, target_port)` listens on a free port of 127.0.0.1 and forwards every
connection to the target while `open`; `close()` refuses new connections and cuts the ones in
progress (as a crashed server or a pulled cable would); `open()` lets them through again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket


class TcpGate:
    """A forwarding port on 127.0.0.1 that can be cut (`close`) and restored (`open`)."""

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port: int = s.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        """Accept and forward connections."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def close(self) -> None:
        """Refuse connections and cut those in progress."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}
