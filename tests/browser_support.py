"""One real browser for the whole test session: Debian's chromium, driven by Playwright.

Playwright's sync API keeps its event loop marked as running on the thread that uses it,
between calls too, which would stop every async test that runs after it. So the browser
lives on a thread of its own, and a test hands it the steps to run: ``browser.run(steps)``
calls ``steps(browser)`` there and returns what it returns (or raises what it raised).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Callable[[Any], Any], "Future[Any]"]


class BrowserThread:
    """A headless chromium (at ``executable``) and the thread that drives it."""

    def __init__(self, executable: str, *, start_timeout: float = 60.0) -> None:
        self._calls: queue.Queue[_Call | None] = queue.Queue()
        self._started: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(executable,), name="browser", daemon=True
        )
        self._thread.start()
        self._started.result(timeout=start_timeout)

    def _serve(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable)
                self._started.set_result(None)
                try:
                    while (call := self._calls.get()) is not None:
                        steps, outcome = call
                        try:
                            outcome.set_result(steps(browser))
                        except BaseException as exc:
                            outcome.set_exception(exc)
                finally:
                    browser.close()
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)

    def run(self, steps: Callable[[Any], T], *, timeout: float = 300.0) -> T:
        """``steps(browser)``, run on the browser's thread."""
        outcome: Future[T] = Future()
        self._calls.put((steps, outcome))
        return outcome.result(timeout=timeout)

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(timeout=30)
