"""The one hook on an operator's fan-out: its branches, as an observer wants them run.

A strategy runs its branches (a debate's turns, a tournament's matches, a tree's
expansions) through the strategies' concurrency primitives, which pass them through
``observe_branches`` first. With no observer installed (tracing off) the branches are
returned as they are, at the cost of one context-variable read; tracing installs an
observer for the scope of an op or strategy, which wraps each branch in its span.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class BranchObserver(Protocol):
    """Wraps each branch of a fan-out (e.g. in a span); results and errors pass through."""

    def __call__(
        self, branches: Sequence[Coroutine[Any, Any, T]], /
    ) -> list[Coroutine[Any, Any, T]]: ...


branch_observer: ContextVar[BranchObserver | None] = ContextVar(
    "breadth_branch_observer", default=None
)


def observe_branches(
    branches: Sequence[Coroutine[Any, Any, T]],
) -> Sequence[Coroutine[Any, Any, T]]:
    """The branches of one fan-out, wrapped by the observer in scope (none: unchanged)."""
    observer = branch_observer.get()
    return branches if observer is None else observer(branches)
