"""The systems that ``baselines.py`` compares, each running a task DAG to the end.

Every system gets the same ``TaskPlan``, the same concurrency limit and the same
``Timeline``, whose ``run`` is the task itself: it sleeps the task's latency (its
``estimate``) and records when the task started and ended. So the systems differ only in
how they schedule, which is what the bench compares.

- ``breadth``: ``Scheduler`` on a ``LocalExecutor``, ``budgets.concurrency`` as the limit.
- ``langgraph``: a ``StateGraph`` written the way its users write one: a node per task,
  ``add_edge(START, task)`` for a task without dependencies, ``add_edge(dep, task)`` for
  one dependency, ``add_edge([deps], task)`` (a waiting edge) for several, results
  gathered in a list with an ``operator.add`` reducer; ``max_concurrency`` in the run
  config. It runs in supersteps: a node starts only when every node of the step before has
  finished.
- ``langgraph_send``: one ``Send`` per task of a topological level from a dispatcher node,
  then the next level (LangGraph's map-reduce pattern, level by level).
- ``gather``: ``asyncio.gather`` over each topological level in turn, an
  ``asyncio.Semaphore`` as the limit.
- ``sequential``: one task at a time in topological order, as a ReAct agent that calls
  one tool at a time does.

Each ``run_*`` returns the makespan: wall time from the call that runs the DAG to its
return (breadth's includes building and validating the DAG; LangGraph's graph is
compiled before the clock starts, and the compile time is returned apart).
"""

from __future__ import annotations

import asyncio
import operator
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from dag_shapes import topological_levels, topological_order
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from scheduler_tasks import LiveContext

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.executors.local import LocalExecutor
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec
from orchestrator.scheduler import Scheduler

SYSTEMS = ("breadth", "langgraph", "langgraph_send", "gather", "sequential")


@dataclass
class Timeline:
    """When each task started and ended (``time.perf_counter`` seconds), from ``origin``."""

    latency: Mapping[str, float]
    origin: float = 0.0
    starts: dict[str, float] = field(default_factory=dict)
    ends: dict[str, float] = field(default_factory=dict)

    def begin(self) -> float:
        """Start the clock of a run; returns the origin."""
        self.starts.clear()
        self.ends.clear()
        self.origin = time.perf_counter()
        return self.origin

    async def run(self, task_id: str) -> None:
        """The task: wait its latency, recording its start and end."""
        if task_id in self.starts:
            raise RuntimeError(f"task {task_id!r} ran twice; a DAG's task runs once")
        self.starts[task_id] = time.perf_counter()
        await asyncio.sleep(self.latency[task_id])
        self.ends[task_id] = time.perf_counter()

    def durations(self) -> dict[str, float]:
        """How long each task took (a timer fires a little after its nominal time)."""
        return {task_id: self.ends[task_id] - start for task_id, start in self.starts.items()}


@dataclass
class Run:
    """One run of a DAG by a system: its makespan and the set-up time outside it."""

    makespan_s: float
    setup_s: float = 0.0


async def run_breadth(plan: TaskPlan, concurrency: int, timeline: Timeline) -> Run:
    async def handle(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
        await timeline.run(task.id)
        return TaskResult(task_id=task.id, status="done")

    executor = LocalExecutor()
    scheduler = Scheduler(
        executor=executor,
        handlers={"research": handle},
        context=LiveContext(),
        budget=BudgetTracker(Budgets(concurrency=concurrency, max_retries=0)),
        job_id="bench",
    )
    try:
        start = timeline.begin()
        outcome = await scheduler.run(plan)
        elapsed = time.perf_counter() - start
    finally:
        await executor.aclose()
    bad = [r.task_id for r in outcome.results.values() if r.status != "done"]
    if bad or len(outcome.results) != len(plan.tasks):
        raise RuntimeError(f"breadth did not finish every task: {bad[:5]}")
    return Run(elapsed)


class _Results(TypedDict):
    done: Annotated[list[str], operator.add]


def _task_node(timeline: Timeline, task_id: str) -> Any:
    """A node running one task (typed ``Any``: LangGraph's node protocols name the argument)."""

    async def node(state: _Results) -> _Results:
        await timeline.run(task_id)
        return {"done": [task_id]}

    return node


def build_langgraph(plan: TaskPlan, timeline: Timeline) -> Any:
    """A node per task, an edge per dependency (a waiting edge for several), compiled."""
    graph = StateGraph(_Results)
    has_dependents = {dep for task in plan.tasks for dep in task.depends_on}
    for task in plan.tasks:
        graph.add_node(task.id, _task_node(timeline, task.id))
    for task in plan.tasks:
        deps = sorted(set(task.depends_on))
        if not deps:
            graph.add_edge(START, task.id)
        elif len(deps) == 1:
            graph.add_edge(deps[0], task.id)
        else:
            graph.add_edge(deps, task.id)
        if task.id not in has_dependents:
            graph.add_edge(task.id, END)
    return graph.compile()


async def run_langgraph(plan: TaskPlan, concurrency: int, timeline: Timeline) -> Run:
    setup = time.perf_counter()
    app = build_langgraph(plan, timeline)
    setup_s = time.perf_counter() - setup
    # One superstep per level (a waiting edge fires once all of its sources have run).
    config = {"max_concurrency": concurrency, "recursion_limit": len(plan.tasks) + 10}
    start = timeline.begin()
    final = await app.ainvoke({"done": []}, config=config)
    elapsed = time.perf_counter() - start
    _check_all_done(plan, final["done"], "langgraph")
    return Run(elapsed, setup_s)


class _LevelState(TypedDict):
    level: int
    done: Annotated[list[str], operator.add]


class _TaskInput(TypedDict):
    task: str


def build_langgraph_send(plan: TaskPlan, timeline: Timeline) -> Any:
    """A dispatcher that ``Send``s every task of the current level, then the next level."""
    levels = topological_levels(plan)

    def dispatch(state: _LevelState) -> list[Send] | str:
        if state["level"] >= len(levels):
            return END
        return [Send("run_task", {"task": task_id}) for task_id in levels[state["level"]]]

    async def run_task(state: _TaskInput) -> dict[str, list[str]]:
        await timeline.run(state["task"])
        return {"done": [state["task"]]}

    def next_level(state: _LevelState) -> dict[str, int]:
        return {"level": state["level"] + 1}

    graph = StateGraph(_LevelState)
    graph.add_node("run_task", run_task)
    graph.add_node("next_level", next_level)
    graph.add_conditional_edges(START, dispatch, ["run_task", END])
    graph.add_edge("run_task", "next_level")
    graph.add_conditional_edges("next_level", dispatch, ["run_task", END])
    return graph.compile()


async def run_langgraph_send(plan: TaskPlan, concurrency: int, timeline: Timeline) -> Run:
    setup = time.perf_counter()
    app = build_langgraph_send(plan, timeline)
    setup_s = time.perf_counter() - setup
    # Two supersteps per level: the level's tasks, then next_level.
    config = {"max_concurrency": concurrency, "recursion_limit": 2 * len(plan.tasks) + 10}
    start = timeline.begin()
    final = await app.ainvoke({"level": 0, "done": []}, config=config)
    elapsed = time.perf_counter() - start
    _check_all_done(plan, final["done"], "langgraph_send")
    return Run(elapsed, setup_s)


async def run_gather(plan: TaskPlan, concurrency: int, timeline: Timeline) -> Run:
    levels = topological_levels(plan)
    limit = asyncio.Semaphore(concurrency)

    async def limited(task_id: str) -> None:
        async with limit:
            await timeline.run(task_id)

    start = timeline.begin()
    for level in levels:
        await asyncio.gather(*(limited(task_id) for task_id in level))
    return Run(time.perf_counter() - start)


async def run_sequential(plan: TaskPlan, concurrency: int, timeline: Timeline) -> Run:
    order = topological_order(plan)
    start = timeline.begin()
    for task_id in order:
        await timeline.run(task_id)
    return Run(time.perf_counter() - start)


def _check_all_done(plan: TaskPlan, done: list[str], system: str) -> None:
    missing = {task.id for task in plan.tasks} - set(done)
    if missing or len(done) != len(plan.tasks):
        raise RuntimeError(
            f"{system} ran {len(done)} tasks of {len(plan.tasks)}; missing {sorted(missing)[:5]}"
        )


RUNNERS: dict[str, Callable[[TaskPlan, int, Timeline], Awaitable[Run]]] = {
    "breadth": run_breadth,
    "langgraph": run_langgraph,
    "langgraph_send": run_langgraph_send,
    "gather": run_gather,
    "sequential": run_sequential,
}
