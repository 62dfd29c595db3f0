"""What an op (a node of an agent graph) gets to work with, and the op registry.

An op is ``async (ctx, node, state) -> state update``. The built-in ops live in
``agents``; the composition root (the CLI / service) registers them, so the
engine never imports the agents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.budget import BudgetTracker
from orchestrator.errors import ConfigError
from orchestrator.events import Event, EventType
from orchestrator.executors.base import Executor
from orchestrator.models.protocol import Replica
from orchestrator.store.base import Store
from orchestrator.usage import TokenUsage

# The LangGraph state of a job: plain data, so it can be checkpointed and stored.
JobState = dict[str, Any]


class EventSink(Protocol):
    async def emit(self, event: Event) -> None: ...


@dataclass
class RunContext:
    """Everything a running job shares: models, tools, store, executor, budget, events."""

    job_id: str
    question: str
    models: Mapping[str, Replica]
    store: Store
    executor: Executor
    budget: BudgetTracker
    events: EventSink
    # The graph spec (orchestrator.graph.spec.GraphSpec); typed loosely to avoid a cycle.
    graph: Any
    # The tool registry (tools.registry.ToolRegistry); the engine does not import tools.
    tools: Any = None
    # Extra objects the composition root hands to ops (e.g. the corpus).
    extras: dict[str, Any] = field(default_factory=dict)

    def model(self, name: str) -> Replica:
        try:
            return self.models[name]
        except KeyError:
            raise ConfigError(
                f"model {name!r} is not defined; defined models: {sorted(self.models)}; "
                f"add it under 'models:' in the graph"
            ) from None

    async def emit(self, type: EventType, task_id: str | None = None, **data: Any) -> None:
        await self.events.emit(Event(type=type, job_id=self.job_id, task_id=task_id, data=data))

    async def record_usage(self, usage: TokenUsage, task_id: str | None = None) -> None:
        """Count tokens against the job's budget and tell the progress view."""
        self.budget.record(usage)
        await self.emit(
            "tokens",
            task_id=task_id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=self.budget.usage.total_tokens,
        )


Op = Callable[[RunContext, Any, JobState], Awaitable[JobState]]
# Checks a node's params before the job runs: (path inside params, message) per problem.
ParamCheck = Callable[[Mapping[str, Any]], list[tuple[tuple[str | int, ...], str]]]


class OpRegistry:
    """Named ops an agent graph's nodes can use (``op: plan``)."""

    def __init__(self) -> None:
        self._ops: dict[str, Op] = {}
        self._docs: dict[str, str] = {}
        self._checks: dict[str, ParamCheck] = {}

    def register(
        self, name: str, op: Op, doc: str = "", *, check_params: ParamCheck | None = None
    ) -> None:
        if name in self._ops:
            raise ConfigError(f"op {name!r} is registered twice; op names must be unique")
        self._ops[name] = op
        self._docs[name] = doc
        if check_params is not None:
            self._checks[name] = check_params

    def param_checks(self) -> dict[str, ParamCheck]:
        """The ops' params checks, for the graph loader (``breadth validate``)."""
        return dict(self._checks)

    def get(self, name: str) -> Op:
        try:
            return self._ops[name]
        except KeyError:
            raise ConfigError(
                f"unknown op {name!r}; known ops: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._ops)

    def doc(self, name: str) -> str:
        return self._docs.get(name, "")
