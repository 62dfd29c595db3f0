"""Task DAG logic (pure): validate a plan, build its graph, rank tasks, grow it at run time.

A task DAG is a networkx ``DiGraph`` whose nodes are task ids (node attribute
``spec`` holds the ``TaskSpec``) and whose edges run from a dependency to the task
that depends on it. Nothing here does I/O; the scheduler drives it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import networkx as nx

from orchestrator.errors import PlanError
from orchestrator.plan import TaskPlan, TaskSpec


def validate_plan(
    plan: TaskPlan,
    *,
    max_tasks: int | None = None,
    known_kinds: Collection[str] | None = None,
    existing: Collection[str] = (),
) -> list[str]:
    """Every problem that keeps ``plan`` from being a valid task DAG, one sentence each.

    ``existing`` are the ids of tasks already in the DAG (when replanning): new tasks
    may depend on them but may not reuse their ids. An empty list means the plan is valid.
    """
    return _problems(plan.tasks, max_tasks=max_tasks, known_kinds=known_kinds, existing=existing)


def _problems(
    tasks: Sequence[TaskSpec],
    *,
    max_tasks: int | None,
    known_kinds: Collection[str] | None,
    existing: Collection[str],
) -> list[str]:
    problems: list[str] = []
    existing_ids = set(existing)
    counts = Counter(task.id for task in tasks)
    for task_id, count in counts.items():
        if count > 1:
            problems.append(
                f"task id {task_id!r} is used by {count} tasks; task ids must be unique; "
                f"rename all but one of them"
            )
        if task_id in existing_ids:
            problems.append(
                f"task id {task_id!r} is already in the DAG; new tasks need ids of their own; "
                f"rename the new task"
            )
    known = existing_ids | counts.keys()
    for task in tasks:
        for dep in task.depends_on:
            if dep == task.id:
                problems.append(
                    f"task {task.id!r} depends on itself; a task cannot wait for itself; "
                    f"remove {dep!r} from its depends_on"
                )
            elif dep not in known:
                problems.append(
                    f"task {task.id!r} depends on {dep!r}, which is not a task of the plan; "
                    f"every dependency must name a planned task; add a task {dep!r} or remove "
                    f"it from {task.id!r}'s depends_on"
                )
        if known_kinds is not None and task.kind not in known_kinds:
            problems.append(
                f"task {task.id!r} has unknown kind {task.kind!r}; known kinds: "
                f"{', '.join(sorted(known_kinds)) or '(none)'}; use one of them"
            )
    total = len(existing_ids) + len(tasks)
    if max_tasks is not None and total > max_tasks:
        new = f" ({len(existing_ids)} already planned + {len(tasks)} new)" if existing_ids else ""
        problems.append(
            f"the plan has {total} tasks{new}, over the limit of {max_tasks}; plan at most "
            f"{max_tasks} tasks in all (merge related tasks) or raise max_tasks"
        )
    problems.extend(_cycle_problems(tasks))
    return problems


def _cycle_problems(tasks: Sequence[TaskSpec]) -> list[str]:
    """One problem per group of tasks that wait on each other, with one cycle's path.

    Existing tasks never depend on new ones, so every cycle lies among ``tasks``.
    """
    if _is_acyclic(tasks):
        return []
    graph: nx.DiGraph = nx.DiGraph()
    ids = {task.id for task in tasks}
    graph.add_edges_from(
        (dep, task.id) for task in tasks for dep in task.depends_on if dep in ids and dep != task.id
    )
    problems = []
    components = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    for component in sorted(components, key=min):
        start = min(component)
        edges = nx.find_cycle(graph.subgraph(component), source=start)
        path = [edge[0] for edge in edges]
        # Start the path at its smallest id so that the message is the same every run.
        first = path.index(min(path))
        path = path[first:] + path[:first]
        problems.append(
            f"tasks form a cycle {' → '.join([*path, path[0]])} (each arrow points from a "
            f"task to one that depends on it); a plan must be acyclic; remove one of these "
            f"dependencies"
        )
    return problems


def _is_acyclic(tasks: Sequence[TaskSpec]) -> bool:
    """Whether the dependencies among ``tasks`` form no cycle (Kahn's algorithm).

    The fast check for the common case; only a cyclic plan pays for the networkx
    analysis that names its cycles.
    """
    ids = {task.id for task in tasks}
    waiting: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    for task in tasks:
        deps = {dep for dep in task.depends_on if dep in ids and dep != task.id}
        # Summed, so that tasks sharing an id (a problem of their own) act as one node.
        waiting[task.id] = waiting.get(task.id, 0) + len(deps)
        for dep in deps:
            dependents.setdefault(dep, []).append(task.id)
    ready = [task_id for task_id, count in waiting.items() if count == 0]
    settled = 0
    while ready:
        task_id = ready.pop()
        settled += 1
        for dependent in dependents.get(task_id, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    return settled == len(waiting)


def build_dag(
    plan: TaskPlan,
    *,
    max_tasks: int | None = None,
    known_kinds: Collection[str] | None = None,
) -> nx.DiGraph:
    """The task DAG of ``plan``; raises ``PlanError`` listing every problem if it is invalid."""
    problems = validate_plan(plan, max_tasks=max_tasks, known_kinds=known_kinds)
    if problems:
        raise PlanError("the plan is not a valid task DAG", problems=problems)
    dag: nx.DiGraph = nx.DiGraph()
    _add_to_graph(dag, plan.tasks)
    return dag


def _add_to_graph(dag: nx.DiGraph, tasks: Sequence[TaskSpec]) -> None:
    dag.add_nodes_from((task.id, {"spec": task}) for task in tasks)
    dag.add_edges_from((dep, task.id) for task in tasks for dep in task.depends_on)


def task_spec(dag: nx.DiGraph, task_id: str) -> TaskSpec:
    spec: TaskSpec = dag.nodes[task_id]["spec"]
    return spec


def critical_path_priorities(dag: nx.DiGraph) -> dict[str, float]:
    """Each task's priority: the longest path from it to a sink, summing ``estimate``.

    Running the task with the longest remaining path first keeps the critical path moving.
    """
    priorities: dict[str, float] = {}
    specs: dict[str, TaskSpec] = dict(dag.nodes(data="spec"))
    successors = dag.succ
    for node in reversed(list(nx.topological_sort(dag))):
        # Estimates are >= 0, so 0.0 is the tail of a sink and a floor for the others.
        tail = 0.0
        for successor in successors[node]:
            if priorities[successor] > tail:
                tail = priorities[successor]
        priorities[node] = specs[node].estimate + tail
    return priorities


def critical_path_length(dag: nx.DiGraph) -> float:
    """The sum of estimates along the longest path of the DAG (0 for an empty DAG)."""
    return max(critical_path_priorities(dag).values(), default=0.0)


def ready_tasks(
    dag: nx.DiGraph,
    done: Collection[str],
    running: Collection[str] = (),
    blocked: Collection[str] = (),
    *,
    priorities: Mapping[str, float] | None = None,
) -> list[str]:
    """Tasks whose dependencies are all done and that are neither running nor blocked.

    Highest priority (longest remaining path) first, then by id. This rescans the DAG;
    the scheduler keeps in-degree counters instead.
    """
    ranks = critical_path_priorities(dag) if priorities is None else priorities
    excluded = set(done) | set(running) | set(blocked)
    ready = [
        node
        for node in dag.nodes
        if node not in excluded and all(dep in done for dep in dag.predecessors(node))
    ]
    return sorted(ready, key=lambda node: (-ranks[node], node))


def descendants_to_skip(dag: nx.DiGraph, failed_id: str) -> set[str]:
    """Every task that depends, directly or not, on the failed task ``failed_id``."""
    descendants: set[str] = nx.descendants(dag, failed_id)
    return descendants


def add_tasks(
    dag: nx.DiGraph,
    new_tasks: Sequence[TaskSpec],
    *,
    max_tasks: int | None = None,
    known_kinds: Collection[str] | None = None,
) -> list[str]:
    """Add ``new_tasks`` to ``dag`` in place (replanning) and return their ids.

    The new tasks may depend on tasks already in the DAG and on each other; the DAG
    stays acyclic because no existing task depends on a new one. Raises ``PlanError``
    listing every problem, leaving ``dag`` unchanged.
    """
    problems = _problems(
        new_tasks, max_tasks=max_tasks, known_kinds=known_kinds, existing=set(dag.nodes)
    )
    if problems:
        raise PlanError("the new tasks cannot be added to the task DAG", problems=problems)
    _add_to_graph(dag, new_tasks)
    return [task.id for task in new_tasks]
