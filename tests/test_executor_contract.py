"""The ``Executor`` contract: every executor implementation runs this one suite.

To add an implementation (e.g. a Ray executor), add a ``pytest.param`` with a factory
that builds it to ``EXECUTORS``. The submitted functions are module-level coroutine
functions so that an executor that ships work to another process can pickle them; the
ones that synchronise through ``asyncio.Event`` need the work to run in the test's
event loop, which a distributed executor's local mode provides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from orchestrator.executors.base import Executor
from orchestrator.executors.local import LocalExecutor
from tests.support import within

EXECUTORS: list[object] = [
    pytest.param(LocalExecutor, id="local"),
]


@pytest.fixture(params=EXECUTORS)
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[Executor]:
    factory: Callable[[], Executor] = request.param
    built = factory()
    yield built
    await built.aclose()


class Boom(Exception):
    """An error type of this suite, so that a test sees it come back unchanged."""


async def add(a: int, b: int) -> int:
    return a + b


async def explode(message: str) -> None:
    raise Boom(message)


async def meet(arrived: asyncio.Event, other_arrived: asyncio.Event, name: str) -> str:
    """Finish only once the other submission has started too: they must overlap."""
    arrived.set()
    await other_arrived.wait()
    return name


async def hold(started: asyncio.Event, stopped: asyncio.Event) -> None:
    """Run until cancelled; say when it started and when it stopped."""
    started.set()
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()


def test_implements_the_protocol(executor: Executor) -> None:
    assert isinstance(executor, Executor)
    assert isinstance(executor.name, str) and executor.name


async def test_returns_the_result(executor: Executor) -> None:
    assert await executor.submit(add, 2, 3) == 5


async def test_propagates_the_exception_unchanged(executor: Executor) -> None:
    with pytest.raises(Boom) as info:
        await executor.submit(explode, "no sources")
    assert str(info.value) == "no sources"


async def test_concurrent_submissions_overlap(executor: Executor) -> None:
    first, second = asyncio.Event(), asyncio.Event()
    both = asyncio.gather(
        executor.submit(meet, first, second, "first"),
        executor.submit(meet, second, first, "second"),
    )
    assert list(await within(both, "both submissions running together")) == ["first", "second"]


async def test_cancelling_the_awaiter_cancels_the_work(executor: Executor) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()
    awaiter = asyncio.create_task(executor.submit(hold, started, stopped))
    await within(started.wait(), "the submission to start")
    awaiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(awaiter, "the cancelled awaiter to stop")
    await within(stopped.wait(), "the cancelled work to stop")


async def test_aclose_cancels_running_work_and_refuses_new_work(executor: Executor) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()
    awaiter = asyncio.create_task(executor.submit(hold, started, stopped))
    await within(started.wait(), "the submission to start")
    await within(executor.aclose(), "aclose() to stop the running work")
    assert stopped.is_set()
    with pytest.raises(asyncio.CancelledError):
        await within(awaiter, "the cancelled awaiter to stop")
    with pytest.raises(RuntimeError, match="closed"):
        await executor.submit(add, 1, 1)
    # Closing twice is harmless.
    await executor.aclose()
