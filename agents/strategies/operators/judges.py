"""``universal_vote`` and ``best_of_n``: free-form candidates chosen by a model or a verifier.

Universal Self-Consistency (Chen et al., 2023, arXiv:2311.17311) samples N free-form
answers and asks the model which one is most consistent with the others. Best-of-N
scores N candidates with a verifier, an LLM judge with a rubric or a reward-model
endpoint, optionally step by step as a process reward model would (Lightman et al.,
2023, "Let's Verify Step by Step", arXiv:2305.20050), and keeps the best.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any, Literal, TypeVar

from pydantic import Field, model_validator

from agents.common import clip
from agents.strategies.candidates import CandidateParams, draw_candidates
from agents.strategies.judge_scorer import DEFAULT_RUBRIC, JudgeScorer
from agents.strategies.judges_scores import split_steps, step_prefixes
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.tree_beam import StepAggregation, aggregate_step_scores
from agents.strategies.vote_tally import (
    SELECTION_INSTRUCTION,
    format_candidates_for_selection,
    parse_selection,
)
from orchestrator import (
    BudgetExceeded,
    ChatMessage,
    ModelOutputError,
    RewardClient,
    StrategyOutcome,
)

T = TypeVar("T")

# -- universal_vote ----------------------------------------------------------------------


class UniversalVoteParams(CandidateParams):
    """Settings of ``universal_vote``."""

    n: int = Field(default=8, ge=1, le=256, description="Free-form candidates to sample.")
    selector: str | None = Field(
        default=None, description="Agent that picks the most consistent (default: the node's)."
    )


async def run_universal_vote(
    branches: Branches, params: UniversalVoteParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    selector = branches.or_agent(params.selector, param="params.selector")
    drawn = await draw_candidates(
        branches, messages, params.n, inner=params.inner, temperature=params.temperature
    )
    texts = drawn.texts
    details: dict[str, Any] = {"candidates": len(texts)}
    if len({t.strip() for t in texts}) == 1:
        details.update(selection="unanimous", picked=0)
        return StrategyOutcome(texts[0].strip(), texts, details, stopped_by=drawn.stopped_by)
    prompt = (
        f"I have generated the following responses to the question: {question_of(messages)}\n\n"
        f"{format_candidates_for_selection([clip(t, params.clip_chars) for t in texts])}\n\n"
        f"{SELECTION_INSTRUCTION}"
    )
    try:
        reply = await selector.text([ChatMessage(role="user", content=prompt)], temperature=0.0)
    except BudgetExceeded as exc:
        details.update(selection="budget", picked=0)
        return StrategyOutcome(texts[0].strip(), texts, details, stopped_by=exc.budget)
    picked = parse_selection(reply, len(texts))
    if picked is None:
        # An unreadable pick falls back to the first sample, as plain sampling would.
        details.update(selection="unparsed", picked=0, selector_reply=clip(reply, 300))
        picked = 0
    else:
        details.update(selection="model", picked=picked)
    return StrategyOutcome(texts[picked].strip(), texts, details, stopped_by=drawn.stopped_by)


# -- best_of_n ---------------------------------------------------------------------------


class BestOfNParams(CandidateParams):
    """Settings of ``best_of_n``."""

    n: int = Field(default=8, ge=1, le=256, description="Candidates to sample and score.")
    verifier: Literal["judge", "reward"] = Field(
        default="judge", description="Score with an LLM judge or a reward-model endpoint."
    )
    judge: str | None = Field(
        default=None, description="Agent that scores (verifier: judge; default: the node's)."
    )
    rubric: str = Field(
        default=DEFAULT_RUBRIC, min_length=1, max_length=4000, description="What scores high."
    )
    reward_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description='Reward endpoint (verifier: reward): POST {"prompt","response"} -> {"score"}.',
    )
    reward_timeout_s: float = Field(
        default=30.0, gt=0.0, le=600.0, description="Seconds to wait for one reward score."
    )
    step_scores: bool = Field(default=False, description="Score each step, then aggregate.")
    step_aggregate: Literal["min", "product", "mean", "last"] = Field(
        default="min", description="How step scores combine into the candidate's score."
    )
    max_steps: int = Field(
        default=12, ge=1, le=128, description="Steps scored per candidate (the tail is merged)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> BestOfNParams:
        if self.verifier == "reward" and self.reward_url is None:
            raise ValueError("verifier 'reward' needs reward_url (the reward model's endpoint)")
        if self.verifier == "judge" and self.reward_url is not None:
            raise ValueError("reward_url is set but verifier is 'judge'; set verifier: reward")
        if self.verifier == "reward" and self.judge is not None:
            raise ValueError("judge is set but verifier is 'reward'; drop judge or use 'judge'")
        return self


_AGGREGATIONS: dict[str, StepAggregation] = {
    "min": "min",
    "product": "prod",
    "mean": "mean",
    "last": "last",
}


class _RewardScorer:
    """Reward-model scores of whole answers or of step prefixes."""

    def __init__(self, client: RewardClient, branches: Branches, question: str) -> None:
        self.client = client
        self.branches = branches
        self.question = question

    async def score(self, response: str) -> float | None:
        self.branches.check_budget()
        return await self.client.score(self.question, response)

    async def score_step(
        self, _steps: Sequence[str], prefixes: Sequence[str], index: int
    ) -> float | None:
        self.branches.check_budget()
        return await self.client.score(self.question, prefixes[index])


async def _candidate_score(
    scorer: JudgeScorer | _RewardScorer, text: str, params: BestOfNParams
) -> tuple[float | None, list[float | None] | None]:
    """A candidate's score, and its step scores when scoring by step."""
    if not params.step_scores:
        return await scorer.score(text), None
    steps = split_steps(text, params.max_steps)
    prefixes = step_prefixes(text, params.max_steps)
    if not steps:
        return None, []
    jobs: list[Coroutine[Any, Any, float | None]] = [
        scorer.score_step(steps, prefixes, i) for i in range(len(steps))
    ]
    gathered = await gather_within_budget(jobs)
    step_scores, stop = gathered
    if stop is not None:
        raise stop
    if all(s is None for s in step_scores):
        return None, step_scores
    # A judge's 1..10 becomes a 0..1 step correctness so that products stay comparable;
    # an unreadable step verdict counts as a wrong step.
    scale = 10.0 if isinstance(scorer, JudgeScorer) else 1.0
    usable = [0.0 if s is None else s / scale for s in step_scores]
    return aggregate_step_scores(usable, _AGGREGATIONS[params.step_aggregate]), step_scores


async def run_best_of_n(
    branches: Branches, params: BestOfNParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    judge = branches.or_agent(params.judge, param="params.judge")
    drawn = await draw_candidates(
        branches, messages, params.n, inner=params.inner, temperature=params.temperature
    )
    texts = drawn.texts
    question = question_of(messages)
    scorer: JudgeScorer | _RewardScorer
    if params.verifier == "reward" and params.reward_url is not None:
        async with RewardClient(params.reward_url, timeout_s=params.reward_timeout_s) as client:
            scorer = _RewardScorer(client, branches, question)
            scored, stop = await gather_within_budget(
                [_candidate_score(scorer, t, params) for t in texts]
            )
    else:
        scorer = JudgeScorer(judge, question, params.rubric, params.clip_chars)
        scored, stop = await gather_within_budget(
            [_candidate_score(scorer, t, params) for t in texts]
        )
    scores = [s[0] if s is not None else None for s in scored]
    usable = [(score, i) for i, score in enumerate(scores) if score is not None]
    if not usable and stop is None:
        outputs = scorer.unreadable if isinstance(scorer, JudgeScorer) else []
        raise ModelOutputError(
            f"best_of_n: the judge gave no readable score for any of {len(texts)} candidates; "
            f"use a judge agent whose model follows JSON schemas",
            output="\n---\n".join(outputs)[:2000],
        )
    # Highest score wins; equal scores keep the earlier candidate.
    best = max(usable, key=lambda pair: (pair[0], -pair[1]))[1] if usable else 0
    details: dict[str, Any] = {
        "verifier": params.verifier,
        "candidates": len(texts),
        "best": best,
        "best_score": scores[best],
        "scores": scores,
        "unscored": sum(s is None for s in scores),
    }
    if params.step_scores:
        details["step_aggregate"] = params.step_aggregate
        details["step_scores"] = [s[1] if s is not None else None for s in scored]
    return StrategyOutcome(
        texts[best].strip(),
        texts,
        details,
        stopped_by=drawn.stopped_by or (stop.budget if stop else None),
    )


UNIVERSAL_VOTE = StrategyDef(
    name="universal_vote",
    params=UniversalVoteParams,
    run=run_universal_vote,
    paper="Chen et al. 2023, Universal Self-Consistency (arXiv:2311.17311)",
    summary="Sample N free-form answers and let the model pick the most consistent one",
)

BEST_OF_N = StrategyDef(
    name="best_of_n",
    params=BestOfNParams,
    run=run_best_of_n,
    paper="Cobbe et al. 2021, Training Verifiers (arXiv:2110.14168); Lightman et al. 2023, "
    "Let's Verify Step by Step (arXiv:2305.20050)",
    summary="Sample N candidates, score each with an LLM judge or a reward model (optionally "
    "step by step) and keep the best",
)
