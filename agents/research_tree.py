"""``research_tree``: research whose plan is a tree that grows and is pruned while it runs.

FlashResearch (Nie et al., 2025, "FlashResearch: Real-time Agent Orchestration for
Efficient Deep Research", arXiv:2510.05145). The plan's tasks (or, without a plan, the
question itself) are the first level. Every task runs on the scheduler
(``ctx.run_tasks``) the moment a concurrency slot is free, and is judged the moment it
finishes: off-topic → pruned (its findings leave the report), redundant with the other
branches → stopped, promising → deepened with follow-up sub-questions, which start at
once and get the branch's findings as context. Follow-ups too similar to a question
already asked are dropped. The tree stops growing at ``max_depth``, ``max_nodes``
(and the job's ``max_tasks``), when the token budget is spent, or when less than
``reserve_s`` is left before the deadline; ``stopped_by`` names the job budget that kept a
promising branch from growing (``max_tasks``, ``max_tokens``, ``deadline_s``). It writes
``plan``, ``results`` and ``stopped_by`` as the ``research`` op does, so ``synthesize``
writes the report, and the tree itself under ``research_tree``.

Where ours differs, and why: FlashResearch also speculatively starts deeper work before
a branch is judged and cancels it on a bad verdict; here a branch is judged once its
task is done (a research task is short, and a judged start wastes no tokens on branches
that get pruned). Its planner also sets breadth per query; here breadth is the plan
node's, and depth adapts through the verdicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.common import clip, job_question, node_agent
from agents.handlers import RESEARCH, research_defaults
from agents.research_tree_growth import (
    JUDGE_PROMPT,
    ResearchTree,
    TreeNode,
    decide,
    parse_verdict,
    verdict_schema,
)
from agents.researcher import dependency_context, research_tools
from agents.strategies.runtime import Branches
from orchestrator import (
    AgentSpec,
    BudgetExceeded,
    ChatMessage,
    ConfigError,
    JobState,
    NodeSpec,
    RunContext,
    TaskPlan,
    TaskResult,
    TaskSpec,
)

ROOT_ID = "q"
JUDGE_SYSTEM = "You judge research branches. Reply with JSON only."


class ResearchTreeParams(BaseModel):
    """Params of ``research_tree``."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(default=2, ge=1, le=4, description="Levels of the tree, roots = 1.")
    max_children: int = Field(
        default=2, ge=1, le=5, description="Follow-ups a deepened branch may get."
    )
    max_nodes: int = Field(
        default=8, ge=1, le=64, description="Research tasks in all (also capped by max_tasks)."
    )
    judge: str | None = Field(
        default=None, description="Agent that judges branches; None: the node's agent."
    )
    reserve_s: float = Field(
        default=30.0,
        ge=0.0,
        le=3600.0,
        description="No deepening when less than this is left before the deadline.",
    )
    redundancy: float = Field(
        default=0.7,
        gt=0.0,
        le=1.0,
        description="A follow-up sharing this share of words with an asked question is dropped.",
    )
    judge_chars: int = Field(
        default=2000, ge=200, le=20_000, description="Characters of findings the judge reads."
    )
    max_steps: int | None = Field(
        default=None, ge=1, le=50, description="Model calls per researcher (default: the agent's)."
    )
    result_chars: int = Field(
        default=1500, ge=200, le=20_000, description="Characters of a tool result shown."
    )
    first_search: bool = Field(
        default=True, description="Search the sub-question before the researcher's first step."
    )


def _plan_tasks(state: JobState, question: str) -> list[TaskSpec]:
    """The first level: the plan's tasks, or the question itself when there is no plan."""
    raw = state.get("plan")
    if raw is None:
        return [TaskSpec(id=ROOT_ID, description=question[:2000], params={"question": question})]
    try:
        return TaskPlan.model_validate(raw).tasks
    except ValidationError as exc:
        raise ConfigError(
            f"state['plan'] is not a task plan ({exc.error_count()} problems, first: "
            f"{exc.errors()[0]['msg']}); let a 'plan' node write it, or leave it out"
        ) from None


def _findings(result: TaskResult, limit: int) -> str:
    return clip(result.text or "(no findings)", limit)


class _Grower:
    """One run of the tree: launches tasks, judges them as they finish, deepens or prunes."""

    def __init__(
        self,
        ctx: RunContext,
        params: ResearchTreeParams,
        question: str,
        judge: AgentSpec,
        defaults: Mapping[str, dict[str, Any]],
    ) -> None:
        self.ctx = ctx
        self.params = params
        self.question = question
        self.judge = judge
        self.defaults = defaults
        max_tasks = ctx.budget.budgets.max_tasks
        limit = min(params.max_nodes, max_tasks) if max_tasks else params.max_nodes
        # The job's max_tasks, not the node's max_nodes, is what bounds the tree.
        self.capped_by_tasks = limit < params.max_nodes
        self.tree = ResearchTree(limit, params.redundancy)
        self.specs: dict[str, TaskSpec] = {}
        self.results: dict[str, TaskResult] = {}
        self.finished: dict[str, asyncio.Event] = {}
        self.slots = asyncio.Semaphore(ctx.budget.budgets.concurrency)
        self.stopped_by: str | None = None
        self.group: asyncio.TaskGroup | None = None

    def add(self, node: TreeNode, spec: TaskSpec) -> None:
        params = {**self.defaults.get(spec.kind, {}), **spec.params}
        self.specs[node.id] = spec.model_copy(update={"params": params})
        self.finished[node.id] = asyncio.Event()
        assert self.group is not None
        self.group.create_task(self.grow(node))

    async def run(self, roots: list[TaskSpec]) -> None:
        """Grow the tree from ``roots`` until no branch is running; the first error raises."""
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group
                for spec in roots:
                    question = str(spec.params.get("question") or spec.description or spec.id)
                    node = self.tree.add_root(spec.id, question, spec.depends_on)
                    if node is not None:
                        self.add(node, spec)
        except BaseExceptionGroup as errors:
            raise errors.exceptions[0] from None

    def _no_start(self) -> str | None:
        """Why no new task may start now (a spent budget), or None."""
        spent = self.ctx.budget.exhausted()
        if spent is not None:
            self.stopped_by = self.stopped_by or spent
        return spent

    async def grow(self, node: TreeNode) -> None:
        try:
            await self._grow(node)
        finally:
            self.finished[node.id].set()

    async def _grow(self, node: TreeNode) -> None:
        for dep in node.depends_on:
            if dep in self.finished:
                await self.finished[dep].wait()
        deps = [d for d in node.depends_on if d in self.tree.nodes]
        failed = [d for d in deps if self.tree.nodes[d].status != "done"]
        if failed:
            node.status = "skipped"
            node.reason = f"depends on {failed[0]!r}, which {self.tree.nodes[failed[0]].status}"
            return
        async with self.slots:
            spent = self._no_start()
            if spent is not None:
                node.status, node.reason = "cancelled", f"not started: budget {spent!r} reached"
                return
            node.status = "running"
            outcome = await self.ctx.run_tasks(TaskPlan(tasks=[self._runnable(node.id, deps)]))
        result = outcome.results[node.id]
        self.results[node.id] = result
        if outcome.stopped_by is not None:
            self.stopped_by = self.stopped_by or outcome.stopped_by
        if result.status != "done":
            node.status, node.reason = (
                "failed" if result.status == "failed" else "cancelled",
                result.error or result.status,
            )
            return
        node.status = "done"
        await self._judge(node, result)

    def _runnable(self, node_id: str, deps: list[str]) -> TaskSpec:
        """The task as one scheduler run takes it: alone, its dependencies' findings (if it
        is a research task) as its context."""
        spec = self.specs[node_id]
        params = dict(spec.params)
        if spec.kind == RESEARCH and deps and "context" not in params:
            context = dependency_context({d: self.results[d] for d in deps})
            if context:
                params["context"] = context
        return spec.model_copy(update={"depends_on": (), "params": params})

    async def _judge(self, node: TreeNode, result: TaskResult) -> None:
        others = [
            f"- ({other}) {_findings(self.results[other], 400)}"
            for other in self.tree.kept()
            if other != node.id and other in self.results
        ]
        prompt = JUDGE_PROMPT.format(
            question=self.question,
            branch=node.question,
            findings=_findings(result, self.params.judge_chars),
            others=clip("\n".join(others), self.params.judge_chars) or "(none yet)",
            max_children=self.params.max_children,
        )
        messages = [
            ChatMessage(role="system", content=self.judge.system or JUDGE_SYSTEM),
            ChatMessage(role="user", content=prompt),
        ]
        judge = Branches(self.ctx, self.judge, task_id=node.id)
        try:
            reply = await judge.text(
                messages,
                json_schema=verdict_schema(self.params.max_children),
                temperature=0.0,
            )
        except BudgetExceeded as exc:
            self.stopped_by = self.stopped_by or exc.budget
            node.action, node.reason = "keep", f"not judged: budget {exc.budget!r} reached"
            return
        verdict = parse_verdict(reply)
        decision = decide(
            verdict,
            depth=node.depth,
            max_depth=self.params.max_depth,
            room=min(self.params.max_children, self.tree.room),
            time_left=self.ctx.budget.remaining_s(),
            reserve_s=self.params.reserve_s,
        )
        node.action, node.reason = decision.action, decision.reason
        wanted = min(self.params.max_children, len(verdict.follow_ups)) if verdict else 0
        if decision.limited_by == "reserve":
            self.stopped_by = self.stopped_by or "deadline_s"
        elif (
            self.capped_by_tasks
            and (decision.action == "deepen" or decision.limited_by == "room")
            and len(decision.follow_ups) < wanted
        ):
            # Fewer follow-ups than asked for fitted: the job's max_tasks cut the tree.
            self.stopped_by = self.stopped_by or "max_tasks"
        started = []
        for follow_up in decision.follow_ups:
            child = self.tree.add_child(node.id, follow_up)
            if child is None:
                continue
            params = {"question": follow_up, "context": _findings(result, 1500)}
            spec = TaskSpec(id=child.id, description=follow_up[:2000], params=params)
            self.add(child, spec)
            started.append(child.id)
        await self.ctx.emit(
            "log",
            node.id,
            message=f"research_tree: {node.id} {decision.action}"
            + (f" → {', '.join(started)}" if started else ""),
            action=decision.action,
            reason=decision.reason,
            children=started,
        )

    def plan(self) -> TaskPlan:
        """Every task the tree ran or meant to run, each follow-up depending on its parent."""
        tasks = []
        for node in self.tree.nodes.values():
            spec = self.specs[node.id]
            if node.parent is not None:
                spec = spec.model_copy(update={"depends_on": (node.parent,)})
            tasks.append(spec)
        return TaskPlan(tasks=tasks)


async def research_tree_op(
    ctx: RunContext, node: NodeSpec, params: ResearchTreeParams, state: JobState
) -> JobState:
    """Grow the research tree under the job's budgets; write plan, results and the tree."""
    agent: AgentSpec = node_agent(ctx, node)
    if params.max_steps is not None:
        agent = agent.model_copy(update={"max_steps": params.max_steps})
    research_tools(ctx, agent)
    question = job_question(ctx, state)
    judge_spec = agent if params.judge is None else _agent(ctx, params.judge)
    defaults = research_defaults(
        node.agent,
        params.model_dump(include={"max_steps", "result_chars", "first_search"}, exclude_none=True),
    )
    grower = _Grower(ctx, params, question, judge_spec, defaults)
    await grower.run(_plan_tasks(state, question))
    kept = grower.tree.kept()
    return {
        "plan": grower.plan().model_dump(mode="json"),
        "results": {tid: grower.results[tid].model_dump(mode="json") for tid in kept},
        "stopped_by": grower.stopped_by,
        "research_tree": grower.tree.details(),
    }


def _agent(ctx: RunContext, name: str) -> AgentSpec:
    agents = ctx.graph.agents
    if name not in agents:
        raise ConfigError(
            f"research_tree: params.judge names agent {name!r}, which is not defined; defined "
            f"agents: {sorted(agents) or 'none'}; add it under 'agents:' in the graph"
        )
    return agents[name]
