"""Tasks as spans: ``InstrumentedExecutor`` wraps the executor the scheduler submits to.

Each submitted task is a ``task {id}`` span (its kind, handler, executor and job); a task
run by an agent of the graph (a researcher subagent, an operator's agent; not a ``tool``
task, which is one tool call) has an ``invoke_agent {agent}`` span inside it, where its
model and tool calls nest. The task spans are remembered for
the node that merges the DAG (``merge.take_finished_tasks``). On a remote executor (Ray)
each task carries the trace context to its worker (``remote.run_in_trace``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from orchestrator.executors.base import Executor
from orchestrator.plan import TaskSpec
from orchestrator.tasks import run_task
from orchestrator.tracing import conventions as semconv
from orchestrator.tracing.merge import apart, task_finished
from orchestrator.tracing.propagation import traceparent_of
from orchestrator.tracing.remote import run_in_trace
from orchestrator.tracing.spans import Attributes, failing_span, tracer_of

R = TypeVar("R")

TOOL_KIND = "tool"


def task_attributes(
    executor: str, fn: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[str, Attributes, str | None]:
    """The span name and attributes of a submitted call, and the agent that runs it."""
    task = next((arg for arg in args if isinstance(arg, TaskSpec)), None)
    source = args[-1] if fn is run_task and args else None
    if fn is run_task and args:
        fn = args[0]  # the task's handler, which run_task calls
    params = task.params if task else {}
    agent = params.get("agent") if isinstance(params.get("agent"), str) else None
    if task is not None and task.kind == TOOL_KIND:
        agent = None  # one tool call: no agent's work, whatever agent the node names
    attributes: Attributes = {
        "breadth.executor": executor,
        "code.function": getattr(fn, "__qualname__", repr(fn)),
        "breadth.job.id": getattr(source, "job_id", None),
        "breadth.task.id": task.id if task else None,
        "breadth.task.kind": task.kind if task else None,
        "breadth.task.op": params.get("op") if isinstance(params.get("op"), str) else None,
        "breadth.task.agent": agent,
    }
    label = task.id if task else getattr(fn, "__name__", "call")
    return f"task {label}", attributes, agent


class InstrumentedExecutor:
    """An ``Executor`` that records one span per submitted task around the inner executor.

    The span is current while the task runs in-process (``LocalExecutor``), so the
    task's model and tool calls become its children.
    """

    def __init__(self, inner: Executor, *, tracer_provider: TracerProvider | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.remote = bool(getattr(inner, "remote", False))
        self._tracer = tracer_of(tracer_provider)

    async def release(self, job_id: str) -> None:
        release = getattr(self.inner, "release", None)
        if release is not None:
            await release(job_id)

    async def submit(self, fn: Callable[..., Awaitable[R]], /, *args: Any) -> R:
        name, attributes, agent = task_attributes(self.name, fn, args)
        with failing_span(self._tracer, name, attributes) as task_span, ExitStack() as scope:
            try:
                scope.enter_context(apart())
                if agent is not None:
                    agent_attributes: Attributes = {
                        semconv.OPERATION: semconv.INVOKE_AGENT,
                        semconv.AGENT_NAME: agent,
                        "breadth.task.id": attributes.get("breadth.task.id"),
                    }
                    scope.enter_context(
                        failing_span(self._tracer, f"invoke_agent {agent}", agent_attributes)
                    )
                if self.remote:
                    # Another process runs it: the trace context goes with it.
                    parent = traceparent_of(trace.get_current_span())
                    return await self.inner.submit(run_in_trace, parent, fn, *args)
                return await self.inner.submit(fn, *args)
            finally:
                task_finished(task_span.get_span_context())

    async def aclose(self) -> None:
        await self.inner.aclose()


def instrument_executor(
    executor: Executor, *, tracer_provider: TracerProvider | None = None
) -> InstrumentedExecutor:
    """Wrap ``executor`` so that every task it runs gets a span."""
    return InstrumentedExecutor(executor, tracer_provider=tracer_provider)
