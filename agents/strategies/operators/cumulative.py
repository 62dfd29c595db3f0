"""``cumulative``: Cumulative Reasoning — propose, verify, accumulate, report.

Cumulative Reasoning (Zhang et al. 2023, arXiv:2308.04371): a proposer suggests new
propositions derived from the question and the propositions verified so far, verifiers
accept or reject each, and the accepted ones accumulate in a DAG (each linked to the
items it was derived from; ``cumulative_dag.PropositionDag``) until a reporter judges
that they answer the question. Each round samples ``proposals`` propositions in one
request (the replica shares the prefix), verifies all of them concurrently
(``votes`` verifier samples each, a strict majority accepts), and asks the ``reporter``
whether it can answer. When it can, its answer is returned (or, with ``inner``, the
answer comes from that strategy given the verified propositions); after ``rounds``
rounds or ``max_propositions`` propositions, a last answer prompt answers from what
was verified.

Where ours differs, and why: the paper runs the roles as separate prompted instances
with free-text exchanges and task-specific few-shot prompts (logic, 24-game, MATH);
here every role replies in JSON through the request's schema (so small models on
stock servers can follow them) and the prompts are generic.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.strategies.cumulative_dag import (
    PropositionDag,
    accepted,
    read_proposal,
    read_report,
    read_verdict,
)
from agents.strategies.prompting import ask
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, ModelOutputError, StrategyOutcome

PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "proposition": {"type": "string", "minLength": 1, "maxLength": 240},
        "from": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 8},
    },
    "required": ["proposition", "from"],
}

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 120},
        "valid": {"type": "boolean"},
    },
    "required": ["reason", "valid"],
}

REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 120},
        "ready": {"type": "boolean"},
        "answer": {"type": "string", "maxLength": 200},
    },
    "required": ["reason", "ready", "answer"],
}


class CumulativeParams(BaseModel):
    """Settings of ``cumulative``."""

    model_config = ConfigDict(extra="forbid")

    proposals: int = Field(
        default=2, ge=1, le=16, description="Propositions proposed per round (one request)."
    )
    votes: int = Field(
        default=1, ge=1, le=9, description="Verifier samples per proposition (majority accepts)."
    )
    rounds: int = Field(default=3, ge=1, le=16, description="Propose-verify-report rounds.")
    max_propositions: int = Field(
        default=8, ge=1, le=64, description="Verified propositions at most (the DAG's size)."
    )
    verifier: str | None = Field(
        default=None, description="Agent that verifies (default: the node's)."
    )
    reporter: str | None = Field(
        default=None, description="Agent that decides and reports (default: the node's)."
    )
    clip_chars: int = Field(
        default=600, ge=100, le=20_000, description="Characters of each item shown in prompts."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Proposal temperature."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy that writes the final answer (default: reporter's)."
    )


class _Cumulative:
    """One Cumulative Reasoning run: the roles, the DAG, and what stopped it."""

    def __init__(
        self, branches: Branches, params: CumulativeParams, messages: list[ChatMessage]
    ) -> None:
        self.proposer = branches
        self.verifier = branches.or_agent(params.verifier, param="params.verifier")
        self.reporter = branches.or_agent(params.reporter, param="params.reporter")
        self.params = params
        self.messages = messages
        self.dag = PropositionDag(question_of(messages))
        self.stop: BudgetExceeded | None = None

    def _known(self) -> str:
        return self.dag.render(self.params.clip_chars)

    async def propose(self) -> list[tuple[str, list[int]]]:
        rejected = "\n".join(f"- {r}" for r in self.dag.rejected[-5:])
        avoid = f"\n\nRejected before (do not propose again):\n{rejected}" if rejected else ""
        prompt = (
            f"Known so far:\n{self._known()}{avoid}\n\nPropose one new proposition that "
            "follows from the known propositions and brings the answer to the question "
            "closer. Do not repeat a known one. Reply as JSON: "
            '{"proposition": "<one statement>", "from": [<numbers of the propositions it '
            "follows from>]}."
        )
        choices = await self.proposer.sample(
            ask(self.messages, prompt),
            self.params.proposals,
            json_schema=PROPOSAL_SCHEMA,
            temperature=self.params.temperature,
        )
        fresh: list[tuple[str, list[int]]] = []
        for choice in choices:
            proposal = read_proposal(choice.text)
            if proposal is None or self.dag.known(proposal[0]):
                continue
            if all(proposal[0].casefold() != seen[0].casefold() for seen in fresh):
                fresh.append(proposal)
        return fresh

    async def verify(self, proposition: str) -> bool:
        prompt = (
            f"Known so far:\n{self._known()}\n\nCheck the new proposition below: is it "
            "correct, and does it follow from the known propositions? Reply as JSON: "
            '{"reason": "<one sentence>", "valid": true | false}.\n\n'
            f"New proposition: {proposition}"
        )
        votes = self.params.votes
        choices = await self.verifier.sample(
            ask(self.messages, prompt),
            votes,
            json_schema=VERDICT_SCHEMA,
            temperature=0.0 if votes == 1 else None,
        )
        return accepted([read_verdict(c.text) for c in choices])

    async def report(self) -> tuple[bool, str | None]:
        prompt = (
            f"Verified so far:\n{self._known()}\n\nDo the verified propositions settle the "
            "answer to the question (proposition 0)? Reply as JSON: "
            '{"reason": "<one sentence>", "ready": true | false, "answer": "<the final '
            'answer if ready, else empty>"}.'
        )
        reply = await self.reporter.text(
            ask(self.messages, prompt), json_schema=REPORT_SCHEMA, temperature=0.0
        )
        return read_report(reply)

    async def round(self) -> tuple[int, int]:
        """Propose, verify every proposal concurrently, accept within the DAG's room."""
        proposals = await self.propose()
        verdicts, stop = await gather_within_budget([self.verify(p) for p, _ in proposals])
        self.stop = self.stop or stop
        added = 0
        for (text, sources), ok in zip(proposals, verdicts, strict=True):
            if ok is None:
                continue
            if ok and len(self.dag.propositions) < self.params.max_propositions:
                self.dag.add(text, sources)
                added += 1
            elif not ok:
                self.dag.reject(text)
        return len(proposals), added

    async def final_answer(self) -> str:
        prompt = (
            f"Verified propositions:\n{self._known()}\n\nUsing these verified propositions, "
            "answer the question (proposition 0). State the final answer clearly."
        )
        return await self.proposer.solve(ask(self.messages, prompt), self.params.inner)


async def run_cumulative(
    branches: Branches, params: CumulativeParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    run = _Cumulative(branches, params, messages)
    history: list[dict[str, Any]] = []
    ready, reported = False, None
    try:
        while len(history) < params.rounds and run.stop is None:
            if len(run.dag.propositions) >= params.max_propositions:
                break
            proposed, added = await run.round()
            history.append({"proposed": proposed, "accepted": added})
            if run.stop is not None:
                break
            if run.dag.propositions:
                ready, reported = await run.report()
                history[-1]["ready"] = ready
                if ready:
                    break
    except BudgetExceeded as exc:
        run.stop = run.stop or exc
    answer: str | None = reported if ready and params.inner is None else None
    if answer is None and run.stop is None:
        try:
            answer = (await run.final_answer()).strip() or None
        except BudgetExceeded as exc:
            run.stop = exc
    if answer is None:
        # Anytime: the reporter's latest answer, else the newest verified proposition.
        latest = run.dag.propositions[-1].text if run.dag.propositions else None
        answer = reported or latest
    if answer is None:
        if run.stop is not None:
            raise run.stop
        raise ModelOutputError(
            "cumulative: no proposition was verified and no answer was written; check the "
            "proposer's and verifier's model",
            output="",
        )
    details: dict[str, Any] = {
        "rounds_run": len(history),
        "rounds": history,
        "reported": ready,
        "propositions": run.dag.to_details(),
        "rejected": len(run.dag.rejected),
        "depth": max((p.depth for p in run.dag.propositions), default=0),
    }
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=[p.text for p in run.dag.propositions],
        details=details,
        stopped_by=run.stop.budget if run.stop is not None else None,
    )


CUMULATIVE = StrategyDef(
    name="cumulative",
    params=CumulativeParams,
    run=run_cumulative,
    paper="Zhang et al. 2023, Cumulative Reasoning with Large Language Models (arXiv:2308.04371)",
    summary="A proposer suggests propositions, verifiers accept or reject them, the accepted "
    "accumulate in a DAG until a reporter can answer",
)
