"""breadth's engine: what a Python user and an op author need, and nothing else.

Run a job in-process::

    import asyncio
    from orchestrator import JobRequest, Runtime, Settings

    async def main() -> None:
        async with await Runtime.open(Settings.from_env()) as runtime:
            record = await runtime.research(JobRequest(question="How do generators work?"))
            print(record.report)

    asyncio.run(main())

Load and check a graph: ``load_graph`` (``GraphSpecError`` lists every problem with its
line). Write an op: ``RunContext``, ``NodeSpec``, ``OpRegistry`` and the model types.
The errors a user may catch are all here too. Names load lazily, so importing one
submodule does not import the whole engine (nor the agents wired by ``Runtime``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # running jobs
    "Runtime": "orchestrator.app",
    "Settings": "orchestrator.settings",
    "JobRequest": "orchestrator.job",
    "JobRecord": "orchestrator.job",
    "JobState": "orchestrator.ops",
    "Event": "orchestrator.events",
    "EventType": "orchestrator.events",
    "TokenUsage": "orchestrator.usage",
    "Budgets": "orchestrator.budget",
    # agent graphs
    "load_graph": "orchestrator.graph.loader",
    "graph_problems": "orchestrator.graph.loader",
    "GraphSpec": "orchestrator.graph.spec",
    "ModelSpec": "orchestrator.graph.spec",
    "AgentSpec": "orchestrator.graph.spec",
    "NodeSpec": "orchestrator.graph.spec",
    # writing ops and task handlers
    "RunContext": "orchestrator.context",
    "OpRegistry": "orchestrator.ops",
    "OpDef": "orchestrator.ops",
    "InnerOp": "orchestrator.ops",
    "Strategy": "orchestrator.ops",
    "StrategyOutcome": "orchestrator.ops",
    "TaskHandler": "orchestrator.tasks",
    "TaskSpec": "orchestrator.plan",
    "TaskPlan": "orchestrator.plan",
    "TaskResult": "orchestrator.plan",
    "validate_plan": "orchestrator.dag",
    "parse_params": "orchestrator.params",
    "ScheduleOutcome": "orchestrator.scheduler",
    "Toolbox": "orchestrator.toolbox",
    "ToolLike": "orchestrator.toolbox",
    "observe_branches": "orchestrator.fanout",
    # models
    "ChatMessage": "orchestrator.models.protocol",
    "Choice": "orchestrator.models.protocol",
    "Completion": "orchestrator.models.protocol",
    "GenerateRequest": "orchestrator.models.protocol",
    "Replica": "orchestrator.models.protocol",
    "StreamChunk": "orchestrator.models.protocol",
    "TokenLogprob": "orchestrator.models.protocol",
    "BudgetedReplica": "orchestrator.models.budgeted",
    "Tally": "orchestrator.models.budgeted",
    "RewardClient": "orchestrator.models.reward",
    "generate_structured": "orchestrator.models.structured",
    "parse_json_output": "orchestrator.models.structured",
    # errors
    "BreadthError": "orchestrator.errors",
    "BackendUnavailable": "orchestrator.errors",
    "BudgetExceeded": "orchestrator.errors",
    "ConfigError": "orchestrator.errors",
    "GraphRunError": "orchestrator.errors",
    "GraphSpecError": "orchestrator.errors",
    "JobCancelled": "orchestrator.errors",
    "MissingExtra": "orchestrator.errors",
    "ModelOutputError": "orchestrator.errors",
    "PlanError": "orchestrator.errors",
    "SpecProblem": "orchestrator.errors",
    "StoreUnavailable": "orchestrator.errors",
    "TaskFailed": "orchestrator.errors",
    "ToolError": "orchestrator.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from orchestrator.app import (
        Runtime as Runtime,
    )
    from orchestrator.budget import (
        Budgets as Budgets,
    )
    from orchestrator.context import (
        RunContext as RunContext,
    )
    from orchestrator.dag import (
        validate_plan as validate_plan,
    )
    from orchestrator.errors import (
        BackendUnavailable as BackendUnavailable,
    )
    from orchestrator.errors import (
        BreadthError as BreadthError,
    )
    from orchestrator.errors import (
        BudgetExceeded as BudgetExceeded,
    )
    from orchestrator.errors import (
        ConfigError as ConfigError,
    )
    from orchestrator.errors import (
        GraphRunError as GraphRunError,
    )
    from orchestrator.errors import (
        GraphSpecError as GraphSpecError,
    )
    from orchestrator.errors import (
        JobCancelled as JobCancelled,
    )
    from orchestrator.errors import (
        MissingExtra as MissingExtra,
    )
    from orchestrator.errors import (
        ModelOutputError as ModelOutputError,
    )
    from orchestrator.errors import (
        PlanError as PlanError,
    )
    from orchestrator.errors import (
        SpecProblem as SpecProblem,
    )
    from orchestrator.errors import (
        StoreUnavailable as StoreUnavailable,
    )
    from orchestrator.errors import (
        TaskFailed as TaskFailed,
    )
    from orchestrator.errors import (
        ToolError as ToolError,
    )
    from orchestrator.events import (
        Event as Event,
    )
    from orchestrator.events import (
        EventType as EventType,
    )
    from orchestrator.fanout import (
        observe_branches as observe_branches,
    )
    from orchestrator.graph.loader import (
        graph_problems as graph_problems,
    )
    from orchestrator.graph.loader import (
        load_graph as load_graph,
    )
    from orchestrator.graph.spec import (
        AgentSpec as AgentSpec,
    )
    from orchestrator.graph.spec import (
        GraphSpec as GraphSpec,
    )
    from orchestrator.graph.spec import (
        ModelSpec as ModelSpec,
    )
    from orchestrator.graph.spec import (
        NodeSpec as NodeSpec,
    )
    from orchestrator.job import (
        JobRecord as JobRecord,
    )
    from orchestrator.job import (
        JobRequest as JobRequest,
    )
    from orchestrator.models.budgeted import (
        BudgetedReplica as BudgetedReplica,
    )
    from orchestrator.models.budgeted import (
        Tally as Tally,
    )
    from orchestrator.models.protocol import (
        ChatMessage as ChatMessage,
    )
    from orchestrator.models.protocol import (
        Choice as Choice,
    )
    from orchestrator.models.protocol import (
        Completion as Completion,
    )
    from orchestrator.models.protocol import (
        GenerateRequest as GenerateRequest,
    )
    from orchestrator.models.protocol import (
        Replica as Replica,
    )
    from orchestrator.models.protocol import (
        StreamChunk as StreamChunk,
    )
    from orchestrator.models.protocol import (
        TokenLogprob as TokenLogprob,
    )
    from orchestrator.models.reward import (
        RewardClient as RewardClient,
    )
    from orchestrator.models.structured import (
        generate_structured as generate_structured,
    )
    from orchestrator.models.structured import (
        parse_json_output as parse_json_output,
    )
    from orchestrator.ops import (
        InnerOp as InnerOp,
    )
    from orchestrator.ops import (
        JobState as JobState,
    )
    from orchestrator.ops import (
        OpDef as OpDef,
    )
    from orchestrator.ops import (
        OpRegistry as OpRegistry,
    )
    from orchestrator.ops import (
        Strategy as Strategy,
    )
    from orchestrator.ops import (
        StrategyOutcome as StrategyOutcome,
    )
    from orchestrator.params import (
        parse_params as parse_params,
    )
    from orchestrator.plan import (
        TaskPlan as TaskPlan,
    )
    from orchestrator.plan import (
        TaskResult as TaskResult,
    )
    from orchestrator.plan import (
        TaskSpec as TaskSpec,
    )
    from orchestrator.scheduler import (
        ScheduleOutcome as ScheduleOutcome,
    )
    from orchestrator.settings import (
        Settings as Settings,
    )
    from orchestrator.tasks import (
        TaskHandler as TaskHandler,
    )
    from orchestrator.toolbox import (
        Toolbox as Toolbox,
    )
    from orchestrator.toolbox import (
        ToolLike as ToolLike,
    )
    from orchestrator.usage import (
        TokenUsage as TokenUsage,
    )
