"""Which node runs next (pure): edge conditions on the job state, and ``max_visits``.

The edges leaving a node are tried in file order, conditional ones first, and its one
edge without ``when`` last, as the fallback. An edge is skipped when its condition does
not hold or when its target has already run ``max_visits`` times; if every edge is
skipped, the job ends there (the loop has run out of rounds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.graph.spec import END, Condition, EdgeSpec

# Where the runtime counts how often each node has run: ``{node: visits}``.
VISITS_KEY = "visits"


def read_path(state: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``verdict.accepted``, ``results.0``) in ``state``; missing: None."""
    value: Any = state
    for part in dotted.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list | tuple) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def condition_holds(condition: Condition, state: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds for ``state`` (a missing value reads as null)."""
    value = read_path(state, condition.field)
    test = condition.test
    if test == "equals":
        return bool(_same(value, condition.equals))
    if test == "not_equals":
        return not _same(value, condition.not_equals)
    if test == "in":
        return any(_same(value, option) for option in condition.in_ or [])
    return bool(value) == bool(condition.truthy)


def _same(value: Any, expected: Any) -> bool:
    # YAML `true` must not match a count of 1, nor `1` a flag that is true.
    if isinstance(value, bool) != isinstance(expected, bool):
        return False
    return bool(value == expected)


def visits_of(state: Mapping[str, Any]) -> dict[str, int]:
    """How often each node has run so far, as recorded in the state."""
    visits = state.get(VISITS_KEY)
    if not isinstance(visits, Mapping):
        return {}
    return {str(k): v for k, v in visits.items() if isinstance(v, int)}


@dataclass(frozen=True)
class Route:
    """The next node (``END`` when the job is done) and why edges were passed over.

    ``exhausted`` lists the targets skipped because they reached ``max_visits``; when
    ``target`` is END because of them, ``out_of_rounds`` is true.
    """

    target: str
    exhausted: tuple[str, ...] = ()
    out_of_rounds: bool = False


def ordered_edges(edges: Sequence[EdgeSpec]) -> list[EdgeSpec]:
    """Conditional edges in file order, then the fallback (the edges without ``when``)."""
    return [e for e in edges if e.when is not None] + [e for e in edges if e.when is None]


def choose_route(
    edges: Sequence[EdgeSpec],
    state: Mapping[str, Any],
    max_visits: Mapping[str, int],
) -> Route:
    """The first edge of ``edges`` (those leaving one node) that the state allows."""
    visits = visits_of(state)
    exhausted: list[str] = []
    for edge in ordered_edges(edges):
        if edge.when is not None and not condition_holds(edge.when, state):
            continue
        if edge.to != END and visits.get(edge.to, 0) >= max_visits.get(edge.to, 1):
            exhausted.append(edge.to)
            continue
        return Route(edge.to, tuple(exhausted))
    return Route(END, tuple(exhausted), out_of_rounds=bool(exhausted))


def step_limit(max_visits: Mapping[str, int]) -> int:
    """The most node runs a job can take: every node run as often as it may, plus one."""
    return sum(max_visits.values()) + 1
