"""The in-process executor: runs task functions as asyncio tasks in the current event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

R = TypeVar("R")


class LocalExecutor:
    """Runs each submitted coroutine function in the caller's event loop (the default).

    Each submission runs as its own asyncio task, so ``aclose()`` can cancel what is
    still running; cancelling the awaiter cancels that task too.
    """

    def __init__(self, name: str = "local") -> None:
        self.name = name
        self._running: set[asyncio.Future[Any]] = set()
        self._closed = False

    async def submit(self, fn: Callable[..., Awaitable[R]], /, *args: Any) -> R:
        if self._closed:
            raise RuntimeError(
                f"executor {self.name!r} is closed; submit work to a new LocalExecutor"
            )
        work = asyncio.ensure_future(fn(*args))
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        # Awaiting the task directly: an exception comes back unchanged, and cancelling
        # this coroutine cancels ``work`` as well.
        return await work

    async def aclose(self) -> None:
        """Cancel every submission still running and wait until they have stopped."""
        self._closed = True
        running = list(self._running)
        for work in running:
            work.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
