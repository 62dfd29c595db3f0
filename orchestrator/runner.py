"""Run one job end to end on LangGraph and keep its record in the store up to date.

The runner is I/O glue over a built ``RunContext`` (see ``orchestrator.app``): it
records the job's life (running → done / failed / cancelled) so that nothing already
computed is lost and a resume can pick it up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.budget import BudgetTracker
from orchestrator.context import RunContext
from orchestrator.errors import BreadthError, ConfigError
from orchestrator.events import Event
from orchestrator.graph.compile import run_graph
from orchestrator.ids import new_job_id
from orchestrator.job import JobRecord, JobRequest
from orchestrator.store.base import Store

EventListener = Callable[[Event], Awaitable[None] | None]


@dataclass
class StoreEventSink:
    """Appends every event to the job's stream and hands it to local listeners."""

    store: Store
    listeners: list[EventListener] = field(default_factory=list)

    async def emit(self, event: Event) -> None:
        await self.store.append_event(event)
        for listener in self.listeners:
            outcome = listener(event)
            if outcome is not None:
                await outcome


def _count_tasks(state: Mapping[str, Any]) -> tuple[int, int, int]:
    results = state.get("results") or {}
    plan = state.get("plan") or {}
    total = max(len(plan.get("tasks", [])), len(results))
    done = sum(1 for r in results.values() if r.get("status") == "done")
    failed = sum(1 for r in results.values() if r.get("status") == "failed")
    return total, done, failed


async def start_job(store: Store, request: JobRequest | None, resume: str | None) -> JobRecord:
    """Create the job record, or reopen the stored one for a resume (read once, here).

    A resume may repeat the question (it must be the job's), or give none.
    """
    if resume is None:
        if request is None:
            raise ConfigError("a new job needs a request (a question and a graph)")
        record = JobRecord(id=new_job_id(), request=request, state="running")
    else:
        stored = await store.get_job(resume)
        if stored is None:
            raise ConfigError(
                f"cannot resume job {resume!r}: no such job in the store "
                f"(namespace {store.namespace!r}); list jobs with `breadth jobs`"
            )
        if request is not None and request.question != stored.request.question:
            raise ConfigError(
                f"cannot resume job {resume!r} with a different question {request.question!r}; "
                f"it was asked {stored.request.question!r}. Omit the question to resume it"
            )
        record = stored.model_copy(update={"state": "running", "error": None})
    record.updated_at = time.time()
    await store.put_job(record)
    return record


async def run_job(
    record: JobRecord, ctx: RunContext, *, released: Callable[[], bool] | None = None
) -> JobRecord:
    """Run the job's graph (``ctx.graph``) to the end and return the stored job record.

    Errors a user or operator must act on (``BreadthError``) end the job as failed with
    the message kept; a cancelled job is stored as cancelled, unless ``released()`` says
    its worker handed it back to the queue (then it is stored as queued, for another
    worker to resume). Finished task results stay in the store either way, so a resume
    skips them.
    """
    store = ctx.store
    if store is None:
        raise ConfigError("run_job needs a context with a store, to keep the job's record")
    budget = ctx.budget
    await ctx.emit("job_started", question=record.request.question, graph=ctx.graph.name)
    state: dict[str, Any] = {}
    try:
        state = await run_graph(ctx.graph, ctx.ops, ctx, {"question": record.request.question})
    except BreadthError as exc:
        record.state, record.error = "failed", str(exc)
        await ctx.emit("job_failed", error=str(exc))
    except (asyncio.CancelledError, KeyboardInterrupt):
        if released is not None and released():
            record.state, record.error = "queued", None
            await asyncio.shield(_finish(store, record, budget, state))
            await asyncio.shield(ctx.emit("job_released"))
            raise
        record.state, record.error = "cancelled", "cancelled by the user"
        await asyncio.shield(_finish(store, record, budget, state))
        await asyncio.shield(ctx.emit("job_cancelled"))
        raise
    else:
        record.state = "done"
        record.report = state.get("report")
        record.stopped_early = state.get("stopped_by")
        await ctx.emit(
            "job_finished",
            total_tokens=budget.usage.total_tokens,
            stopped_by=record.stopped_early,
        )
    await _finish(store, record, budget, state)
    return record


async def _finish(store: Store, record: JobRecord, budget: BudgetTracker, state: Any) -> None:
    record.usage = record.usage + budget.usage
    if isinstance(state, Mapping):
        record.tasks_total, record.tasks_done, record.tasks_failed = _count_tasks(state)
    record.updated_at = time.time()
    await store.put_job(record)
