"""``smoa``: Sparse Mixture-of-Agents, a judge forwards the k best answers of each layer.

SMoA (Li et al., 2024, "SMoA: Improving Multi-agent Large Language Models with Sparse
Mixture-of-Agents", arXiv:2411.03284). Proposers, each with a distinct role description
(or its own agent's system prompt), answer the question; from the second layer on they
see only the responses the judge forwarded. After every layer a judge selects the
``select`` best responses (Response Selection) and, concurrently, a moderator decides
whether another layer would change the answer (Early Stopping). The answer is the
aggregator's synthesis of the last forwarded responses (``final: aggregate``) or the
judge's top pick (``final: select``).

Where ours differs, and why: the judge and the moderator run concurrently on the same
layer (the paper calls them in turn), so stopping costs no extra latency; the moderator
reads the whole layer rather than only the selection, which it can do in parallel.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.prompting import ask, with_references
from agents.strategies.runtime import (
    Branches,
    StrategyDef,
    gather_within_budget,
    question_of,
    run_all,
)
from agents.strategies.smoa_selection import (
    forwarded,
    parse_selection_list,
    role_prompt,
    selection_prompt,
    selection_schema,
)
from agents.strategies.stop_verdict import parse_stop, stop_prompt, stop_schema
from orchestrator import (
    BudgetExceeded,
    ChatMessage,
    InnerOp,
    ModelOutputError,
    StrategyOutcome,
)


class SmoaParams(BaseModel):
    """Settings of ``smoa``."""

    model_config = ConfigDict(extra="forbid")

    layers: int = Field(default=3, ge=1, le=8, description="Most layers of proposers.")
    proposers: list[str] | None = Field(
        default=None,
        min_length=2,
        max_length=16,
        description="Agents proposing in every layer; None: the node's agent, width times.",
    )
    width: int = Field(
        default=4, ge=2, le=16, description="Proposers per layer when proposers is not given."
    )
    select: int = Field(
        default=2, ge=1, le=16, description="Responses the judge forwards to the next layer (k)."
    )
    roles: bool = Field(
        default=True,
        description="Give each proposer a distinct role (unless its agent has a system prompt).",
    )
    judge: str | None = Field(default=None, description="Agent that selects; None: the node's.")
    moderator: str | None = Field(
        default=None, description="Agent that decides to stop early; None: the node's agent."
    )
    early_stop: bool = Field(default=True, description="Ask the moderator after each layer.")
    final: Literal["aggregate", "select"] = Field(
        default="aggregate",
        description="aggregate: the aggregator merges the last forwarded responses; "
        "select: the judge's top pick is the answer.",
    )
    aggregator: str | None = Field(
        default=None, description="Agent that writes the answer; None: the node's agent."
    )
    max_reference_chars: int = Field(
        default=3000, ge=200, le=100_000, description="Each forwarded response is cut to this."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy each proposer answers with (e.g. op: vote)."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the proposers."
    )

    @model_validator(mode="after")
    def _consistent(self) -> SmoaParams:
        if self.proposers is not None and "width" in self.model_fields_set:
            raise ValueError(
                "give proposers (a list of agents) or width (copies of the node's agent), not both"
            )
        size = len(self.proposers) if self.proposers is not None else self.width
        if self.select >= size:
            raise ValueError(
                f"select ({self.select}) must be below the number of proposers ({size}): "
                "forwarding every response is plain Mixture-of-Agents (op: moa)"
            )
        if self.moderator is not None and not self.early_stop:
            raise ValueError(f"moderator {self.moderator!r} is only used with early_stop: true")
        return self


def _proposer_prompt(
    messages: list[ChatMessage], agent: Branches, index: int, roles: bool
) -> list[ChatMessage]:
    """The proposer's conversation: its agent's system prompt, else its role, if any."""
    system = agent.agent.system or (role_prompt(index) if roles else None)
    if system is None:
        return list(messages)
    own = [m.content for m in messages if m.role == "system" and m.content != system]
    rest = [m for m in messages if m.role != "system"]
    return [ChatMessage(role="system", content="\n\n".join([system, *own])), *rest]


async def _layer(
    proposers: list[Branches],
    params: SmoaParams,
    messages: list[ChatMessage],
    references: list[str],
) -> tuple[list[str | None], BudgetExceeded | None]:
    """One layer's responses in proposer order; same prompts share one request with n."""
    groups: dict[tuple[int, str], list[int]] = {}
    prompts: dict[tuple[int, str], list[ChatMessage]] = {}
    for index, agent in enumerate(proposers):
        convo = with_references(
            _proposer_prompt(messages, agent, index, params.roles),
            references,
            params.max_reference_chars,
        )
        key = (id(agent), "\n".join(m.content for m in convo))
        groups.setdefault(key, []).append(index)
        prompts[key] = convo
    by_agent = {id(agent): agent for agent in proposers}

    async def answer(key: tuple[int, str]) -> list[str]:
        agent, size = by_agent[key[0]], len(groups[key])
        if params.inner is not None:
            return await run_all([agent.solve(prompts[key], params.inner) for _ in range(size)])
        choices = await agent.sample(prompts[key], size, temperature=params.temperature)
        return [c.text for c in choices]

    replies, stopped = await gather_within_budget([answer(key) for key in groups])
    responses: list[str | None] = [None] * len(proposers)
    for key, texts in zip(groups, replies, strict=True):
        for index, text in zip(groups[key], texts or [], strict=False):
            responses[index] = text
    return responses, stopped


async def _select(
    judge: Branches, messages: list[ChatMessage], responses: list[str], k: int, limit: int
) -> list[int]:
    prompt = selection_prompt(question_of(messages), [clip(r, limit) for r in responses], k)
    reply = await judge.text(
        ask(messages, prompt), json_schema=selection_schema(len(responses), k), temperature=0.0
    )
    return parse_selection_list(reply, len(responses), k)


async def _should_stop(
    moderator: Branches, messages: list[ChatMessage], responses: list[str], layer: int, limit: int
) -> bool | None:
    prompt = stop_prompt(question_of(messages), [clip(r, limit) for r in responses], layer)
    reply = await moderator.text(ask(messages, prompt), json_schema=stop_schema(), temperature=0.0)
    return parse_stop(reply)


async def run_smoa(
    branches: Branches, params: SmoaParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    names: list[str | None] = (
        [*params.proposers] if params.proposers is not None else [None] * params.width
    )
    agents = {name: branches.or_agent(name, param="params.proposers") for name in set(names)}
    proposers = [agents[name] for name in names]
    judge = branches.or_agent(params.judge, param="params.judge")
    moderator = branches.or_agent(params.moderator, param="params.moderator")
    aggregator = branches.or_agent(params.aggregator, param="params.aggregator")
    limit = params.max_reference_chars
    forward: list[str] = []
    history: list[dict[str, Any]] = []
    stopped: BudgetExceeded | None = None
    stopped_early = False
    for layer in range(1, params.layers + 1):
        responses, stopped = await _layer(proposers, params, messages, forward)
        present = [r for r in responses if r is not None and r.strip()]
        record: dict[str, Any] = {"layer": layer, "responses": len(present)}
        history.append(record)
        if stopped is not None:
            forward = forward or present[: params.select]
            break
        last = layer == params.layers
        ask_moderator = params.early_stop and not last
        texts = [r or "" for r in responses]
        jobs: list[Coroutine[Any, Any, Any]] = [
            _select(judge, messages, texts, params.select, limit)
        ]
        if ask_moderator:
            jobs.append(_should_stop(moderator, messages, present, layer, limit))
        verdicts, stopped = await gather_within_budget(jobs)
        picked = verdicts[0] if isinstance(verdicts[0], list) else []
        chosen = forwarded(responses, picked, params.select)
        record["selected"] = [i + 1 for i in chosen]
        record["judge_read"] = bool(picked)
        forward = [texts[i] for i in chosen]
        if stopped is not None:
            break
        if ask_moderator:
            record["moderator_stop"] = verdicts[1]
            if verdicts[1] is True:
                stopped_early = True
                break
    if not forward:
        if stopped is not None:
            raise stopped
        raise ModelOutputError(
            f"smoa: every proposer of layer {len(history)} returned an empty answer; check "
            "the proposers' model",
            output="",
        )
    answer: str | None = None
    if params.final == "aggregate" and stopped is None and forward:
        try:
            answer = await aggregator.text(with_references(messages, forward, limit))
        except BudgetExceeded as exc:
            stopped = exc
    if answer is None:
        answer = forward[0]
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=forward,
        details={
            "layers_run": len(history),
            "stopped_early": stopped_early,
            "final": params.final,
            "layers": history,
        },
        stopped_by=stopped.budget if stopped is not None else None,
    )


SMOA = StrategyDef(
    name="smoa",
    params=SmoaParams,
    run=run_smoa,
    paper="Li et al. 2024, SMoA: Sparse Mixture-of-Agents (arXiv:2411.03284)",
    summary="Layers of role-playing proposers; a judge forwards only the k best responses "
    "to the next layer, a moderator stops early; an aggregator answers",
)
