"""What ``scheduler.py --executor ray`` ships to Ray workers: an importable module, so that
its handler and context travel by reference (as a job's handlers in ``agents`` do), not
pickled by value with every task as functions of the ``__main__`` script would be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from orchestrator.plan import TaskResult, TaskSpec


class LiveContext:
    """A context source as a job's live context is one: it resolves to itself."""

    async def resolve(self) -> LiveContext:
        return self


async def sleeper(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
    """Sleep the task's latency (its ``estimate``) wherever it runs; report how long it took."""
    start = time.perf_counter()
    await asyncio.sleep(task.estimate)
    return TaskResult(
        task_id=task.id, status="done", output={"duration_s": time.perf_counter() - start}
    )


async def instant(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
    return TaskResult(task_id=task.id, status="done")
