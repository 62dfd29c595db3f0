"""Progress through a task DAG (pure): which tasks wait, which are ready, what a failure skips.

The scheduler asks ``DagProgress`` what to start next and tells it what finished. It
keeps a count of unfinished dependencies per task and a heap of ready tasks ordered
by critical-path priority, so each step costs O(log n) plus the task's own edges,
never a rescan of the DAG. Nothing here does I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence

import networkx as nx

from orchestrator.dag import add_tasks, critical_path_priorities, task_spec
from orchestrator.plan import TaskSpec, task_key


class DagProgress:
    """Where each task of ``dag`` stands: waiting, ready, started, finished or given up.

    ``key(task_id)`` is a task's content key (``orchestrator.plan.task_key``). It depends
    only on specs, but hashing every spec up front would delay the first tasks, so each
    key is computed when first asked for (a task's start) and kept.
    """

    def __init__(self, dag: nx.DiGraph) -> None:
        self.dag = dag
        self.priorities: dict[str, float] = critical_path_priorities(dag)
        self._keys: dict[str, str] = {}
        # Unfinished dependencies of each task that is neither ready nor settled.
        self._waiting: dict[str, int] = {}
        self._ready: list[tuple[float, str]] = []
        self._started: set[str] = set()
        # Tasks that are done (dependents may start) and tasks that will never be done.
        self._done: set[str] = set()
        self._given_up: set[str] = set()
        for node, degree in dag.in_degree():
            if degree:
                self._waiting[node] = degree
            else:
                self._ready.append((-self.priorities[node], node))
        heapq.heapify(self._ready)

    def key(self, task_id: str) -> str:
        """The content key of ``task_id`` (hashing the dependencies' keys first if needed)."""
        keys = self._keys
        found = keys.get(task_id)
        if found is not None:
            return found
        # Depth-first without recursion: a long chain must not hit the recursion limit.
        stack = [task_id]
        while stack:
            node = stack[-1]
            spec = task_spec(self.dag, node)
            missing = [dep for dep in spec.depends_on if dep not in keys]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            keys[node] = task_key(spec, {dep: keys[dep] for dep in spec.depends_on})
        return keys[task_id]

    def keys(self) -> dict[str, str]:
        """Every task's content key, in DAG order."""
        known = self._keys
        return {node: known[node] if node in known else self.key(node) for node in self.dag}

    def _enqueue(self, node: str) -> None:
        """Put a new task in the ready heap, or count the dependencies it still waits for."""
        waiting = sum(1 for dep in self.dag.predecessors(node) if dep not in self._done)
        if waiting:
            self._waiting[node] = waiting
        else:
            heapq.heappush(self._ready, (-self.priorities[node], node))

    def spec(self, task_id: str) -> TaskSpec:
        return task_spec(self.dag, task_id)

    def has_ready(self) -> bool:
        return bool(self._ready)

    def pop_ready(self) -> str:
        """The ready task with the longest remaining path (ties: smallest id); marks it started."""
        _, node = heapq.heappop(self._ready)
        self._started.add(node)
        return node

    def finish(self, task_id: str) -> list[str]:
        """Record ``task_id`` as done; return the tasks that became ready because of it."""
        self._done.add(task_id)
        ready = []
        for node in self.dag.successors(task_id):
            left = self._waiting.get(node)
            if left is None:
                continue
            if left > 1:
                self._waiting[node] = left - 1
            else:
                del self._waiting[node]
                heapq.heappush(self._ready, (-self.priorities[node], node))
                ready.append(node)
        return ready

    def give_up(self, task_id: str) -> list[str]:
        """Record that ``task_id`` will never be done; return the waiting tasks that depend
        on it, directly or not, nearest first (they can never start either).
        """
        self._given_up.add(task_id)
        blocked: list[str] = []
        frontier = [task_id]
        for node in frontier:
            for dependent in self.dag.successors(node):
                if dependent in self._waiting:
                    del self._waiting[dependent]
                    self._given_up.add(dependent)
                    blocked.append(dependent)
                    frontier.append(dependent)
        return blocked

    def add(
        self, new_tasks: Sequence[TaskSpec], *, known_kinds: Collection[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Add ``new_tasks`` (replanning) and return (their ids, those that can never start).

        Validated by ``orchestrator.dag.add_tasks``: raises ``PlanError`` and changes
        nothing when they are invalid. A new task that depends on a task that was given
        up is itself given up.
        """
        ids = add_tasks(self.dag, new_tasks, known_kinds=known_kinds)
        order: list[str] = list(nx.topological_sort(self.dag.subgraph(ids)))
        self._raise_priorities(order)
        blocked = []
        for node in order:
            if any(dep in self._given_up for dep in self.dag.predecessors(node)):
                self._given_up.add(node)
                blocked.append(node)
            else:
                self._enqueue(node)
        return ids, blocked

    def _raise_priorities(self, new_order: Sequence[str]) -> None:
        """Give the new tasks their priorities and raise those of the tasks they extend."""
        dag = self.dag
        for node in reversed(new_order):
            tail = max((self.priorities[s] for s in dag.successors(node)), default=0.0)
            self.priorities[node] = task_spec(dag, node).estimate + tail
        new = set(new_order)
        stack = [dep for node in new_order for dep in dag.predecessors(node) if dep not in new]
        while stack:
            node = stack.pop()
            tail = max(self.priorities[s] for s in dag.successors(node))
            priority = task_spec(dag, node).estimate + tail
            if priority > self.priorities[node]:
                self.priorities[node] = priority
                stack.extend(dag.predecessors(node))
        # Ready tasks may have moved up: re-rank them.
        self._ready = [(-self.priorities[node], node) for _, node in self._ready]
        heapq.heapify(self._ready)

    def unsettled(self) -> list[str]:
        """Tasks never started that are neither done nor given up, in DAG order."""
        return [
            node
            for node in self.dag.nodes
            if node not in self._started and node not in self._given_up and node not in self._done
        ]
