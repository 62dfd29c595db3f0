"""The task handlers by kind: a researcher subagent, one tool call, or any strategy op.

Each is a module-level ``async (task, deps, ctx) -> TaskResult``, so it runs wherever the
executor sends it (in process, or on Ray after the context is rebuilt from settings).
Everything a handler needs is in the task's params (the research node puts its agent and
params there as defaults). Each result has the shape the synthesizer and later tasks
read: ``output.question`` and ``output.findings`` (claims with the ids of their sources).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import prompts
from agents.common import clip, job_toolbox
from agents.researcher import dependency_context, research
from agents.strategies.runtime import Branches, run_strategy
from agents.task_args import ReferenceError, resolve_references
from orchestrator import (
    AgentSpec,
    ChatMessage,
    ConfigError,
    InnerOp,
    RunContext,
    TaskHandler,
    TaskResult,
    TaskSpec,
    ToolError,
)

M = TypeVar("M", bound=BaseModel)

RESEARCH, TOOL, OPERATOR = "research", "tool", "operator"
# Characters of a tool's result kept as the task's finding.
TOOL_FINDING_CHARS = 600


class _TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(default=None, description="Agent of the graph that runs it.")


class ResearchTask(_TaskParams):
    """Params of a ``research`` task."""

    question: str | None = Field(default=None, description="The sub-question.")
    max_steps: int | None = Field(default=None, ge=1, le=50)
    result_chars: int = Field(default=1500, ge=200, le=20_000)
    first_search: bool = True
    answer_with: InnerOp | None = None
    context: str | None = Field(
        default=None,
        max_length=4000,
        description="Findings the task builds on (e.g. its parent branch's in a research tree).",
    )


class ToolTask(_TaskParams):
    """Params of a ``tool`` task: one call; ``$dep`` in an argument is that task's result."""

    tool: str = Field(min_length=1, max_length=64)
    arguments: dict[str, Any] = Field(default_factory=dict)


class OperatorTask(_TaskParams):
    """Params of an ``operator`` task: a strategy op answers the task's question."""

    op: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    question: str | None = None


def research_defaults(
    agent: str | None, node_params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per task kind, the params a research node gives its tasks unless they set them."""
    common = {"agent": agent} if agent is not None else {}
    return {RESEARCH: {**common, **node_params}, TOOL: dict(common), OPERATOR: dict(common)}


def _params(model: type[M], task: TaskSpec) -> M:
    try:
        return model.model_validate(task.params)
    except ValidationError as exc:
        problems = "; ".join(
            f"params.{'.'.join(str(p) for p in error['loc'])} = {error.get('input')!r}: "
            f"{error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(
            f"{task.kind} task {task.id!r} has bad params: {problems}; the plan must give "
            f"what a {task.kind} task takes ({', '.join(model.model_fields)})"
        ) from None


def _agent(ctx: RunContext, name: str | None) -> AgentSpec:
    if name is None:
        return AgentSpec()
    agents = ctx.graph.agents
    if name not in agents:
        raise ConfigError(
            f"agent {name!r} is not defined; defined agents: {sorted(agents) or 'none'}; "
            f"add it under 'agents:' in the graph"
        )
    return agents[name]


def _question(task: TaskSpec, given: str | None) -> str:
    return given or task.description or task.id


async def research_task(
    task: TaskSpec, deps: Mapping[str, TaskResult], ctx: RunContext
) -> TaskResult:
    """A researcher subagent answers the task's sub-question with cited findings."""
    params = _params(ResearchTask, task)
    agent = _agent(ctx, params.agent)
    if params.max_steps is not None:
        agent = agent.model_copy(update={"max_steps": params.max_steps})
    result = await research(
        ctx,
        agent,
        task,
        deps,
        result_chars=params.result_chars,
        first_search=params.first_search,
        context=params.context,
    )
    if params.answer_with is None or not result.sources:
        return result
    return await answer_from_findings(ctx, agent, result, params.answer_with)


async def answer_from_findings(
    ctx: RunContext, agent: AgentSpec, result: TaskResult, strategy: InnerOp
) -> TaskResult:
    """The task's answer by ``strategy`` over its findings, added as its first cited finding."""
    output = dict(result.output) if isinstance(result.output, Mapping) else {}
    question = str(output.get("question") or result.task_id)
    prompt = prompts.ANSWER_FROM_FINDINGS.format(question=question, findings=result.text)
    branches = Branches(ctx, agent, task_id=result.task_id)
    outcome = await run_strategy(
        branches,
        strategy.op,
        strategy.params,
        [ChatMessage(role="user", content=prompt)],
        where="node op 'research' params.answer_with",
    )
    cited = list(dict.fromkeys(i for f in output.get("findings", []) for i in f["source_ids"]))
    answer = {"claim": outcome.answer.strip(), "source_ids": cited[:3] or result.sources[:3]}
    output["findings"] = [answer, *output.get("findings", [])]
    output["answered_with"] = {"op": strategy.op, "samples": branches.samples}
    usage = result.usage + branches.usage
    return result.model_copy(update={"output": output, "usage": usage})


async def tool_task(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: RunContext) -> TaskResult:
    """One tool call with the plan's arguments (``$dep`` replaced by that task's result).

    A tool that fails (bad arguments, an error) fails the task with the tool's message:
    the tasks that depend on it are skipped, the job goes on.
    """
    params = _params(ToolTask, task)
    texts = {dep: result.text for dep, result in deps.items()}
    try:
        arguments = resolve_references(params.arguments, texts)
        text = await job_toolbox(ctx, op=f"tool task {task.id!r}").call(params.tool, arguments)
    except (ToolError, ReferenceError) as exc:
        return TaskResult(task_id=task.id, status="failed", error=str(exc))
    question = _question(task, None)
    call = f"{params.tool}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
    await ctx.emit("log", task.id, message=f"tool task: {call}")
    return TaskResult(
        task_id=task.id,
        status="done",
        text=text,
        output={
            "question": question,
            "tool": params.tool,
            "arguments": arguments,
            "result": text,
            "findings": [{"claim": f"{call} → {clip(text, TOOL_FINDING_CHARS)}", "source_ids": []}],
        },
    )


async def operator_task(
    task: TaskSpec, deps: Mapping[str, TaskResult], ctx: RunContext
) -> TaskResult:
    """A strategy op (vote, debate, ...) answers the task's question, with its deps' findings."""
    params = _params(OperatorTask, task)
    agent = _agent(ctx, params.agent)
    question = _question(task, params.question)
    context = dependency_context(deps)
    prompt = f"{question}\n\nFindings so far:\n{context}" if context else question
    messages = [ChatMessage(role="user", content=prompt)]
    if agent.system:
        messages.insert(0, ChatMessage(role="system", content=agent.system))
    branches = Branches(ctx, agent, task_id=task.id)
    outcome = await run_strategy(
        branches, params.op, params.params, messages, where=f"operator task {task.id!r}"
    )
    answer = outcome.answer.strip()
    return TaskResult(
        task_id=task.id,
        status="done",
        text=answer,
        output={
            "question": question,
            "op": params.op,
            "answer": answer,
            "candidates": outcome.candidates,
            "details": {k: v for k, v in outcome.details.items() if _plain(v)},
            "stopped_by": outcome.stopped_by,
            "findings": [{"claim": answer, "source_ids": []}] if answer else [],
        },
        usage=branches.usage,
    )


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


TASK_HANDLERS: Mapping[str, TaskHandler] = {
    RESEARCH: research_task,
    TOOL: tool_task,
    OPERATOR: operator_task,
}
