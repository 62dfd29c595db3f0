"""Task-DAG shapes for the benchmarks, and the pure figures computed on them (no I/O, no clock).

Every shape is a ``TaskPlan`` whose tasks' ``estimate`` is the task's latency in seconds:
the benchmarks make each task take that long (an ``asyncio.sleep`` or a scripted model's
delay), so every system under test runs the same DAG with the same latencies.

- ``random_plan``: layered random DAGs, as a planner writes them (each task after the
  first layer depends on about two tasks, mostly of the layer before), with a long/short
  latency mix.
- ``chain_beside_tasks``: one long chain next to many independent tasks, the case where a
  concurrency limit makes the scheduler choose which ready task goes first.
- ``diamonds``: fan-out -> join -> fan-out ..., the join a barrier by construction.
- ``parallel_chains``: several deep chains side by side with mixed latencies.

The figures: ``critical_path`` (the longest path, from given durations),
``lower_bound`` (``max(critical path, work / concurrency)``: no schedule on ``concurrency``
slots does better), ``topological_levels`` (level = longest chain of dependencies before
a task, what a level-by-level runner waits on) and ``ready_delays`` (how long each task
waited between its last dependency ending and its own start).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from orchestrator.dag import build_dag, critical_path_priorities
from orchestrator.plan import TaskPlan, TaskSpec


def random_plan(
    tasks: int, width: int, long_fraction: float, short_s: float, long_s: float, seed: int
) -> TaskPlan:
    """A layered random DAG of ``tasks`` tasks in layers of ``width``.

    Each task after the first layer depends on up to two tasks: mostly of the layer before,
    now and then of any earlier layer (a long edge). ``long_fraction`` of the tasks take
    ``long_s``, the others ``short_s``.
    """
    rng = random.Random(seed)
    layers: list[list[str]] = []
    specs: list[TaskSpec] = []
    for index in range(tasks):
        layer = index // width
        if layer == len(layers):
            layers.append([])
        deps: set[str] = set()
        if layer > 0:
            for _ in range(2):
                # Mostly the layer before; now and then any earlier layer (a long edge).
                source = layers[layer - 1] if rng.random() < 0.8 else rng.choice(layers[:layer])
                deps.add(rng.choice(source))
        task_id = f"t{index:05d}"
        latency = long_s if rng.random() < long_fraction else short_s
        specs.append(TaskSpec(id=task_id, depends_on=tuple(sorted(deps)), estimate=latency))
        layers[layer].append(task_id)
    return TaskPlan(tasks=specs)


def chain_beside_tasks(
    chain_length: int, chain_s: float, side_tasks: int, side_s: float
) -> TaskPlan:
    """A chain ``c0000 -> c0001 -> ...`` of ``chain_length`` tasks of ``chain_s`` each, and
    ``side_tasks`` independent tasks ``s0000, ...`` of ``side_s`` each.

    The side tasks come first in the plan, so a first-come scheduler starts them before the
    chain's first task.
    """
    side = [TaskSpec(id=f"s{index:05d}", estimate=side_s) for index in range(side_tasks)]
    chain = [
        TaskSpec(
            id=chain_id(index),
            depends_on=(chain_id(index - 1),) if index else (),
            estimate=chain_s,
        )
        for index in range(chain_length)
    ]
    return TaskPlan(tasks=side + chain)


def chain_id(index: int) -> str:
    """The id of the ``index``-th task of ``chain_beside_tasks``'s chain."""
    return f"c{index:05d}"


def diamonds(
    stages: int, width: int, long_fraction: float, short_s: float, long_s: float, seed: int
) -> TaskPlan:
    """``stages`` diamonds in a row: a task fans out to ``width`` tasks that one join
    task waits for; the join is the next diamond's source. Latencies as ``random_plan``'s.
    """
    rng = random.Random(seed)

    def latency() -> float:
        return long_s if rng.random() < long_fraction else short_s

    specs = [TaskSpec(id="j0000", estimate=latency())]
    for stage in range(stages):
        source = specs[-1].id
        fan = [
            TaskSpec(id=f"f{stage:04d}_{index:04d}", depends_on=(source,), estimate=latency())
            for index in range(width)
        ]
        join = TaskSpec(
            id=f"j{stage + 1:04d}", depends_on=tuple(task.id for task in fan), estimate=latency()
        )
        specs.extend([*fan, join])
    return TaskPlan(tasks=specs)


def parallel_chains(
    chains: int, depth: int, long_fraction: float, short_s: float, long_s: float, seed: int
) -> TaskPlan:
    """``chains`` independent chains of ``depth`` tasks each, latencies as ``random_plan``'s."""
    rng = random.Random(seed)
    specs: list[TaskSpec] = []
    for chain in range(chains):
        for step in range(depth):
            specs.append(
                TaskSpec(
                    id=f"k{chain:03d}_{step:05d}",
                    depends_on=(f"k{chain:03d}_{step - 1:05d}",) if step else (),
                    estimate=long_s if rng.random() < long_fraction else short_s,
                )
            )
    return TaskPlan(tasks=specs)


def nominal_durations(plan: TaskPlan) -> dict[str, float]:
    """Each task's nominal latency (its ``estimate``), by id."""
    return {task.id: task.estimate for task in plan.tasks}


def critical_path(plan: TaskPlan, durations: Mapping[str, float]) -> tuple[float, int]:
    """The longest path's total duration (tasks taking ``durations``) and its number of tasks."""
    timed = TaskPlan(
        tasks=[task.model_copy(update={"estimate": durations[task.id]}) for task in plan.tasks]
    )
    dag = build_dag(timed)
    priorities = critical_path_priorities(dag)
    node = max(priorities, key=priorities.__getitem__)
    length, hops = priorities[node], 1
    while True:
        successors = list(dag.successors(node))
        if not successors:
            return length, hops
        node = max(successors, key=priorities.__getitem__)
        hops += 1


def lower_bound(plan: TaskPlan, durations: Mapping[str, float], concurrency: int) -> float:
    """``max(critical path, total work / concurrency)``: no schedule of ``plan`` on
    ``concurrency`` slots, tasks taking ``durations``, finishes sooner.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
    work = sum(durations[task.id] for task in plan.tasks)
    return max(critical_path(plan, durations)[0], work / concurrency)


def topological_levels(plan: TaskPlan) -> list[list[str]]:
    """The tasks by level, in plan order within a level: a task's level is one more than
    its deepest dependency's (0 without dependencies).
    """
    dag = build_dag(plan)
    level: dict[str, int] = {}
    for task_id in _topological_order(plan):
        level[task_id] = 1 + max((level[dep] for dep in dag.predecessors(task_id)), default=-1)
    levels: list[list[str]] = [[] for _ in range(1 + max(level.values()))]
    for task in plan.tasks:
        levels[level[task.id]].append(task.id)
    return levels


def _topological_order(plan: TaskPlan) -> list[str]:
    """Plan order, but every task after its dependencies (Kahn's algorithm, stable)."""
    waiting = {task.id: len(set(task.depends_on)) for task in plan.tasks}
    dependents: dict[str, list[str]] = {task.id: [] for task in plan.tasks}
    for task in plan.tasks:
        for dep in set(task.depends_on):
            dependents[dep].append(task.id)
    order = [task.id for task in plan.tasks if waiting[task.id] == 0]
    for task_id in order:  # grows while it is walked
        for dependent in dependents[task_id]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                order.append(dependent)
    return order


def topological_order(plan: TaskPlan) -> list[str]:
    """Every task after its dependencies, otherwise in plan order: a one-at-a-time agent's order."""
    build_dag(plan)  # raises PlanError on a cycle or an unknown dependency
    return _topological_order(plan)


def ready_delays(
    plan: TaskPlan, starts: Mapping[str, float], ends: Mapping[str, float], origin: float
) -> dict[str, float]:
    """How long each task waited to start once it could: its start minus its last
    dependency's end (minus ``origin``, the run's start, for a task without dependencies).
    """
    return {
        task.id: starts[task.id] - max((ends[dep] for dep in task.depends_on), default=origin)
        for task in plan.tasks
    }


def summarize_delays(delays: Sequence[float]) -> dict[str, float]:
    """Max, mean and total of some ready delays, in milliseconds (zeros for none)."""
    if not delays:
        return {"max_ms": 0.0, "mean_ms": 0.0, "total_ms": 0.0}
    total = sum(delays)
    return {
        "max_ms": max(delays) * 1e3,
        "mean_ms": total / len(delays) * 1e3,
        "total_ms": total * 1e3,
    }
