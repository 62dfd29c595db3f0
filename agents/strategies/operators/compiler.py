"""``compile``: LLMCompiler parallel function calling with streamed plans and a joiner.

LLMCompiler (Kim et al., 2023, "An LLM Compiler for Parallel Function Calling",
arXiv:2312.04511): a planner writes numbered tool calls whose arguments reference earlier
results (``$1``, ``${2}``), ending with ``join()``. The task fetching unit starts each call
the moment its line is complete and its references have resolved, while the plan is still
streaming; a joiner then reads the numbered results and answers, or asks for a new plan
(bounded), which is written with the earlier results in view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.common import clip
from agents.strategies.compiler_join import call_text, joiner_schema, read_verdict, tool_signature
from agents.strategies.compiler_plan import (
    END_OF_PLAN,
    ParsedPlan,
    PlannedCall,
    PlanStreamParser,
    parse_json_plan,
    plan_json_schema,
    ready_calls,
    resolve_args,
)
from agents.strategies.runtime import Branches, StrategyDef
from orchestrator import (
    BudgetExceeded,
    ChatMessage,
    ConfigError,
    ModelOutputError,
    RunContext,
    StrategyOutcome,
    Toolbox,
    ToolError,
)

ERROR_PREFIX = "error: "

PLANNER_SYSTEM = """You answer questions by planning tool calls that run in parallel.
Write a plan: one numbered tool call per line, then join(), like
Thought: I need facts about both topics.
1. search(query="first topic")
2. search(query="second topic")
3. read(doc_id=$1)
4. join()
Rules: arguments are Python literals (quote text); $N (or ${N}) in an argument is the
result of call N and may only name an earlier call; calls that do not depend on each other
run at the same time; end the plan with join() on its own line and stop there."""

PLANNER_JSON_SYSTEM = """You answer questions by planning tool calls that run in parallel.
Reply with JSON: {"calls": [{"idx": 1, "tool": "search", "args": {"query": "..."}}, ...]}.
Number the calls 1, 2, 3, ...; "$N" in an argument is the result of call N and may only
name an earlier call; calls that do not depend on each other run at the same time; the
last call is {"idx": N, "tool": "join", "args": {}}."""

JOINER_SYSTEM = """You read the results of tool calls and answer the user's question from
them. Say what the results show; do not invent facts they do not contain."""


class CompileParams(BaseModel):
    """Settings of ``compile``."""

    model_config = ConfigDict(extra="forbid")

    max_calls: int = Field(
        default=8, ge=1, le=50, description="Most tool calls one plan may run; later ones fail."
    )
    max_replans: int = Field(
        default=1, ge=0, le=5, description="New plans the joiner may ask for after the first."
    )
    plan_format: Literal["text", "json"] = Field(
        default="text",
        description="text: streamed numbered calls (calls start while it streams); json: "
        "structured output, for small models that cannot write the text form.",
    )
    joiner: str | None = Field(
        default=None, description="Agent that joins the results; None: the node's agent."
    )
    result_chars: int = Field(
        default=2000, ge=100, le=20_000, description="Characters of each result shown."
    )


@dataclass
class _Round:
    """One plan and what came of it (plain data for the details)."""

    plan: str
    parsed: ParsedPlan
    calls: list[PlannedCall]
    results: dict[int, str]
    order: list[str]
    verdict: dict[str, str] = field(default_factory=dict)

    def as_details(self, limit: int) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "problems": list(self.parsed.problems),
            "calls": [
                {
                    "idx": c.idx,
                    "tool": c.tool,
                    "call": call_text(c),
                    "result": clip(self.results.get(c.idx, ""), limit),
                    "error": self.results.get(c.idx, "").startswith(ERROR_PREFIX),
                }
                for c in self.calls
            ],
            "order": list(self.order),
            "joiner": dict(self.verdict),
        }


def render_rounds(rounds: Sequence[_Round], limit: int) -> str:
    """Every round's calls and results, numbered, for the joiner and the replanner."""
    blocks = []
    for number, done in enumerate(rounds, 1):
        lines = [f"Plan {number}:"]
        lines += [
            f"{c.idx}. {call_text(c)}\n   -> {clip(done.results.get(c.idx, ''), limit)}"
            for c in done.calls
        ]
        if not done.calls:
            lines.append("(no tool calls)")
        lines += [f"problem: {p}" for p in done.parsed.problems]
        if done.verdict.get("thought"):
            lines.append(f"joiner: {done.verdict['thought']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class TaskFetcher:
    """LLMCompiler's task fetching unit: starts each call once its references resolved.

    A tool error becomes the call's result (``error: ...``) so the joiner sees it, and a
    call that references a failed call gets that error without running.
    """

    def __init__(
        self, ctx: RunContext, tools: Toolbox, max_calls: int, task_id: str | None
    ) -> None:
        self.ctx = ctx
        self.tools = tools
        self.max_calls = max_calls
        self.task_id = task_id
        self.calls: list[PlannedCall] = []
        self.results: dict[int, str] = {}
        self.order: list[str] = []
        self._waiting: list[PlannedCall] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def full(self) -> bool:
        return len(self.calls) > self.max_calls

    def add(self, call: PlannedCall) -> None:
        """Take a parsed call; start it (and any call it unblocks) as soon as it is ready."""
        if call.is_join:
            return
        self.calls.append(call)
        if self.full:
            self._finish(
                call.idx,
                f"{ERROR_PREFIX}not run: a plan may make at most {self.max_calls} tool calls "
                "(max_calls); plan fewer calls",
            )
            return
        self._waiting.append(call)
        self._start_ready()

    def _start_ready(self) -> None:
        for call in ready_calls(self._waiting, self.results):
            self._waiting.remove(call)
            self._tasks.append(asyncio.create_task(self._run(call)))

    def _finish(self, idx: int, result: str) -> None:
        self.results[idx] = result
        self.order.append(f"finish {idx}")
        self._start_ready()

    async def _run(self, call: PlannedCall) -> None:
        self.order.append(f"start {call.idx}")
        await self.ctx.emit("log", self.task_id, message=f"compile: call {call.idx} started")
        failed = [d for d in call.deps if self.results[d].startswith(ERROR_PREFIX)]
        if failed:
            cause = self.results[failed[0]].removeprefix(ERROR_PREFIX)
            result = f"{ERROR_PREFIX}not run because call {failed[0]} failed: {cause}"
        else:
            try:
                tool = self.tools.get(call.tool)
                bound = call.bind(list(tool.parameters.get("properties", {})))
                result = await tool.call(resolve_args(bound, self.results))
            except (ToolError, ValueError) as exc:
                result = f"{ERROR_PREFIX}{exc}"
        await self.ctx.emit("log", self.task_id, message=f"compile: call {call.idx} finished")
        self._finish(call.idx, result)

    async def drain(self) -> None:
        """Wait until every call has a result (calls started meanwhile included)."""
        while running := [t for t in self._tasks if not t.done()]:
            await asyncio.wait(running)
        for task in self._tasks:
            task.result()
        for call in self._waiting:
            self.results[call.idx] = f"{ERROR_PREFIX}not run: its references never resolved"

    async def cancel(self) -> None:
        """Stop every running call (the plan failed or the budget ran out)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def job_tools(branches: Branches) -> Toolbox:
    """The tools the planner may call: the agent's ``tools`` list, else all of the job's."""
    registry: Toolbox | None = branches.ctx.tools
    if registry is None:
        raise ConfigError(
            "op 'compile' needs tools, but this job has none; run it where tools are given "
            "(the CLI passes the corpus tools search and read) or pass tools= to the runner"
        )
    wanted = list(branches.agent.tools)
    missing = [name for name in wanted if name not in registry]
    if missing:
        raise ConfigError(
            f"compile: the agent's tools {missing!r} are not available in this job; available "
            f"tools: {registry.names()}; fix the agent's 'tools:' list"
        )
    return registry.subset(wanted) if wanted else registry


def planner_messages(
    messages: Sequence[ChatMessage],
    tools: Toolbox,
    params: CompileParams,
    rounds: Sequence[_Round],
) -> list[ChatMessage]:
    """The planner's conversation: instructions, tools, question and any earlier plans."""
    head = list(messages[:-1])
    if not any(m.role == "system" for m in head):
        system = PLANNER_SYSTEM if params.plan_format == "text" else PLANNER_JSON_SYSTEM
        head.insert(0, ChatMessage(role="system", content=system))
    signatures = "\n".join(f"- {tool_signature(s)}" for s in tools.schemas())
    prompt = (
        f"Tools:\n{signatures}\n\nUse at most {params.max_calls} tool calls.\n\n"
        f"Question: {messages[-1].content.strip()}"
    )
    if rounds:
        prompt += (
            "\n\nEarlier plans and their results (number your new plan's calls from 1 again; "
            f"$N names only the new plan's calls):\n{render_rounds(rounds, params.result_chars)}"
            "\n\nWrite a new plan that gets what is still missing."
        )
    return [*head, ChatMessage(role="user", content=prompt)]


async def _stream_plan(
    branches: Branches, convo: list[ChatMessage], fetcher: TaskFetcher, tool_names: list[str]
) -> tuple[str, ParsedPlan]:
    """Stream a text plan, handing each completed call to the fetcher at once."""
    parser = PlanStreamParser(tool_names)
    parts: list[str] = []
    stream = branches.stream(convo, stop=[END_OF_PLAN])
    try:
        async for chunk in stream:
            if not chunk.delta:
                continue
            parts.append(chunk.delta)
            for call in parser.feed(chunk.delta):
                fetcher.add(call)
            # join() ends the plan and a plan over max_calls is cut: stop generating.
            if parser.finished or fetcher.full:
                break
    finally:
        await stream.aclose()
    for call in parser.close():
        fetcher.add(call)
    return "".join(parts), parser.result()


async def _json_plan(
    branches: Branches, convo: list[ChatMessage], fetcher: TaskFetcher, tool_names: list[str]
) -> tuple[str, ParsedPlan]:
    text = await branches.text(convo, json_schema=plan_json_schema())
    plan = parse_json_plan(text, tool_names)
    for call in plan.calls:
        fetcher.add(call)
    return text, plan


async def _join(
    joiner: Branches,
    messages: Sequence[ChatMessage],
    rounds: Sequence[_Round],
    params: CompileParams,
    final: bool,
) -> tuple[dict[str, str] | None, str]:
    history = [m for m in messages[:-1] if m.role != "system"]
    ask = (
        "This is the last plan: answer now with the best answer the results support."
        if final
        else "If the results answer the question, answer; otherwise ask for a new plan "
        "(action replan) and say in thought what is missing."
    )
    prompt = (
        f"Question: {messages[-1].content.strip()}\n\nTool results:\n"
        f"{render_rounds(rounds, params.result_chars)}\n\n{ask}\nReply with JSON: "
        '{"thought": "...", "action": "answer" or "replan", "answer": "the answer (when '
        'replanning: the best answer so far, or empty)"}'
    )
    convo = [
        ChatMessage(role="system", content=joiner.agent.system or JOINER_SYSTEM),
        *history,
        ChatMessage(role="user", content=prompt),
    ]
    reply = await joiner.text(convo, json_schema=joiner_schema(final))
    return read_verdict(reply, final=final), reply


async def run_compile(
    branches: Branches, params: CompileParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    tools = job_tools(branches)
    joiner = branches.or_agent(params.joiner, param="params.joiner")
    plan_step = _stream_plan if params.plan_format == "text" else _json_plan
    rounds: list[_Round] = []
    best: str | None = None

    def outcome(answer: str, stopped_by: str | None = None) -> StrategyOutcome:
        details = {
            "plan_format": params.plan_format,
            "replans": max(0, len(rounds) - 1),
            "tool_calls": sum(len(r.calls) for r in rounds),
            "failed_calls": sum(
                r.results.get(c.idx, "").startswith(ERROR_PREFIX) for r in rounds for c in r.calls
            ),
            "rounds": [r.as_details(params.result_chars) for r in rounds],
        }
        results = [r.results[c.idx] for r in rounds for c in r.calls if c.idx in r.results]
        return StrategyOutcome(answer, results, details, stopped_by=stopped_by)

    for number in range(params.max_replans + 1):
        final = number == params.max_replans
        fetcher = TaskFetcher(branches.ctx, tools, params.max_calls, branches.task_id)
        convo = planner_messages(messages, tools, params, rounds)
        try:
            plan_text, plan = await plan_step(branches, convo, fetcher, tools.names())
            await fetcher.drain()
            done = _Round(plan_text, plan, fetcher.calls, fetcher.results, fetcher.order)
            rounds.append(done)
            verdict, reply = await _join(joiner, messages, rounds, params, final)
        except BudgetExceeded as exc:
            await fetcher.cancel()
            if best is None:
                raise
            return outcome(best, exc.budget)
        except BaseException:
            await fetcher.cancel()
            raise
        if verdict is None:
            verdict = {"action": "replan", "thought": "the joiner's reply was empty", "answer": ""}
        done.verdict = {"action": verdict["action"], "thought": verdict["thought"]}
        best = verdict["answer"] or best
        if verdict["action"] == "answer":
            break
    if best is None:
        raise ModelOutputError(
            f"compile: the joiner gave no answer after {len(rounds)} plan(s) (its last reply "
            "is attached); give the joiner a model that follows the JSON reply format",
            output=reply,
        )
    return outcome(best)


COMPILE = StrategyDef(
    name="compile",
    params=CompileParams,
    run=run_compile,
    paper="Kim et al. 2023, An LLM Compiler for Parallel Function Calling (arXiv:2312.04511)",
    summary="A planner streams numbered tool calls that reference earlier results; each call "
    "starts once its inputs resolve, while the plan streams; a joiner answers or replans",
)
