"""Helpers for tests of ops: a RunContext over given models, recording its events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.context import RunContext
from orchestrator.graph.spec import AgentSpec, GraphSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import Replica
from orchestrator.store.base import Store


@dataclass
class EventLog:
    """An event sink that keeps every event, for assertions."""

    events: list[Event] = field(default_factory=list)

    async def emit(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, type_: str) -> list[Event]:
        return [event for event in self.events if event.type == type_]


def graph_with(
    agents: Mapping[str, AgentSpec] | None = None,
    models: Mapping[str, ModelSpec] | None = None,
    budgets: Budgets | None = None,
) -> GraphSpec:
    """A one-node graph spec holding the given agents, models and budgets."""
    return GraphSpec(
        name="test",
        models=dict(models or {}),
        agents=dict(agents or {"solver": AgentSpec()}),
        nodes={"only": NodeSpec(op="noop")},
        budgets=budgets or Budgets(),
    )


def make_context(
    model: Replica | Mapping[str, Replica],
    *,
    graph: GraphSpec | None = None,
    budgets: Budgets | None = None,
    store: Store | None = None,
    tools: Any = None,
) -> tuple[RunContext, EventLog]:
    """A RunContext whose ``default`` model is ``model`` (or the given name → model map)."""
    models = dict(model) if isinstance(model, Mapping) else {"default": model}
    spec = graph or graph_with(budgets=budgets)
    log = EventLog()
    ctx = RunContext(
        job_id="job-test",
        question="",
        models=models,
        store=cast(Store, store),
        executor=LocalExecutor(),
        budget=BudgetTracker(budgets or spec.budgets),
        events=log,
        graph=spec,
        tools=tools,
    )
    return ctx, log
