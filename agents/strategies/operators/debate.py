"""``debate`` and ``reconcile``: agents that answer, read each other, and answer again.

``debate`` is multi-agent debate (Du et al., 2023, arXiv:2305.14325): N agents answer,
then for R - 1 rounds each reads its neighbours' latest answers (all-to-all, or the ring
and sparse topologies of Li et al., 2024, arXiv:2406.11776) and updates its own; it stops
early once all agree and ends by a vote or a judge. ``reconcile`` is ReConcile (Chen et
al., 2024, arXiv:2309.13007): a round table of different models that state answers,
explanations and confidences, with a confidence-weighted vote each round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.common import clip
from agents.strategies.debate_topology import (
    Topology,
    all_agree,
    neighbours,
    parse_confidence,
    reconcile_vote,
    summarize_for_context,
)
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.prompting import ask, in_persona
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget
from agents.strategies.semantic_entropy import (
    EntropyStopParams,
    entropy_says_stop,
    semantic_entropy,
)
from agents.strategies.vote_tally import (
    format_candidates_for_selection,
    majority_vote,
    parse_selection,
)
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, ModelOutputError, StrategyOutcome

DEBATE_PROMPT = (
    "These are the latest answers of other agents to the question:\n\n{others}\n\n"
    "Using their reasoning as additional advice, examine your answer and theirs step by "
    "step, then give an updated answer. End with your final answer in the same format as "
    "before."
)

JUDGE_PROMPT = (
    "Question:\n{question}\n\nSeveral agents debated it and ended with these answers:\n\n"
    "{responses}\n\nWhich response answers the question correctly? Reply with the number "
    "of the best response as 'choice' and one sentence of reason."
)


class DebateParams(EntropyStopParams):
    """Settings of ``debate`` (``stop_entropy`` ends the debate once the agents nearly agree)."""

    model_config = ConfigDict(extra="forbid")

    agents: int = Field(default=3, ge=2, le=16, description="Agents in the debate (N).")
    rounds: int = Field(
        default=2, ge=1, le=10, description="Rounds (R), the first answers included."
    )
    topology: Topology = Field(default="all", description="Who reads whom: all, ring, sparse.")
    degree: int = Field(
        default=2, ge=1, le=15, description="Neighbours each agent reads (ring, sparse)."
    )
    max_context_chars: int = Field(
        default=3000, ge=200, le=100_000, description="Neighbours' answers are cut to this."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find an answer (agreement and vote)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    final: Literal["vote", "judge"] = Field(
        default="vote", description="Final answer: majority of the last answers, or a judge."
    )
    judge: str | None = Field(
        default=None, description="Agent that judges (final: judge); None: the node's agent."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy each agent answers with (e.g. op: vote)."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the agents."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DebateParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.judge is not None and self.final != "judge":
            raise ValueError(f"judge {self.judge!r} is only used with final: judge")
        return self


def _answers(texts: Sequence[str], params: DebateParams) -> list[str | None]:
    return [
        extract_answer(t, params.extract, pattern=params.pattern, field=params.field) for t in texts
    ]


def _entropy(texts: Sequence[str], params: DebateParams) -> float:
    """The agents' normalized semantic entropy (``semantic_entropy``)."""
    return semantic_entropy(
        texts,
        params.entropy_by,
        extract=params.extract,
        pattern=params.pattern,
        field=params.field,
        similarity=params.entropy_similarity,
    )


def _judge_schema(n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "integer", "minimum": 1, "maximum": n},
            "reason": {"type": "string", "maxLength": 400},
        },
        "required": ["choice"],
    }


async def _judge(
    branches: Branches, params: DebateParams, messages: list[ChatMessage], latest: list[str]
) -> int | None:
    """The 0-based index of the response the judge picks, or None if its reply names none."""
    judge = branches.or_agent(params.judge, param="params.judge")
    limit = max(200, params.max_context_chars // len(latest))
    prompt = JUDGE_PROMPT.format(
        question=messages[-1].content.strip(),
        responses=format_candidates_for_selection([clip(t, limit) for t in latest]),
    )
    reply = await judge.text(
        ask(messages, prompt), json_schema=_judge_schema(len(latest)), temperature=0.0
    )
    picked = extract_answer(reply, "json_field", field="choice")
    if picked is not None and picked.isdigit() and 1 <= int(picked) <= len(latest):
        return int(picked) - 1
    return parse_selection(reply, len(latest))


async def run_debate(
    branches: Branches, params: DebateParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    if params.judge is not None:
        branches.with_agent(params.judge, param="judge")
    n = params.agents
    readers = {i: neighbours(i, n, params.topology, params.degree) for i in range(n)}
    if params.inner is None:
        latest = [
            c.text for c in await branches.sample(messages, n, temperature=params.temperature)
        ]
    else:
        inner = params.inner
        first, spent = await gather_within_budget(
            [branches.solve(messages, inner) for _ in range(n)]
        )
        if all(t is None for t in first) and spent is not None:
            raise spent
        latest = [t if t is not None else "" for t in first]
    stopped: BudgetExceeded | None = None
    answers = _answers(latest, params)
    history = [answers]
    entropies: list[float] = []
    settled = False
    while len(history) < params.rounds and not all_agree(answers):
        if params.stop_entropy is not None:
            entropies.append(_entropy(latest, params))
            settled = entropy_says_stop(entropies[-1], params.stop_entropy)
            if settled:
                break
        turns = []
        for i in range(n):
            others = summarize_for_context(
                {f"Agent {j + 1}": latest[j] for j in readers[i]}, params.max_context_chars
            )
            turn = [
                *messages,
                ChatMessage(role="assistant", content=clip(latest[i], params.max_context_chars)),
                ChatMessage(role="user", content=DEBATE_PROMPT.format(others=others)),
            ]
            turns.append(branches.solve(turn, params.inner, temperature=params.temperature))
        updated, stopped = await gather_within_budget(turns)
        # An agent stopped by the budget keeps its previous answer (anytime).
        latest = [new if new is not None else old for new, old in zip(updated, latest, strict=True)]
        answers = _answers(latest, params)
        history.append(answers)
        if stopped is not None:
            break
    details: dict[str, Any] = {
        "rounds_run": len(history),
        "agreed": all_agree(answers),
        "topology": params.topology,
        "neighbours": {str(i + 1): [j + 1 for j in readers[i]] for i in range(n)},
        "answers": history,
        "final": params.final,
    }
    if params.stop_entropy is not None:
        details.update(entropy=[round(e, 4) for e in entropies], stopped_by_entropy=settled)
    answer: str | None = None
    if params.final == "judge" and stopped is None and not details["agreed"]:
        try:
            choice = await _judge(branches, params, messages, latest)
        except BudgetExceeded as exc:
            stopped, choice = exc, None
        details["judge_choice"] = None if choice is None else choice + 1
        answer = latest[choice].strip() if choice is not None else None
    if answer is None:
        result = majority_vote(answers)
        answer = result.winner if result.winner is not None else latest[0].strip()
        details.update(final="vote", counts=dict(result.counts))
    return StrategyOutcome(
        answer=answer,
        candidates=latest,
        details=details,
        stopped_by=stopped.budget if stopped is not None else None,
    )


RECONCILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "maxLength": 300},
        "explanation": {"type": "string", "maxLength": 1500},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["answer", "explanation", "confidence"],
}

RECONCILE_FORMAT = (
    "Reply with a JSON object: 'answer' (your final answer, short), 'explanation' (your "
    "reasoning in a few sentences) and 'confidence' (from 0.0 to 1.0, how sure you are "
    "that your answer is correct)."
)

RECONCILE_ROUND = (
    "{question}\n\nYour previous answer: {own}\n\nThe other agents' answers, explanations "
    "and confidences:\n\n{others}\n\nConsider their reasoning and confidence, then give "
    "your updated answer. {format}"
)


class ReconcileParams(BaseModel):
    """Settings of ``reconcile``."""

    model_config = ConfigDict(extra="forbid")

    agents: list[str] = Field(
        min_length=2, max_length=8, description="Agents at the table (ideally different models)."
    )
    rounds: int = Field(
        default=3, ge=1, le=10, description="Rounds (R), the first answers included."
    )
    max_context_chars: int = Field(
        default=4000, ge=200, le=100_000, description="The others' stances are cut to this."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to read the answer (JSON 'answer' or raw text)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the agents."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReconcileParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        return self


class _Reply(BaseModel):
    """A round-table reply; tolerant, since the text fallback covers the rest."""

    answer: str
    explanation: str = ""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


@dataclass(frozen=True)
class Stance:
    """One agent's answer in a round: what it says, why, and how sure it is."""

    answer: str | None
    explanation: str
    confidence: float | None

    def render(self) -> str:
        sure = "not stated" if self.confidence is None else f"{self.confidence:.2f}"
        return f"answer: {self.answer}\nconfidence: {sure}\nexplanation: {self.explanation}"


def read_stance(text: str, params: ReconcileParams) -> Stance:
    """A reply as a stance: the JSON fields if they parse, else tolerant text parsing."""
    try:
        reply = _Reply.model_validate_json(_json_object(text))
    except (ValidationError, ValueError):
        answer = extract_answer(text, params.extract, pattern=params.pattern, field=params.field)
        return Stance(answer, clip(text, 1500), parse_confidence(text))
    answer = extract_answer(
        reply.answer, params.extract, pattern=params.pattern, field=params.field
    )
    return Stance(answer, clip(reply.explanation, 1500), reply.confidence)


def _json_object(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    return text[start : end + 1]


async def run_reconcile(
    branches: Branches, params: ReconcileParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    seats = [branches.with_agent(name, param="agents") for name in params.agents]
    question = messages[-1].content.strip()
    opening = ask(messages, f"{question}\n\n{RECONCILE_FORMAT}")
    personas = [in_persona(opening, seat.agent) for seat in seats]
    # The first round's prompt is the same for every seat: one request with n per agent.
    unique = list(dict.fromkeys(params.agents))
    firsts, stopped = await gather_within_budget(
        [
            seats[params.agents.index(name)].sample(
                personas[params.agents.index(name)],
                params.agents.count(name),
                json_schema=RECONCILE_SCHEMA,
                temperature=params.temperature,
            )
            for name in unique
        ]
    )
    pending = {name: [c.text for c in got or []] for name, got in zip(unique, firsts, strict=True)}
    texts = [pending[name].pop(0) if pending[name] else "" for name in params.agents]
    if stopped is not None and not any(texts):
        raise stopped
    stances = [read_stance(t, params) for t in texts]
    rounds: list[dict[str, Any]] = []
    while True:
        result = reconcile_vote([s.answer for s in stances], [s.confidence for s in stances])
        rounds.append(
            {
                "round": len(rounds) + 1,
                "answers": [s.answer for s in stances],
                "confidences": [s.confidence for s in stances],
                "weights": dict(result.weights),
                "winner": result.winner,
            }
        )
        consensus = all_agree([s.answer for s in stances])
        if consensus or stopped is not None or len(rounds) >= params.rounds:
            break
        turns = []
        for i, seat in enumerate(seats):
            others = summarize_for_context(
                {
                    f"Agent {j + 1} ({params.agents[j]})": stance.render()
                    for j, stance in enumerate(stances)
                    if j != i
                },
                params.max_context_chars,
            )
            prompt = RECONCILE_ROUND.format(
                question=question, own=stances[i].render(), others=others, format=RECONCILE_FORMAT
            )
            turns.append(
                seat.text(
                    in_persona(ask(messages, prompt), seat.agent),
                    json_schema=RECONCILE_SCHEMA,
                    temperature=params.temperature,
                )
            )
        replies, stopped = await gather_within_budget(turns)
        # A seat stopped by the budget keeps its previous stance (anytime).
        stances = [
            read_stance(reply, params) if reply is not None else old
            for reply, old in zip(replies, stances, strict=True)
        ]
    winner = next((r["winner"] for r in reversed(rounds) if r["winner"] is not None), None)
    if winner is None:
        raise ModelOutputError(
            f"reconcile: none of the agents {params.agents!r} stated a readable answer in "
            f"{len(rounds)} round(s); check their model or the extract setting "
            f"({params.extract!r})",
            output=texts[0],
        )
    return StrategyOutcome(
        answer=winner,
        candidates=[s.render() for s in stances],
        details={
            "agents": params.agents,
            "rounds_run": len(rounds),
            "consensus": consensus,
            "rounds": rounds,
        },
        stopped_by=stopped.budget if stopped is not None else None,
    )


DEBATE = StrategyDef(
    name="debate",
    params=DebateParams,
    run=run_debate,
    paper="Du et al. 2023, Multiagent Debate (arXiv:2305.14325); Li et al. 2024, Sparse "
    "Communication Topology (arXiv:2406.11776)",
    summary="N agents answer, then for R rounds read their neighbours' answers and update "
    "theirs; ends early on agreement, by vote or judge",
)

RECONCILE = StrategyDef(
    name="reconcile",
    params=ReconcileParams,
    run=run_reconcile,
    paper="Chen et al. 2024, ReConcile (arXiv:2309.13007)",
    summary="A round table of different models stating answers, explanations and confidences, "
    "with a confidence-weighted vote each round",
)
