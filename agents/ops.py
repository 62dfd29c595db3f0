"""The built-in ops of the agent graphs: plan → research → synthesize, and draft/judge/revise.

Each op reads what it needs from the job state, runs its agent (the node's ``agent``)
with the node's ``params`` (checked, with the valid ranges in the error), and returns
the keys it sets, as plain data:

- ``plan``: ``question`` → ``plan`` (a task plan; reused from the store on resume)
- ``research``: ``plan`` → ``results`` (task id → result), ``stopped_by``
- ``research_tree``: ``plan`` (optional) → ``plan``, ``results``, ``stopped_by``,
  ``research_tree`` (see ``agents.research_tree``)
- ``synthesize``: ``results`` → ``report`` (Markdown with numbered citations)
- ``draft``: ``question`` → ``draft``, ``report``
- ``judge``: ``draft`` → ``verdict`` (``accepted``, ``feedback``)
- ``revise``: ``draft``, ``verdict`` → ``draft``, ``report``, ``revisions``
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents import prompts
from agents.common import (
    generate,
    generate_json,
    job_question,
    job_toolbox,
    node_agent,
    state_text,
    with_system,
)
from agents.handlers import research_defaults
from agents.planner import PlanChoices, plan_research, plan_summary
from agents.research_tree import ResearchTreeParams, research_tree_op
from agents.researcher import research_tools
from agents.strategies.ops import register_strategy_ops
from agents.synthesizer import synthesize
from orchestrator import (
    ConfigError,
    InnerOp,
    JobState,
    NodeSpec,
    OpRegistry,
    RunContext,
    TaskPlan,
    TaskResult,
)

PLAN_ARTIFACT = "plan"
# The longest verdict the schema admits, in tokens.
VERDICT_TOKENS = 200


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanParams(_Params):
    """Params of ``plan``."""

    max_subquestions: int = Field(
        default=4, ge=1, le=20, description="Most sub-questions (tasks) in the plan."
    )
    min_subquestions: int = Field(
        default=1,
        ge=1,
        le=20,
        description="Fewest usable (well-formed, distinct) sub-questions the plan must have "
        "(capped at max_subquestions).",
    )
    attempts: int = Field(
        default=3, ge=1, le=10, description="Replies to ask for before the plan fails."
    )
    derive: bool = Field(
        default=False,
        description="When every reply fails, plan the usable sub-questions the model wrote, "
        "topped up with ones made from the question's own words, instead of failing.",
    )
    tools: list[str] = Field(
        default_factory=list,
        description="Tools the planner may call as 'tool' tasks (e.g. calculator); "
        "none: no tool tasks.",
    )
    operators: list[InnerOp] = Field(
        default_factory=list,
        description="Strategies the planner may answer a sub-question with ('operator' tasks).",
    )


class ResearchParams(_Params):
    """Params of ``research``: the defaults of every research task it runs."""

    max_steps: int | None = Field(
        default=None, ge=1, le=50, description="Model calls per researcher (default: the agent's)."
    )
    result_chars: int = Field(
        default=1500, ge=200, le=20_000, description="Characters of a tool result shown."
    )
    first_search: bool = Field(
        default=True, description="Search the sub-question before the researcher's first step."
    )
    answer_with: InnerOp | None = Field(
        default=None,
        description="A strategy that answers each research task from its findings "
        "(e.g. a tournament of drafts); its answer becomes the task's first finding.",
    )


class SynthesizeParams(_Params):
    """Params of ``synthesize``."""

    max_sections: int = Field(default=3, ge=1, le=8, description="Most sections in the report.")
    attempts: int = Field(default=2, ge=1, le=5, description="Replies to ask for.")
    findings: bool = Field(
        default=False,
        description="After the written sections, list each sub-question's cited findings.",
    )


class JudgeParams(_Params):
    """Params of ``judge``."""

    attempts: int = Field(default=2, ge=1, le=5, description="Replies to ask for.")


class NoParams(_Params):
    """An op without params."""


class Verdict(BaseModel):
    """The judge's structured verdict: what to fix first, then the decision."""

    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(max_length=500)
    accepted: bool


async def plan_op(ctx: RunContext, node: NodeSpec, params: PlanParams, state: JobState) -> JobState:
    """Plan the research tasks; a resumed job reuses its stored plan (same tasks, same keys)."""
    question = job_question(ctx, state)
    plan = None if "plan" in state else await _stored_plan(ctx)
    reused = plan is not None
    if plan is None:
        max_tasks = ctx.budget.budgets.max_tasks
        limit = min(params.max_subquestions, max_tasks or params.max_subquestions)
        plan, _ = await plan_research(
            ctx,
            node_agent(ctx, node),
            question,
            max_subquestions=limit,
            attempts=params.attempts,
            choices=plan_choices(ctx, params),
            min_subquestions=min(params.min_subquestions, limit),
            derive=params.derive,
        )
        if ctx.store is not None:
            await ctx.store.put_artifact(ctx.job_id, PLAN_ARTIFACT, plan.model_dump_json())
    await ctx.emit("plan_ready", tasks=len(plan.tasks), reused=reused, plan=plan_summary(plan))
    return {"plan": plan.model_dump(mode="json")}


def plan_choices(ctx: RunContext, params: PlanParams) -> PlanChoices:
    """The tools and operators the plan node lets the planner use, checked against the job."""
    tools: dict[str, list[str]] = {}
    if params.tools:
        toolbox = job_toolbox(ctx, op="op 'plan' with params.tools")
        missing = [name for name in params.tools if name not in toolbox]
        if missing:
            raise ConfigError(
                f"op 'plan': params.tools names {missing!r}, which this job does not have "
                f"(its tools: {', '.join(toolbox.names())}); fix params.tools"
            )
        for name in params.tools:
            tools[name] = list(toolbox.get(name).parameters.get("properties", {}))
    operators = {}
    for inner in params.operators:
        ctx.ops.strategy(inner.op, where="op 'plan' params.operators")
        operators[inner.op] = inner.params
    return PlanChoices(tools=tools, operators=operators)


async def _stored_plan(ctx: RunContext) -> TaskPlan | None:
    if ctx.store is None:
        return None
    stored = await ctx.store.get_artifact(ctx.job_id, PLAN_ARTIFACT)
    if stored is None:
        return None
    try:
        return TaskPlan.model_validate_json(stored)
    except ValidationError:
        # A plan stored by another version of breadth: plan again instead.
        return None


async def research_op(
    ctx: RunContext, node: NodeSpec, params: ResearchParams, state: JobState
) -> JobState:
    """Hand the plan's tasks to the scheduler: each runs by its kind's handler, in parallel.

    The node's agent and params become the defaults of the plan's tasks (a task's own
    params win), so each task carries what its handler needs, wherever it runs.
    """
    agent = node_agent(ctx, node)
    if params.max_steps is not None:
        agent = agent.model_copy(update={"max_steps": params.max_steps})
    plan = _state_plan(state)
    if any(task.kind == "research" for task in plan.tasks):
        research_tools(ctx, agent)
    defaults = research_defaults(node.agent, params.model_dump(exclude_none=True))
    tasks = [
        task.model_copy(update={"params": {**defaults.get(task.kind, {}), **task.params}})
        for task in plan.tasks
    ]
    outcome = await ctx.run_tasks(TaskPlan(tasks=tasks))
    return {
        "results": {tid: r.model_dump(mode="json") for tid, r in outcome.results.items()},
        "stopped_by": outcome.stopped_by,
    }


def _state_plan(state: JobState) -> TaskPlan:
    raw = state.get("plan")
    if raw is None:
        raise ConfigError(
            "op 'research' needs state['plan'], which is missing; put a 'plan' node before it"
        )
    try:
        return TaskPlan.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"state['plan'] is not a task plan ({exc.error_count()} problems, first: "
            f"{exc.errors()[0]['msg']}); let a 'plan' node write it"
        ) from None


async def synthesize_op(
    ctx: RunContext, node: NodeSpec, params: SynthesizeParams, state: JobState
) -> JobState:
    """Write the cited report from the research results (what is done, after an early stop)."""
    raw_results = state.get("results")
    if not isinstance(raw_results, Mapping):
        raise ConfigError(
            f"op 'synthesize' needs the task results at state['results'], found "
            f"{raw_results!r:.100}; put a 'research' node before it"
        )
    results = {tid: TaskResult.model_validate(r) for tid, r in raw_results.items()}
    plan = state.get("plan")
    planned = len(plan.get("tasks", [])) if isinstance(plan, Mapping) else 0
    stopped_by = state.get("stopped_by")
    report, _ = await synthesize(
        ctx,
        node_agent(ctx, node),
        job_question(ctx, state),
        results,
        total_tasks=max(planned, len(results)),
        stopped_by=str(stopped_by) if stopped_by else None,
        max_sections=params.max_sections,
        attempts=params.attempts,
        with_findings=params.findings,
    )
    return {"report": report}


async def draft_op(ctx: RunContext, node: NodeSpec, params: NoParams, state: JobState) -> JobState:
    """Answer the question directly (the first draft of a revise loop)."""
    agent = node_agent(ctx, node)
    question = job_question(ctx, state)
    completion = await generate(ctx, agent, with_system(agent, prompts.DRAFT_SYSTEM, question))
    draft = completion.text.strip()
    return {"draft": draft, "report": draft_report(question, draft)}


async def judge_op(
    ctx: RunContext, node: NodeSpec, params: JudgeParams, state: JobState
) -> JobState:
    """Accept the draft, or say what to fix (temperature 0 unless the agent sets one)."""
    agent = node_agent(ctx, node)
    question = job_question(ctx, state)
    draft = state_text(state, "draft", op="judge", producer="draft")
    user = prompts.JUDGE_USER.format(question=question, draft=draft)
    verdict, _ = await generate_json(
        ctx,
        agent,
        with_system(agent, prompts.JUDGE_SYSTEM, user),
        Verdict,
        temperature=0.0,
        min_max_tokens=VERDICT_TOKENS,
        attempts=params.attempts,
    )
    return {"verdict": {"accepted": verdict.accepted, "feedback": verdict.feedback.strip()}}


async def revise_op(ctx: RunContext, node: NodeSpec, params: NoParams, state: JobState) -> JobState:
    """Rewrite the draft to address the judge's feedback (an empty rewrite keeps the draft)."""
    agent = node_agent(ctx, node)
    question = job_question(ctx, state)
    draft = state_text(state, "draft", op="revise", producer="draft")
    verdict = state.get("verdict")
    feedback = verdict.get("feedback") if isinstance(verdict, Mapping) else None
    user = prompts.REVISE_USER.format(
        question=question,
        draft=draft,
        feedback=feedback or "Make the answer more complete, specific and correct.",
    )
    completion = await generate(ctx, agent, with_system(agent, prompts.DRAFT_SYSTEM, user))
    revised = completion.text.strip() or draft
    revisions = state.get("revisions")
    return {
        "draft": revised,
        "report": draft_report(question, revised),
        "revisions": (revisions if isinstance(revisions, int) else 0) + 1,
    }


def draft_report(question: str, draft: str) -> str:
    """A draft answer as a Markdown report."""
    return f"# {' '.join(question.split())}\n\n{draft.strip() or '(no answer)'}\n"


def register_ops(registry: OpRegistry) -> None:
    """Register every built-in op: plan, research, synthesize, draft, judge, revise, and
    every strategy (vote, debate, ...)."""
    registry.register(
        "plan",
        plan_op,
        params=PlanParams,
        doc="Split the question into a DAG of tasks (lead planner).",
    )
    registry.register(
        "research",
        research_op,
        params=ResearchParams,
        doc="Run the plan's tasks in parallel (researchers, tool calls, operators).",
    )
    registry.register(
        "research_tree",
        research_tree_op,
        params=ResearchTreeParams,
        doc="Research as a tree that grows and is pruned while it runs (FlashResearch).",
    )
    registry.register(
        "synthesize",
        synthesize_op,
        params=SynthesizeParams,
        doc="Write the cited Markdown report from the findings.",
    )
    registry.register(
        "draft", draft_op, params=NoParams, doc="Answer the question directly: the first draft."
    )
    registry.register(
        "judge",
        judge_op,
        params=JudgeParams,
        doc="Accept the draft or give feedback (structured verdict).",
    )
    registry.register(
        "revise", revise_op, params=NoParams, doc="Rewrite the draft to address the feedback."
    )
    register_strategy_ops(registry)
