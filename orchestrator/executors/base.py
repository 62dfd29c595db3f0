"""The ``Executor`` protocol: run a task function somewhere and give back its result.

The scheduler decides *when* a task runs; the executor decides *where*. A task
function is an ``async`` callable with picklable arguments, so a distributed
executor can ship it to another process. One contract suite
(``tests/test_executor_contract.py``) runs against every executor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

R = TypeVar("R")


@runtime_checkable
class Executor(Protocol):
    name: str

    async def submit(self, fn: Callable[..., Awaitable[R]], /, *args: Any) -> R:
        """Run ``fn(*args)`` and return its result; its exception propagates unchanged.

        Cancelling the awaiting coroutine cancels the work.
        """
        ...

    async def aclose(self) -> None: ...
