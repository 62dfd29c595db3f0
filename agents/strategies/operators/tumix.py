"""``tumix``: Tool-Use Mixture, heterogeneous agents with and without tools refine in rounds.

TUMIX (Chen et al., 2025, "TUMIX: Multi-Agent Test-Time Scaling with Tool-Use Mixture",
arXiv:2510.01279). The agents listed (agents of the graph, each with its own ``tools:``
list, system prompt and model) answer the question concurrently: an agent without tools
reasons in text (one sample, or an ``inner`` strategy); an agent with tools runs a short
tool loop (at most its ``max_steps`` model calls; each step's calls run concurrently
through the job's toolbox, so any tool it lists works: search, read, python, ...). From
the second round every agent sees the question and all agents' previous answers and
answers again. From ``min_rounds`` on, an LLM judge decides whether another round would
change the answer; the final answer is the majority of the last round's answers.

Where ours differs, and why: the paper's 15 hand-designed agents (CoT, code, search,
guided variants) become the graph's agents, so the mixture is whatever the graph
defines; without ``agents`` the node's agent runs twice, once without tools and once
with them. When every answer of a round already agrees the judge is not asked (it
would stop anyway), which saves its call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.debate_topology import all_agree
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.prompting import ask, in_persona
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.stop_verdict import parse_stop, stop_prompt, stop_schema
from agents.strategies.tumix_agents import (
    parse_step,
    results_message,
    round_prompt,
    step_schema,
    tool_system_prompt,
)
from agents.strategies.vote_tally import majority_vote
from orchestrator import (
    BudgetExceeded,
    ChatMessage,
    ConfigError,
    InnerOp,
    StrategyOutcome,
    Toolbox,
    ToolError,
)


class TumixParams(BaseModel):
    """Settings of ``tumix``."""

    model_config = ConfigDict(extra="forbid")

    agents: list[str] | None = Field(
        default=None,
        min_length=2,
        max_length=16,
        description="Agents of the mixture (each with its own tools, or none); None: the "
        "node's agent without tools and with them.",
    )
    copies: int = Field(default=1, ge=1, le=8, description="Times each agent takes part.")
    rounds: int = Field(default=3, ge=1, le=10, description="Most rounds, the first included.")
    min_rounds: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Rounds before the judge may stop the refinement (at most rounds).",
    )
    early_stop: bool = Field(default=True, description="Ask the judge whether to stop.")
    judge: str | None = Field(
        default=None, description="Agent that decides to stop; None: the node's agent."
    )
    max_calls: int = Field(
        default=2, ge=1, le=5, description="Most tool calls in one step of a tool agent."
    )
    result_chars: int = Field(
        default=1500, ge=100, le=20_000, description="Characters of a tool result shown."
    )
    max_context_chars: int = Field(
        default=3000, ge=200, le=100_000, description="Previous answers are cut to this, in all."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find an answer (agreement and final vote)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    inner: InnerOp | None = Field(
        default=None, description="Strategy the agents without tools answer with."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the agents."
    )

    @model_validator(mode="after")
    def _consistent(self) -> TumixParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if "min_rounds" in self.model_fields_set and self.min_rounds > self.rounds:
            raise ValueError(f"min_rounds ({self.min_rounds}) must be <= rounds ({self.rounds})")
        if self.judge is not None and not self.early_stop:
            raise ValueError(f"judge {self.judge!r} is only used with early_stop: true")
        return self


@dataclass
class _Member:
    """One agent of the mixture: its branches and its toolbox (None: text only)."""

    label: str
    branches: Branches
    tools: Toolbox | None


def _toolbox(branches: Branches, names: list[str], label: str) -> Toolbox | None:
    """The agent's tools (its ``tools:`` list) from the job's toolbox; None: no tools."""
    if not names:
        return None
    job_tools = branches.ctx.tools
    available = job_tools.names() if job_tools is not None else []
    missing = [name for name in names if name not in available]
    if job_tools is None or missing:
        raise ConfigError(
            f"tumix: agent {label!r} lists tools {missing or names!r} that this job does not "
            f"have (its tools: {available or 'none'}); fix the agent's 'tools:' list"
        )
    return job_tools.subset(names)


def _members(branches: Branches, params: TumixParams) -> list[_Member]:
    if params.agents is None:
        own = list(branches.agent.tools) or (
            branches.ctx.tools.names() if branches.ctx.tools is not None else []
        )
        base = [
            _Member("text", branches, None),
            _Member("tools", branches, _toolbox(branches, own, "tools") if own else None),
        ]
    else:
        base = []
        for name in params.agents:
            agent = branches.with_agent(name, param="params.agents")
            base.append(_Member(name, agent, _toolbox(agent, list(agent.agent.tools), name)))
    return [member for member in base for _ in range(params.copies)]


async def _tool_turn(
    member: _Member, convo: list[ChatMessage], params: TumixParams
) -> tuple[str, int]:
    """A tool agent's answer after at most its ``max_steps`` steps; and the calls it made."""
    assert member.tools is not None
    schemas = member.tools.schemas()
    agent = member.branches
    system = tool_system_prompt(schemas, agent.agent.system)
    messages = [ChatMessage(role="system", content=system)]
    messages += [m for m in convo if m.role != "system"]
    made = 0
    steps = agent.agent.max_steps
    for step in range(steps):
        last = step == steps - 1
        reply = await agent.text(
            messages,
            json_schema=step_schema(schemas, allow_calls=not last, max_calls=params.max_calls),
            temperature=params.temperature,
        )
        parsed = parse_step(reply)
        if parsed is None:
            return reply, made
        calls = parsed.calls[: params.max_calls]
        if last or not calls:
            return parsed.answer or parsed.thought or reply, made
        outcomes = await member.tools.call_many(calls)
        made += len(calls)
        results = [
            f"error: {r}" if isinstance(r, ToolError) else clip(r, params.result_chars)
            for r in outcomes
        ]
        messages += [
            ChatMessage(role="assistant", content=reply),
            ChatMessage(role="user", content=results_message(calls, results)),
        ]
    raise AssertionError("unreachable: the last step always returns")


async def _turn(
    member: _Member, messages: list[ChatMessage], prompt: str, params: TumixParams
) -> tuple[str, int]:
    convo = ask(in_persona(messages, member.branches.agent), prompt)
    if member.tools is not None:
        return await _tool_turn(member, convo, params)
    answer = await member.branches.solve(convo, params.inner, temperature=params.temperature)
    return answer, 0


def _answers(texts: list[str], params: TumixParams) -> list[str | None]:
    return [
        extract_answer(t, params.extract, pattern=params.pattern, field=params.field) for t in texts
    ]


async def run_tumix(
    branches: Branches, params: TumixParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    members = _members(branches, params)
    judge = branches.or_agent(params.judge, param="params.judge")
    question = question_of(messages)
    latest: list[str] = []
    rounds: list[dict[str, Any]] = []
    stopped: BudgetExceeded | None = None
    stop_reason = "rounds"
    tool_calls = 0
    for number in range(1, params.rounds + 1):
        limit = max(200, params.max_context_chars // len(members))
        prompt = round_prompt(question, [clip(t, limit) for t in latest])
        replies, stopped = await gather_within_budget(
            [_turn(member, messages, prompt, params) for member in members]
        )
        finished = [r for r in replies if r is not None]
        # Anytime: an agent whose turn the budget stopped keeps its previous answer.
        previous = latest
        merged = [
            reply[0] if reply is not None else (previous[i] if i < len(previous) else None)
            for i, reply in enumerate(replies)
        ]
        latest = [text for text in merged if text is not None]
        if not latest:
            assert stopped is not None  # without a stop every turn has a reply
            raise stopped
        tool_calls += sum(r[1] for r in finished)
        answers = _answers(latest, params)
        rounds.append({"round": number, "answers": answers})
        if stopped is not None:
            stop_reason = "budget"
            break
        if number >= params.min_rounds and number < params.rounds:
            if all_agree(answers):
                stop_reason = "agreement"
                break
            if params.early_stop:
                try:
                    reply = await judge.text(
                        ask(messages, stop_prompt(question, latest, number)),
                        json_schema=stop_schema(),
                        temperature=0.0,
                    )
                except BudgetExceeded as exc:
                    stopped, stop_reason = exc, "budget"
                    break
                rounds[-1]["judge_stop"] = parse_stop(reply)
                if rounds[-1]["judge_stop"] is True:
                    stop_reason = "judge"
                    break
    vote = majority_vote(_answers(latest, params))
    answer = vote.winner if vote.winner is not None else latest[0]
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=latest,
        details={
            "agents": [m.label for m in members],
            "with_tools": [m.tools is not None for m in members],
            "rounds_run": len(rounds),
            "stopped_because": stop_reason,
            "tool_calls": tool_calls,
            "counts": dict(vote.counts),
            "rounds": rounds,
        },
        stopped_by=stopped.budget if stopped is not None else None,
    )


TUMIX = StrategyDef(
    name="tumix",
    params=TumixParams,
    run=run_tumix,
    paper="Chen et al. 2025, TUMIX: Multi-Agent Test-Time Scaling with Tool-Use Mixture "
    "(arXiv:2510.01279)",
    summary="Heterogeneous agents, with and without tools, answer and refine over rounds "
    "seeing each other's answers; an LLM judge stops; majority vote",
)
