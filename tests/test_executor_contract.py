"""The ``Executor`` contract: every executor implementation runs this one suite.

To add an implementation, add a ``pytest.param`` with a factory that builds it to
``EXECUTORS`` (a factory gets the pytest request, so it may use fixtures). The submitted
functions are module-level coroutine functions so that an executor that ships work to
another process (Ray) can pickle them; they synchronise with the test through a
``SignalBoard`` on loopback, which works in the test's event loop and across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from orchestrator.executors.base import Executor
from orchestrator.executors.local import LocalExecutor
from tests.signals import SignalBoard, send_signal, wait_signal
from tests.support import within


def local_executor(request: pytest.FixtureRequest) -> Executor:
    return LocalExecutor()


def ray_executor(request: pytest.FixtureRequest) -> Executor:
    from orchestrator.executors.ray_executor import RayExecutor

    request.getfixturevalue("ray_cluster")
    return RayExecutor()


# A Ray worker takes longer than a coroutine to start and stop: a wider deadlock guard.
RAY_WAIT_S = 20.0

EXECUTORS: list[object] = [
    pytest.param(local_executor, id="local"),
    pytest.param(ray_executor, id="ray", marks=pytest.mark.ray),
]


@pytest.fixture(params=EXECUTORS)
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[Executor]:
    factory: Callable[[pytest.FixtureRequest], Executor] = request.param
    built = factory(request)
    yield built
    await built.aclose()


@pytest.fixture
async def board() -> AsyncIterator[SignalBoard]:
    async with SignalBoard() as signals:
        yield signals


class Boom(Exception):
    """An error type of this suite, so that a test sees it come back unchanged."""


async def add(a: int, b: int) -> int:
    return a + b


async def explode(message: str) -> None:
    raise Boom(message)


async def meet(board: str, name: str, other: str) -> str:
    """Finish only once the other submission has started too: they must overlap."""
    await send_signal(board, name)
    await wait_signal(board, other)
    return name


async def hold(board: str) -> None:
    """Run until cancelled; say when it started and when it stopped.

    The board has "started" before this send returns, so a cancellation may arrive while
    it is still sending: "stopped" is sent whatever point the cancellation reaches.
    """
    try:
        await send_signal(board, "started")
        await asyncio.Event().wait()
    finally:
        await send_signal(board, "stopped")


def test_implements_the_protocol(executor: Executor) -> None:
    assert isinstance(executor, Executor)
    assert isinstance(executor.name, str) and executor.name


async def test_returns_the_result(executor: Executor) -> None:
    assert await within(executor.submit(add, 2, 3), "the result", RAY_WAIT_S) == 5


async def test_propagates_the_exception_unchanged(executor: Executor) -> None:
    with pytest.raises(Boom) as info:
        await within(executor.submit(explode, "no sources"), "the error", RAY_WAIT_S)
    assert type(info.value) is Boom
    assert str(info.value) == "no sources"


async def test_concurrent_submissions_overlap(executor: Executor, board: SignalBoard) -> None:
    both = asyncio.gather(
        executor.submit(meet, board.address, "first", "second"),
        executor.submit(meet, board.address, "second", "first"),
    )
    together = await within(both, "both submissions running together", RAY_WAIT_S)
    assert list(together) == ["first", "second"]


async def test_cancelling_the_awaiter_cancels_the_work(
    executor: Executor, board: SignalBoard
) -> None:
    awaiter = asyncio.create_task(executor.submit(hold, board.address))
    await within(board.wait("started"), "the submission to start", RAY_WAIT_S)
    awaiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await awaiter
    # The work stopped before the awaiter gave up waiting for it.
    assert board.is_set("stopped")


async def test_aclose_cancels_running_work_and_refuses_new_work(
    executor: Executor, board: SignalBoard
) -> None:
    awaiter = asyncio.create_task(executor.submit(hold, board.address))
    await within(board.wait("started"), "the submission to start", RAY_WAIT_S)
    await within(executor.aclose(), "aclose() to stop the running work", RAY_WAIT_S)
    assert board.is_set("stopped")
    with pytest.raises(asyncio.CancelledError):
        await within(awaiter, "the cancelled awaiter to stop", RAY_WAIT_S)
    with pytest.raises(RuntimeError, match="closed"):
        await executor.submit(add, 1, 1)
    # Closing twice is harmless.
    await executor.aclose()
