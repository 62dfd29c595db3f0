"""Helpers for tests of ops: a RunContext over given models, recording its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from agents import TASK_HANDLERS
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.context import RunContext
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import AgentSpec, GraphSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import Completion, GenerateRequest, Replica, StreamChunk
from orchestrator.ops import OpRegistry
from orchestrator.store.base import Store
from orchestrator.testing import ScriptedModel
from orchestrator.toolbox import Toolbox

T = TypeVar("T")

# How long a test waits for something that a correct program does at once (a task to
# start, an event to be set): a guard against a deadlock, far below the global 120 s.
WAIT_S = 10.0


async def within(awaitable: Awaitable[T], what: str, seconds: float = WAIT_S) -> T:
    """``awaitable``'s result; if it takes more than ``seconds``, an ``AssertionError`` that
    says ``what`` never happened (a deadlock guard, not a timing assertion).
    """
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await awaitable
    except TimeoutError:
        if not deadline.expired():
            raise
        raise AssertionError(f"{what}: still waiting after {seconds} s (a deadlock?)") from None


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
    tools: Toolbox | None = None,
    ops: OpRegistry | None = None,
) -> tuple[RunContext, EventLog]:
    """A RunContext whose ``default`` model is ``model`` (or the given name → model map)."""
    models = dict(model) if isinstance(model, Mapping) else {"default": model}
    spec = graph or graph_with(budgets=budgets)
    log = EventLog()
    ctx = RunContext(
        job_id="job-test",
        question="",
        models=models,
        store=store,
        executor=LocalExecutor(),
        budget=BudgetTracker(budgets or spec.budgets),
        events=log,
        graph=spec,
        tools=tools,
        ops=ops or builtin_ops(),
        handlers=TASK_HANDLERS,
    )
    return ctx, log


class Rendezvous:
    """Requests that arrive here wait until ``size`` of them are in flight together.

    If the operator sent them one after another, the first would never be released: a
    group completing proves they ran concurrently.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.arrived = 0
        self.groups = 0
        self.event = asyncio.Event()

    async def arrive(self) -> None:
        event = self.event
        self.arrived += 1
        if self.arrived == self.size:
            self.arrived, self.groups, self.event = 0, self.groups + 1, asyncio.Event()
            event.set()
        await within(event.wait(), f"{self.size} requests in flight together")


class Gated:
    """A replica whose requests (and streams) matching ``gate`` meet at a rendezvous first."""

    def __init__(
        self,
        inner: ScriptedModel,
        rendezvous: Rendezvous,
        gate: Callable[[GenerateRequest], bool],
    ) -> None:
        self.name = inner.name
        self.inner = inner
        self.rendezvous = rendezvous
        self.gate = gate

    async def generate(self, request: GenerateRequest) -> Completion:
        if self.gate(request):
            await self.rendezvous.arrive()
        return await self.inner.generate(request)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        if self.gate(request):
            await self.rendezvous.arrive()
        async for chunk in self.inner.stream(request):
            yield chunk

    async def aclose(self) -> None:
        return None


def last_user(request: GenerateRequest) -> str:
    return next(m.content for m in reversed(request.messages) if m.role == "user")
