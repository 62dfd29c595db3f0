"""What a running job shares with its ops and task handlers: the ``RunContext``.

The composition root (``orchestrator.app``) builds one per job from the settings: the
graph spec, the models, tools, store, executor, budget, event sink, the op registry and
the task handlers by kind. Ops and handlers reach models only through ``replica()``,
the budgeted wrapper that checks the budget and counts every token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.budget import BudgetTracker
from orchestrator.errors import ConfigError
from orchestrator.events import Event, EventSink, EventType
from orchestrator.executors.base import Executor
from orchestrator.graph.spec import GraphSpec
from orchestrator.models.budgeted import BudgetedReplica, Tally
from orchestrator.models.protocol import Replica
from orchestrator.ops import OpRegistry
from orchestrator.plan import TaskPlan
from orchestrator.scheduler import ScheduleOutcome, Scheduler
from orchestrator.store.base import Store
from orchestrator.tasks import ContextSource, TaskHandler
from orchestrator.toolbox import Toolbox


@dataclass
class RunContext:
    """Everything a running job shares: graph, models, tools, store, executor, budget, events."""

    job_id: str
    question: str
    graph: GraphSpec
    models: Mapping[str, Replica]
    executor: Executor
    budget: BudgetTracker
    events: EventSink
    ops: OpRegistry
    store: Store | None = None
    tools: Toolbox | None = None
    handlers: Mapping[str, TaskHandler] = field(default_factory=dict)
    # What tasks carry to find this context where they run (None: the context itself).
    source: ContextSource | None = None

    async def resolve(self) -> RunContext:
        """A live context is its own source (``orchestrator.tasks.ContextSource``)."""
        return self

    def model(self, name: str) -> Replica:
        try:
            return self.models[name]
        except KeyError:
            raise ConfigError(
                f"model {name!r} is not defined; defined models: {sorted(self.models)}; "
                f"add it under 'models:' in the graph"
            ) from None

    def replica(
        self,
        model: str,
        *,
        served: str | None = None,
        task_id: str | None = None,
        tally: Tally | None = None,
    ) -> BudgetedReplica:
        """The model ``model`` behind the job's budget: every call checked and counted."""
        return BudgetedReplica(
            self.model(model),
            budget=self.budget,
            events=self.events,
            job_id=self.job_id,
            task_id=task_id,
            served=served,
            tally=tally,
        )

    async def emit(self, type: EventType, task_id: str | None = None, **data: Any) -> None:
        await self.events.emit(Event(type=type, job_id=self.job_id, task_id=task_id, data=data))

    async def run_tasks(self, plan: TaskPlan) -> ScheduleOutcome:
        """Run ``plan`` on the scheduler: each task by its kind's handler, within the budgets."""
        scheduler = Scheduler(
            executor=self.executor,
            handlers=self.handlers,
            context=self.source or self,
            budget=self.budget,
            job_id=self.job_id,
            store=self.store,
            events=self.events,
        )
        return await scheduler.run(plan)
