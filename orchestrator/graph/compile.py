"""Agent graph spec → LangGraph ``StateGraph``, and running it for one job.

Each YAML node becomes a LangGraph node that runs its op on the job state and merges
the op's update into it; each node (and START) gets one conditional edge whose router
is ``routing.choose_route``, so edge conditions and ``max_visits`` decide where to go.
The state is one plain ``dict`` (LangGraph's root channel, merged by ``merge_state``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from langgraph.errors import GraphRecursionError
from langgraph.graph import END as LG_END
from langgraph.graph import START as LG_START
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from orchestrator.context import RunContext
from orchestrator.errors import GraphRunError
from orchestrator.graph.routing import VISITS_KEY, choose_route, step_limit, visits_of
from orchestrator.graph.spec import END, START, GraphSpec, NodeSpec
from orchestrator.graph.state import merge_state, plain_data_problem
from orchestrator.ops import JobState, OpDef, OpRegistry

# The whole job state is LangGraph's root channel; updates are merged into it key by key.
GraphState = Annotated[dict[str, Any], merge_state]

CompiledGraph = CompiledStateGraph[Any, Any, Any, Any]


def compile_graph(spec: GraphSpec, ops: OpRegistry, ctx: RunContext) -> CompiledGraph:
    """A runnable LangGraph graph for ``spec``; an op missing from ``ops`` is a ConfigError."""
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(GraphState)
    max_visits = {name: node.max_visits for name, node in spec.nodes.items()}
    for name, node in spec.nodes.items():
        # LangGraph's stubs expect TypedDict-shaped node inputs; ours is one plain dict.
        runner: Any = _node_runner(name, node, ops.get(node.op), ctx)
        builder.add_node(name, runner)
    targets = [*spec.nodes, LG_END]
    for source in [START, *spec.nodes]:
        router = _router(source, spec, max_visits, ctx)
        builder.add_conditional_edges(LG_START if source == START else source, router, targets)
    return builder.compile(name=spec.name)


async def run_graph(
    spec: GraphSpec,
    ops: OpRegistry,
    ctx: RunContext,
    initial_state: Mapping[str, Any],
    *,
    max_steps: int | None = None,
) -> JobState:
    """Run the graph from START to END and return the final job state.

    ``max_steps`` caps the node runs (default: what ``max_visits`` allow, which a job
    cannot exceed). Op errors propagate unchanged.
    """
    problem = plain_data_problem(dict(initial_state))
    if problem:
        raise TypeError(f"the initial job state must be plain data: {problem}")
    compiled = compile_graph(spec, ops, ctx)
    allowed = step_limit({n: node.max_visits for n, node in spec.nodes.items()})
    limit = max_steps or allowed
    try:
        final = await compiled.ainvoke(dict(initial_state), {"recursion_limit": limit})
    except GraphRecursionError:
        raise GraphRunError(
            f"agent graph {spec.name!r} ran {limit} node steps without reaching END (its "
            f"max_visits allow {allowed - 1} node runs in all), so the job was stopped; "
            f"give its loops fewer rounds (max_visits) or an earlier exit to END"
        ) from None
    return dict(final)


def _node_runner(
    name: str, node: NodeSpec, op: OpDef[Any], ctx: RunContext
) -> Callable[[JobState], Awaitable[JobState]]:
    """The LangGraph node: count the visit, run the op, check and return its update."""

    async def run_node(state: JobState) -> JobState:
        visits = visits_of(state)
        visit = visits.get(name, 0) + 1
        await ctx.emit(
            "node_started", node=name, op=node.op, visit=visit, max_visits=node.max_visits
        )
        update = await op(ctx, node, dict(state))
        if not isinstance(update, Mapping):
            raise TypeError(
                f"op {node.op!r} of node {name!r} returned {type(update).__name__}; an op "
                f"must return a dict of the state keys it sets"
            )
        problem = plain_data_problem(dict(update), "update")
        if problem:
            raise TypeError(
                f"op {node.op!r} of node {name!r} returned non-plain data: {problem}; the job "
                f"state holds only dicts, lists, strings, numbers, booleans and null "
                f"(convert models with .model_dump())"
            )
        await ctx.emit("node_finished", node=name, op=node.op, visit=visit, updated=sorted(update))
        return {**update, VISITS_KEY: {**visits, name: visit}}

    run_node.__name__ = f"node_{name}"
    return run_node


def _router(
    source: str, spec: GraphSpec, max_visits: Mapping[str, int], ctx: RunContext
) -> Callable[[JobState], Awaitable[str]]:
    """The conditional edge leaving ``source``: the next node's LangGraph name."""
    edges = spec.edges_from(source)

    async def route(state: JobState) -> str:
        chosen = choose_route(edges, state, max_visits)
        if chosen.out_of_rounds:
            await ctx.emit(
                "log",
                node=source,
                message=(
                    f"after {source!r} every next node has run its max_visits "
                    f"({', '.join(chosen.exhausted)}); the job ends here"
                ),
            )
        return LG_END if chosen.target == END else chosen.target

    route.__name__ = f"route_from_{source}"
    return route
