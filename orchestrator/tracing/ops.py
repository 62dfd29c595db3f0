"""Graph nodes and strategies as spans, by wrapping the op registry (``OpRegistry.wrapped``).

A node run by an agent is an ``invoke_agent {agent}`` span (``node {op}`` when the op
needs no agent); a strategy run inside another op (``inner:``, an operator task,
``answer_with``) is a ``strategy {op}`` span. Both install the branch observer, so the
operator's fan-out becomes one span per branch; a strategy, and a node whose op is a
strategy, is the fan-in of what it ran (links to each branch, see ``merge``); every node
links to the job's tasks that finished before it started (the DAG it merges).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, Tracer, TracerProvider

from orchestrator.context import RunContext
from orchestrator.fanout import branch_observer
from orchestrator.ops import JobState, OpDef, OpFn, OpRegistry, Strategy, StrategyOutcome
from orchestrator.tracing import conventions as semconv
from orchestrator.tracing.merge import BranchSpans, apart, fan_in, take_finished_tasks
from orchestrator.tracing.spans import Attributes, failing_span, tracer_of


@contextmanager
def _operator_scope(tracer: Tracer, operator: str, target: Span, merges: bool) -> Iterator[None]:
    """Inside: the operator's branches are spans, and ``target`` merges them (if ``merges``)."""
    token = branch_observer.set(BranchSpans(tracer, operator))
    try:
        with fan_in(target) if merges else apart():
            yield
    finally:
        branch_observer.reset(token)


def _node_name(ctx: RunContext, node: Any) -> str | None:
    graph = getattr(ctx, "graph", None)
    nodes = getattr(graph, "nodes", None) or {}
    return next((name for name, spec in nodes.items() if spec is node), None)


def _traced_op(op: OpDef[Any], tracer: Tracer) -> OpFn[Any]:
    name, fn, merges = op.name, op.fn, op.strategy is not None

    async def traced(ctx: RunContext, node: Any, params: Any, state: JobState) -> JobState:
        agent = getattr(node, "agent", None)
        attributes: Attributes = {
            semconv.OPERATION: semconv.INVOKE_AGENT if agent else None,
            semconv.AGENT_NAME: agent,
            "breadth.job.id": ctx.job_id,
            "breadth.node.name": _node_name(ctx, node),
            "breadth.node.op": name,
        }
        span_name = f"invoke_agent {agent}" if agent else f"node {name}"
        links = take_finished_tasks()
        with (
            failing_span(tracer, span_name, attributes, links=links) as current,
            _operator_scope(tracer, name, current, merges),
        ):
            return await fn(ctx, node, params, state)

    return traced


def _traced_strategy(
    name: str, strategy: Strategy, tracer: Tracer
) -> Callable[..., Awaitable[StrategyOutcome]]:
    run = strategy.run

    async def traced(*args: Any) -> StrategyOutcome:
        attributes: Attributes = {"breadth.strategy": name}
        with failing_span(tracer, f"strategy {name}", attributes) as current:
            with _operator_scope(tracer, name, current, merges=True):
                outcome = await run(*args)
            current.set_attribute("breadth.strategy.samples", outcome.samples)
            return outcome

    return traced


def instrument_ops(
    registry: OpRegistry, *, tracer_provider: TracerProvider | None = None
) -> OpRegistry:
    """A copy of ``registry`` whose ops record a node span (and strategies run inside
    other ops a ``strategy {op}`` span); params models and checks stay as they are.
    """
    tracer = tracer_of(tracer_provider)
    return registry.wrapped(
        lambda op: _traced_op(op, tracer),
        lambda name, strategy: _traced_strategy(name, strategy, tracer),
    )
