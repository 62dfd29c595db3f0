"""Run one job end to end: load its graph, run it on LangGraph, keep the store up to date.

The runner is I/O glue: it wires a store, a model, an executor, the op registry and
the tools into a ``RunContext`` and records the job's life (running → done / failed /
cancelled) so that nothing already computed is lost and ``--resume`` can pick it up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.budget import BudgetTracker
from orchestrator.errors import BreadthError, ConfigError
from orchestrator.events import Event
from orchestrator.executors.base import Executor
from orchestrator.graph.compile import run_graph
from orchestrator.graph.context import OpRegistry, RunContext
from orchestrator.graph.loader import load_graph
from orchestrator.graph.resolve import resolve_graph
from orchestrator.graph.spec import GraphSpec
from orchestrator.ids import new_job_id
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.factory import build_model
from orchestrator.models.protocol import Replica
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


def job_models(spec: GraphSpec, default: Replica) -> dict[str, Replica]:
    """One replica per model the graph names: its own servers, or the job's default pool."""
    models: dict[str, Replica] = {}
    for name, model_spec in spec.models.items():
        if model_spec.urls:
            models[name] = build_model(model_spec.urls, model_name=model_spec.model)
        else:
            models[name] = default
    models.setdefault("default", default)
    return models


def _count_tasks(state: Mapping[str, Any]) -> tuple[int, int, int]:
    results = state.get("results") or {}
    plan = state.get("plan") or {}
    total = max(len(plan.get("tasks", [])), len(results))
    done = sum(1 for r in results.values() if r.get("status") == "done")
    failed = sum(1 for r in results.values() if r.get("status") == "failed")
    return total, done, failed


async def start_job(store: Store, request: JobRequest, resume: str | None) -> JobRecord:
    """Create the job record, or reopen a stored one for ``--resume``."""
    if resume is None:
        record = JobRecord(id=new_job_id(), request=request, state="running")
    else:
        stored = await store.get_job(resume)
        if stored is None:
            raise ConfigError(
                f"cannot resume job {resume!r}: no such job in the store "
                f"(namespace {store.namespace!r}); list jobs with `breadth jobs`"
            )
        if request.question and request.question != stored.request.question:
            raise ConfigError(
                f"cannot resume job {resume!r} with a different question {request.question!r}; "
                f"it was asked {stored.request.question!r}. Omit the question to resume it"
            )
        record = stored.model_copy(update={"state": "running", "error": None})
    record.updated_at = time.time()
    await store.put_job(record)
    return record


async def run_job(
    request: JobRequest,
    *,
    store: Store,
    model: Replica,
    executor: Executor,
    ops: OpRegistry,
    tools: Any = None,
    known_tools: list[str] | None = None,
    resume: str | None = None,
    listeners: list[EventListener] | None = None,
    on_start: Callable[[JobRecord], None] | None = None,
) -> JobRecord:
    """Run ``request`` to the end and return the stored job record.

    Errors a user or operator must act on (``BreadthError``) end the job as failed with
    the message kept; a cancelled job is stored as cancelled. Finished task results stay
    in the store either way, so ``resume=JOB_ID`` skips them.
    """
    spec = load_graph(
        resolve_graph(request.graph),
        known_ops=ops.names(),
        known_tools=known_tools,
        param_checks=ops.param_checks(),
    )
    record = await start_job(store, request, resume)
    if on_start is not None:
        on_start(record)
    sink = StoreEventSink(store, list(listeners or []))
    budget = BudgetTracker(spec.budgets)
    models = job_models(spec, model)
    try:
        return await _run(spec, ops, record, store, models, executor, budget, sink, tools)
    finally:
        # The graph's own model pools belong to this job; the default model to the caller.
        for replica in {id(m): m for m in models.values() if m is not model}.values():
            await replica.aclose()


async def _run(
    spec: GraphSpec,
    ops: OpRegistry,
    record: JobRecord,
    store: Store,
    models: dict[str, Replica],
    executor: Executor,
    budget: BudgetTracker,
    sink: StoreEventSink,
    tools: Any,
) -> JobRecord:
    ctx = RunContext(
        job_id=record.id,
        question=record.request.question,
        models=models,
        store=store,
        executor=executor,
        budget=budget,
        events=sink,
        graph=spec,
        tools=tools,
    )
    await ctx.emit("job_started", question=record.request.question, graph=spec.name)
    state: dict[str, Any] = {}
    try:
        state = await run_graph(spec, ops, ctx, {"question": record.request.question})
    except BreadthError as exc:
        record.state, record.error = "failed", str(exc)
        await ctx.emit("job_failed", error=str(exc))
    except (asyncio.CancelledError, KeyboardInterrupt):
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
