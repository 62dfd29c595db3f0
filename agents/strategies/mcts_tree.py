"""Monte-Carlo tree search over reasoning steps: UCT selection, virtual loss, backpropagation.

MCTS for LLM reasoning (as in Li et al. 2025's process supervision with MCTS, and
Ding et al. 2025, "Dynamic Parallel Tree Search for Efficient LLM Reasoning",
arXiv:2502.16235) treats each node as a partial solution (the steps from the root), picks
where to grow by the UCT rule (mean value plus an exploration bonus), expands the
chosen node into several next steps, evaluates them, and backs the values up the path.
To run several rollouts of one iteration at once, each selected path takes a *virtual
loss* while it is in flight (its visits count as losses), so the next selection of the
same iteration is steered to another branch (the classic parallel-MCTS device; DPTS
parallelizes the expansions of a tree search in the same spirit). Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    """A partial solution: one step of text below its parent, with its search statistics."""

    id: int
    parent: int | None
    text: str
    depth: int
    visits: int = 0
    value_sum: float = 0.0
    virtual: int = 0
    children: list[int] = field(default_factory=list)
    expanded: bool = False

    @property
    def mean(self) -> float:
        """The mean backed-up value (0 before any visit)."""
        return self.value_sum / self.visits if self.visits else 0.0


class SearchTree:
    """An MCTS tree of reasoning steps, at most ``max_depth`` steps deep.

    ``exploration`` is UCT's constant c; ``virtual_loss`` is the value a path in flight
    counts per pending rollout (values are in [0, 1], so 1 counts it as a sure loss).
    """

    def __init__(self, max_depth: int, exploration: float, virtual_loss: float) -> None:
        if max_depth < 1:
            raise ValueError(f"max_depth {max_depth!r} must be >= 1")
        if exploration < 0 or virtual_loss < 0:
            raise ValueError(
                f"exploration {exploration!r} and virtual_loss {virtual_loss!r} must be >= 0"
            )
        self.max_depth = max_depth
        self.exploration = exploration
        self.virtual_loss = virtual_loss
        self.nodes: list[Node] = [Node(id=0, parent=None, text="", depth=0)]

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: int) -> Node:
        if not 0 <= node_id < len(self.nodes):
            raise ValueError(f"no node {node_id!r}; ids are 0..{len(self.nodes) - 1}")
        return self.nodes[node_id]

    def terminal(self, node_id: int) -> bool:
        """A node at the depth limit: it is a full solution and is never expanded."""
        return self.node(node_id).depth >= self.max_depth

    def uct(self, node_id: int) -> float:
        """UCT score of a child: mean (virtual losses included) + c·sqrt(ln N / n).

        An unvisited child without a pending rollout scores +inf (tried first).
        """
        child = self.node(node_id)
        if child.parent is None:
            raise ValueError("the root has no UCT score")
        parent = self.nodes[child.parent]
        count = child.visits + child.virtual
        if count == 0:
            return math.inf
        mean = (child.value_sum - self.virtual_loss * child.virtual) / count
        total = max(1, parent.visits + parent.virtual)
        return mean + self.exploration * math.sqrt(math.log(total) / count)

    def select(self) -> list[int]:
        """The path from the root to a leaf (unexpanded or terminal), best UCT child first.

        Ties go to the older child (lower id), so selection is deterministic.
        """
        path = [0]
        node = self.nodes[0]
        while node.expanded and node.children and not self.terminal(node.id):
            best = max(node.children, key=lambda c: (self.uct(c), -c))
            path.append(best)
            node = self.nodes[best]
        return path

    def add_virtual_loss(self, path: Sequence[int]) -> None:
        """Mark a rollout in flight along ``path`` (it counts as a loss until backed up)."""
        for node_id in path:
            self.node(node_id).virtual += 1

    def remove_virtual_loss(self, path: Sequence[int]) -> None:
        """Undo ``add_virtual_loss`` for a rollout that came back (or was abandoned)."""
        for node_id in path:
            node = self.node(node_id)
            if node.virtual < 1:
                raise ValueError(f"node {node_id} has no virtual loss to remove")
            node.virtual -= 1

    def expand(self, node_id: int, texts: Sequence[str]) -> list[int]:
        """A child per step text; the node counts as expanded even with none (a dead end)."""
        parent = self.node(node_id)
        if self.terminal(node_id):
            raise ValueError(f"node {node_id} is at the depth limit {self.max_depth}")
        ids = []
        for text in texts:
            child = Node(id=len(self.nodes), parent=node_id, text=text, depth=parent.depth + 1)
            self.nodes.append(child)
            parent.children.append(child.id)
            ids.append(child.id)
        parent.expanded = True
        return ids

    def backpropagate(self, path: Sequence[int], value: float) -> None:
        """Add one visit with ``value`` (in [0, 1]) to every node of ``path``."""
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"value {value!r} must be in [0, 1]")
        for node_id in path:
            node = self.node(node_id)
            node.visits += 1
            node.value_sum += value

    def path_to(self, node_id: int) -> list[int]:
        """The ids from the root down to ``node_id``."""
        path = [node_id]
        while (parent := self.node(path[-1]).parent) is not None:
            path.append(parent)
        return path[::-1]

    def steps(self, node_id: int) -> list[str]:
        """The step texts from the root (excluded) down to ``node_id``."""
        return [self.nodes[i].text for i in self.path_to(node_id)[1:]]

    def best_path(self) -> list[int]:
        """The most-visited child at each level from the root (ties: higher mean, older)."""
        path = [0]
        node = self.nodes[0]
        while node.children:
            best = max(node.children, key=lambda c: (self.nodes[c].visits, self.nodes[c].mean, -c))
            path.append(best)
            node = self.nodes[best]
        return path

    def to_details(self) -> list[dict[str, Any]]:
        """Every node but the root, for a run's details."""
        return [
            {
                "id": n.id,
                "parent": n.parent,
                "depth": n.depth,
                "visits": n.visits,
                "mean": round(n.mean, 4),
                "text": n.text[:200],
            }
            for n in self.nodes[1:]
        ]
