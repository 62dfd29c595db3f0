"""Named signals between a test and work that runs in another process (a Ray worker).

``SignalBoard`` listens on loopback; submitted functions call ``send_signal`` and
``wait_signal`` with its address (a plain string, so it pickles), whether they run in
the test's event loop or in another process. Every wait is awaited, never polled.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class SignalBoard:
    """One-shot named signals, set and awaited over a loopback TCP socket."""

    def __init__(self) -> None:
        self._signals: dict[str, asyncio.Event] = {}
        self._server: asyncio.Server | None = None
        self.address = ""

    def _event(self, name: str) -> asyncio.Event:
        return self._signals.setdefault(name, asyncio.Event())

    def is_set(self, name: str) -> bool:
        return self._event(name).is_set()

    async def wait(self, name: str) -> None:
        await self._event(name).wait()

    def set(self, name: str) -> None:
        self._event(name).set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode().strip()
            verb, _, name = line.partition(" ")
            if verb == "set":
                self.set(name)
            elif verb == "wait":
                await self.wait(name)
            writer.write(b"ok\n")
            await writer.drain()
        finally:
            writer.close()

    async def __aenter__(self) -> SignalBoard:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _say(address: str, verb: str, name: str) -> None:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"{verb} {name}\n".encode())
        await writer.drain()
        if await reader.readline() != b"ok\n":
            raise ConnectionError(f"signal board {address} did not confirm {verb} {name!r}")
    finally:
        writer.close()


async def send_signal(address: str, name: str) -> None:
    """Set signal ``name`` on the board at ``address``; returns once the board has it."""
    await _say(address, "set", name)


async def wait_signal(address: str, name: str) -> None:
    """Wait until signal ``name`` is set on the board at ``address``."""
    await _say(address, "wait", name)
