"""Task handlers by kind, and the job context they run in, here or in another process.

A task's ``kind`` picks its handler: a module-level ``async (task, deps, ctx) ->
TaskResult``, so an executor that ships work to another process (Ray) pickles it by
reference. ``ctx`` is the job's ``RunContext``. What travels with the task is a
*context source*: in-process, the live context itself; for a job built by the
composition root, a ``JobRef``, plain data (settings, graph, request) from which another
process rebuilds the context once and caches it, while the job's own process finds its
live context by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from orchestrator.graph.spec import GraphSpec
from orchestrator.job import JobRequest
from orchestrator.plan import TaskResult, TaskSpec
from orchestrator.settings import Settings
from orchestrator.tool_calls import current_task_id

if TYPE_CHECKING:
    from orchestrator.context import RunContext

TaskHandler = Callable[[TaskSpec, Mapping[str, TaskResult], "RunContext"], Awaitable[TaskResult]]
"""Runs one task: its spec, its dependencies' results by task id, and the job context."""


@runtime_checkable
class ContextSource(Protocol):
    """Something that gives the job context a task runs in (the context itself, a ``JobRef``)."""

    async def resolve(self) -> RunContext: ...


Rebuild = Callable[["JobRef"], Awaitable["RunContext"]]

# The live contexts of the jobs this process runs, and those it rebuilt for other
# processes' jobs, by job id.
_LIVE: dict[str, RunContext] = {}
_REBUILT: dict[str, RunContext] = {}
# One rebuild at a time per job: tasks of one job that reach a worker together must share
# one context (a second one would hold its store and models open, never to be closed).
_REBUILDING: dict[str, asyncio.Lock] = {}


@dataclass(frozen=True)
class JobRef:
    """A job's context as plain data: another process rebuilds the context from it.

    ``rebuild`` must be a module-level function (the composition root's), so that it
    pickles by reference.
    """

    job_id: str
    settings: Settings
    graph: GraphSpec
    request: JobRequest
    rebuild: Rebuild

    async def resolve(self) -> RunContext:
        """The live context of this job in this process, else one rebuilt (once) from settings."""
        live = _LIVE.get(self.job_id) or _REBUILT.get(self.job_id)
        if live is not None:
            return live
        lock = _REBUILDING.setdefault(self.job_id, asyncio.Lock())
        async with lock:
            rebuilt = _REBUILT.get(self.job_id)
            if rebuilt is None:
                rebuilt = _REBUILT[self.job_id] = await self.rebuild(self)
        # Tasks that waited on this lock hold it themselves; later ones find the context.
        if _REBUILDING.get(self.job_id) is lock and not lock.locked():
            del _REBUILDING[self.job_id]
        return rebuilt


def register_live(ctx: RunContext) -> None:
    """Make ``ctx`` what ``JobRef.resolve`` gives in this process (until ``unregister_live``)."""
    _LIVE[ctx.job_id] = ctx


def unregister_live(job_id: str) -> None:
    _LIVE.pop(job_id, None)


def rebuilt_job_ids() -> list[str]:
    """The ids of the jobs whose context this process rebuilt (and still holds)."""
    return list(_REBUILT)


def forget_rebuilt(job_id: str) -> RunContext | None:
    """Drop (and return, for closing) the context rebuilt here for another process's job."""
    return _REBUILT.pop(job_id, None)


async def run_task(
    handler: TaskHandler, task: TaskSpec, deps: Mapping[str, TaskResult], source: Any
) -> TaskResult:
    """What the scheduler submits to the executor: resolve the context, run the handler.

    A ``source`` without ``resolve`` is handed to the handler as it is.
    """
    resolve = getattr(source, "resolve", None)  # cheaper than isinstance on a Protocol
    ctx = source if resolve is None else await resolve()
    current_task_id.set(task.id)  # the task's tool calls are attributed to it
    return await handler(task, deps, ctx)
