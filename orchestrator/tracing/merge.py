"""Fan-out and fan-in: branch spans, and the span links of the spans that merge them.

An operator fans out (its branches: samples, turns, matches) and merges what they
return. Its span (a strategy, or a strategy node) is a *fan-in scope*: every branch
span, model call and tool call that runs directly in it, not inside a branch, is
remembered, and when the scope ends its span gets one link to each (attribute
``breadth.link = "merged"``). The job's task DAG is merged the same way by the node
after it: each task span is remembered at job level, and the next node span to start
(``synthesize`` after ``research``) links to the tasks that finished before it.

All of it lives in context variables, so concurrent jobs and branches never mix.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry.trace import Link, Span, SpanContext, Tracer

from orchestrator.tracing.spans import Attributes, failing_span

T = TypeVar("T")

MERGED = {"breadth.link": "merged"}

# The spans the fan-in in scope merges (None: nothing in scope merges).
_merged: ContextVar[list[SpanContext] | None] = ContextVar("breadth_merged", default=None)
# The job's finished task spans that no node has merged yet (None: no job span in scope).
_job_tasks: ContextVar[list[SpanContext] | None] = ContextVar("breadth_job_tasks", default=None)


def merged_by_scope(context: SpanContext) -> None:
    """Remember a finished branch, model call or tool call for the fan-in in scope."""
    merged = _merged.get()
    if merged is not None and context.is_valid:
        merged.append(context)


@contextmanager
def fan_in(target: Span) -> Iterator[None]:
    """Make ``target`` the fan-in of what runs inside: it links to each of them at the end."""
    merged: list[SpanContext] = []
    token = _merged.set(merged)
    try:
        yield
    finally:
        _merged.reset(token)
        for context in merged:
            target.add_link(context, MERGED)


@contextmanager
def apart() -> Iterator[None]:
    """What runs inside is not merged by a fan-in outside (it belongs to a branch or task)."""
    token = _merged.set(None)
    try:
        yield
    finally:
        _merged.reset(token)


@contextmanager
def job_scope() -> Iterator[None]:
    """Collect the job's task spans, for the nodes that merge them."""
    token = _job_tasks.set([])
    try:
        yield
    finally:
        _job_tasks.reset(token)


def task_finished(context: SpanContext) -> None:
    """Remember a finished task span of the job, for the next node to merge."""
    tasks = _job_tasks.get()
    if tasks is not None and context.is_valid:
        tasks.append(context)


def take_finished_tasks() -> list[Link]:
    """Links to the job's tasks that finished since a node last took them (and forget them)."""
    tasks = _job_tasks.get()
    if not tasks:
        return []
    links = [Link(context, MERGED) for context in tasks]
    tasks.clear()
    return links


class BranchSpans:
    """The tracing ``BranchObserver``: one ``{operator} branch {i}`` span per branch.

    Each branch span is a child of the span current where the fan-out starts, and is
    merged by the fan-in in scope there.
    """

    def __init__(self, tracer: Tracer, operator: str) -> None:
        self._tracer = tracer
        self._operator = operator

    def __call__(
        self, branches: Sequence[Coroutine[Any, Any, T]], /
    ) -> list[Coroutine[Any, Any, T]]:
        count = len(branches)
        return [self._branch(index, count, branch) for index, branch in enumerate(branches)]

    async def _branch(self, index: int, count: int, branch: Coroutine[Any, Any, T]) -> T:
        attributes: Attributes = {
            "breadth.operator": self._operator,
            "breadth.branch.index": index,
            "breadth.branch.count": count,
        }
        name = f"{self._operator} branch {index}"
        with failing_span(self._tracer, name, attributes) as current:
            try:
                with apart():
                    return await branch
            finally:
                merged_by_scope(current.get_span_context())
