"""The built-in ops of the agent graphs: plan → research → synthesize, and draft/judge/revise.

Each op reads what it needs from the job state, runs its agent (the node's ``agent``)
with the node's ``params`` (checked, with the valid ranges in the error), and returns
the keys it sets, as plain data:

- ``plan``: ``question`` → ``plan`` (a task plan; reused from the store on resume)
- ``research``: ``plan`` → ``results`` (task id → result), ``stopped_by``
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
    node_agent,
    node_params,
    state_text,
    with_system,
)
from agents.planner import RESEARCH_KIND, plan_research, plan_summary
from agents.researcher import research, research_tools
from agents.strategies.runtime import Branches, InnerStrategy, run_strategy
from agents.synthesizer import synthesize
from orchestrator.errors import ConfigError
from orchestrator.graph.context import JobState, Op, OpRegistry, RunContext
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec
from orchestrator.scheduler import Scheduler

PLAN_ARTIFACT = "plan"
# The longest verdict the schema admits, in tokens.
VERDICT_TOKENS = 200


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanParams(_Params):
    max_subquestions: int = Field(default=4, ge=1, le=20)
    attempts: int = Field(default=3, ge=1, le=10)


class ResearchParams(_Params):
    max_steps: int | None = Field(default=None, ge=1, le=50)
    result_chars: int = Field(default=1500, ge=200, le=20_000)
    first_search: bool = True
    # A strategy that answers each sub-question from the researcher's findings (e.g. a
    # tournament of drafts); its answer becomes the task's first finding.
    answer_with: InnerStrategy | None = None


class SynthesizeParams(_Params):
    max_sections: int = Field(default=3, ge=1, le=8)
    attempts: int = Field(default=2, ge=1, le=5)


class JudgeParams(_Params):
    attempts: int = Field(default=2, ge=1, le=5)


class Verdict(BaseModel):
    """The judge's structured verdict: what to fix first, then the decision."""

    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(max_length=500)
    accepted: bool


async def plan_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Plan the research tasks; a resumed job reuses its stored plan (same tasks, same keys)."""
    params = node_params(node, PlanParams, op="plan")
    question = job_question(ctx, state)
    plan = None if "plan" in state else await _stored_plan(ctx)
    reused = plan is not None
    if plan is None:
        max_tasks = ctx.budget.budgets.max_tasks
        limit = min(params.max_subquestions, max_tasks or params.max_subquestions)
        plan, _ = await plan_research(
            ctx, node_agent(ctx, node), question, max_subquestions=limit, attempts=params.attempts
        )
        if ctx.store is not None:
            await ctx.store.put_artifact(ctx.job_id, PLAN_ARTIFACT, plan.model_dump_json())
    await ctx.emit("plan_ready", tasks=len(plan.tasks), reused=reused, plan=plan_summary(plan))
    return {"plan": plan.model_dump(mode="json")}


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


async def research_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Run the plan's tasks with researcher subagents on the scheduler (parallel, budgeted)."""
    params = node_params(node, ResearchParams, op="research")
    agent = node_agent(ctx, node)
    if params.max_steps is not None:
        agent = agent.model_copy(update={"max_steps": params.max_steps})
    research_tools(ctx, agent)
    plan = _state_plan(state)

    async def handler(task: TaskSpec, deps: Mapping[str, TaskResult]) -> TaskResult:
        result = await research(
            ctx,
            agent,
            task,
            deps,
            result_chars=params.result_chars,
            first_search=params.first_search,
        )
        if params.answer_with is None or not result.sources:
            return result
        return await answer_from_findings(ctx, agent, result, params.answer_with)

    scheduler = Scheduler(
        executor=ctx.executor,
        handler=handler,
        budget=ctx.budget,
        job_id=ctx.job_id,
        store=ctx.store,
        events=ctx.events,
        known_kinds={RESEARCH_KIND},
    )
    outcome = await scheduler.run(plan)
    return {
        "results": {tid: r.model_dump(mode="json") for tid, r in outcome.results.items()},
        "stopped_by": outcome.stopped_by,
    }


async def answer_from_findings(
    ctx: RunContext, agent: AgentSpec, result: TaskResult, strategy: InnerStrategy
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


async def synthesize_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Write the cited report from the research results (what is done, after an early stop)."""
    params = node_params(node, SynthesizeParams, op="synthesize")
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
    )
    return {"report": report}


async def draft_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Answer the question directly (the first draft of a revise loop)."""
    node_params(node, _Params, op="draft")
    agent = node_agent(ctx, node)
    question = job_question(ctx, state)
    completion = await generate(ctx, agent, with_system(agent, prompts.DRAFT_SYSTEM, question))
    draft = completion.text.strip()
    return {"draft": draft, "report": draft_report(question, draft)}


async def judge_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Accept the draft, or say what to fix (temperature 0 unless the agent sets one)."""
    params = node_params(node, JudgeParams, op="judge")
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


async def revise_op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Rewrite the draft to address the judge's feedback (an empty rewrite keeps the draft)."""
    node_params(node, _Params, op="revise")
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


_OPS: dict[str, tuple[Op, str]] = {
    "plan": (plan_op, "Split the question into a DAG of research tasks (lead planner)."),
    "research": (research_op, "Run the plan's research tasks in parallel (researcher agents)."),
    "synthesize": (synthesize_op, "Write the cited Markdown report from the findings."),
    "draft": (draft_op, "Answer the question directly: the first draft."),
    "judge": (judge_op, "Accept the draft or give feedback (structured verdict)."),
    "revise": (revise_op, "Rewrite the draft to address the judge's feedback."),
}


def register_builtin_ops(registry: OpRegistry, *, strategies: bool = True) -> None:
    """Register the research and revise ops (and, by default, every strategy op)."""
    for name, (op, doc) in _OPS.items():
        registry.register(name, op, doc=doc)
    if strategies:
        from agents.strategies.ops import register_strategy_ops

        register_strategy_ops(registry)
