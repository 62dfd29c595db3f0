"""Trace context into tasks that run in other processes (Ray workers).

The job's process wraps each task it ships (``InstrumentedExecutor`` on a ``remote``
executor) in ``run_in_trace`` with the W3C traceparent of the span it runs under, so
the task's spans in the worker (its strategies, branches, model and tool calls, traced
by the context the worker rebuilds: ``process_tracing``) join the job's trace under
that span. The worker flushes its spans when each task ends, so a task's spans have
left its process by the time its result reaches the job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from opentelemetry import context as otel_context

from orchestrator.tracing.propagation import extract_context

R = TypeVar("R")

# This process's tracing for rebuilt job contexts, by traces URL (see ``process_tracing``).
_FLUSHERS: dict[str, Callable[[], bool]] = {}


def remember_flusher(url: str, flush: Callable[[], bool]) -> None:
    _FLUSHERS[url] = flush


async def flush_process_tracing() -> None:
    """Export the spans this process has batched (off the event loop)."""
    for flush in list(_FLUSHERS.values()):
        await asyncio.to_thread(flush)


async def run_in_trace(
    traceparent: str | None, fn: Callable[..., Awaitable[R]], /, *args: Any
) -> R:
    """``fn(*args)`` continuing the trace context ``traceparent``; module-level, so an
    executor ships it by reference."""
    context = extract_context(traceparent)
    token = otel_context.attach(context) if context is not None else None
    try:
        return await fn(*args)
    finally:
        if token is not None:
            otel_context.detach(token)
        await flush_process_tracing()
