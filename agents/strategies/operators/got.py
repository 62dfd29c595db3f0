"""``got``: Graph-of-Thoughts operations applied in order to a working set of thoughts.

Graph-of-Thoughts (Besta et al., 2023, "Graph of Thoughts: Solving Elaborate Problems with
Large Language Models", arXiv:2308.09687) treats thoughts as a graph built by operations:
generate k thoughts from each, score them, keep the best b, aggregate the best m into
one, refine each. ``steps`` lists the operations (checked by ``beam.parse_got_steps``);
every thought of a step is worked on concurrently, and the best thought is the answer.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from agents.common import clip
from agents.strategies.aggregation_population import aggregation_prompt
from agents.strategies.candidates import CandidateParams, draw_candidates
from agents.strategies.judge_scorer import DEFAULT_RUBRIC, JudgeScorer
from agents.strategies.prompting import ask, distinct_texts
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.tree_beam import (
    GotStep,
    Thought,
    ThoughtTree,
    keep_best,
    parse_got_steps,
    select_beam,
)
from orchestrator import BudgetExceeded, ChatMessage, ModelOutputError, StrategyOutcome

DEFAULT_GOT_STEPS: list[dict[str, Any]] = [
    {"generate": 3},
    {"score": {}},
    {"keep_best": 2},
    {"aggregate": 2},
    {"refine": 1},
]


class GotParams(CandidateParams):
    """Settings of ``got``."""

    steps: list[GotStep] = Field(
        default=DEFAULT_GOT_STEPS,
        validate_default=True,
        description="Operations applied in order: generate, score, keep_best, aggregate, refine.",
    )
    evaluator: str | None = Field(
        default=None, description="Agent that scores thoughts (default: the node's)."
    )
    rubric: str = Field(
        default=DEFAULT_RUBRIC, min_length=1, max_length=4000, description="What scores high."
    )

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, raw: object) -> object:
        if isinstance(raw, list) and raw and all(isinstance(s, GotStep) for s in raw):
            return raw
        return parse_got_steps(raw)


@dataclass
class _GoT:
    """One Graph-of-Thoughts run: the thoughts, the working set's model access and its stop."""

    branches: Branches
    judge: Branches
    params: GotParams
    messages: list[ChatMessage]
    question: str = ""
    tree: ThoughtTree = field(default_factory=ThoughtTree)
    stop: BudgetExceeded | None = None
    drawn_stop: str | None = None
    unreadable: int = 0

    @property
    def stopped_by(self) -> str | None:
        """The budget that stopped the run, if any."""
        return self.stop.budget if self.stop is not None else self.drawn_stop

    def _note(self, stop: BudgetExceeded | None) -> None:
        self.stop = self.stop or stop

    def _shown(self, thought: Thought) -> str:
        return clip(thought.text, self.params.clip_chars)

    async def _generate_from(self, thought: Thought, k: int) -> list[Thought]:
        if thought.id == 0:
            drawn = await draw_candidates(
                self.branches,
                self.messages,
                k,
                inner=self.params.inner,
                temperature=self.params.temperature,
            )
            self.drawn_stop = self.drawn_stop or drawn.stopped_by
            texts = drawn.texts
        else:
            prompt = (
                f"Question:\n{self.question}\n\nA previous answer:\n{self._shown(thought)}\n\n"
                f"Write another complete answer to the question. It may build on the previous "
                f"answer or take a different route."
            )
            choices = await self.branches.sample(
                ask(self.messages, prompt), k, temperature=self.params.temperature
            )
            texts = [c.text for c in choices]
        return self.tree.expand(thought.id, distinct_texts(texts))

    async def _refined(self, thought: Thought, rounds: int) -> Thought:
        for _ in range(rounds):
            prompt = (
                f"Question:\n{self.question}\n\nAn answer:\n{self._shown(thought)}\n\nImprove "
                f"this answer: fix mistakes, fill gaps and keep what is right. Reply with the "
                f"improved answer only."
            )
            try:
                text = await self.branches.text(
                    ask(self.messages, prompt), temperature=self.params.temperature
                )
            except BudgetExceeded as exc:
                self._note(exc)
                break
            if not text.strip():
                break
            thought = self.tree.add(thought.id, text.strip())
        return thought

    async def apply(self, step: GotStep, working: list[Thought]) -> list[Thought]:
        """The working set after ``step``; empty when a generate produced nothing."""
        if step.op == "generate":
            grown, stop = await gather_within_budget(
                [self._generate_from(t, step.count) for t in working]
            )
            self._note(stop)
            return [c for group in grown if group for c in group]
        if step.op == "score":
            scorer = JudgeScorer(
                self.judge, self.question, step.rubric or self.params.rubric, self.params.clip_chars
            )
            jobs: list[Coroutine[Any, Any, float | None]] = [scorer.score(t.text) for t in working]
            gathered = await gather_within_budget(jobs)
            scores, stop = gathered
            self._note(stop)
            self.unreadable += len(scorer.unreadable)
            for thought, score in zip(working, scores, strict=True):
                self.tree.set_score(thought.id, None if score is None else score / 10)
            return [self.tree.get(t.id) for t in working]
        if step.op == "keep_best":
            return keep_best(working, step.count)
        if step.op == "aggregate":
            best = select_beam(working, step.count)
            if len(best) < 2:
                return best
            prompt = aggregation_prompt(self.question, [self._shown(t) for t in best])
            text = await self.branches.text(
                ask(self.messages, prompt), temperature=self.params.temperature
            )
            if not text.strip():
                return best[:1]
            return [self.tree.merge([t.id for t in best], text.strip())]
        refined, stop = await gather_within_budget([self._refined(t, step.count) for t in working])
        self._note(stop)
        return [r if r is not None else t for r, t in zip(refined, working, strict=True)]


async def run_got(
    branches: Branches, params: GotParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    judge = branches.or_agent(params.evaluator, param="params.evaluator")
    run = _GoT(branches, judge, params, messages, question_of(messages))
    working = [run.tree.root]
    history: list[dict[str, Any]] = []
    for index, step in enumerate(params.steps):
        try:
            updated = await run.apply(step, working)
        except BudgetExceeded as exc:
            run.stop = run.stop or exc
            break
        if not updated:
            break
        working = updated
        history.append(
            {"step": index, "op": step.op, "thoughts": [(t.id, t.score) for t in working]}
        )
        if run.stopped_by is not None:
            break
    if working[0].id == 0:
        if run.stop is not None:
            raise run.stop
        raise ModelOutputError(
            "got: the first generate step produced no thought; use a model that answers the "
            "question",
            output="",
        )
    best = select_beam(working, 1)[0]
    details: dict[str, Any] = {
        "steps_run": len(history),
        "steps": history,
        "best": best.id,
        "best_score": best.score,
        "thoughts": len(run.tree) - 1,
        "unreadable_scores": run.unreadable,
        "tree": run.tree.to_details(),
    }
    return StrategyOutcome(
        best.text.strip(), [t.text for t in working], details, stopped_by=run.stopped_by
    )


GOT = StrategyDef(
    name="got",
    params=GotParams,
    run=run_got,
    paper="Besta et al. 2023, Graph of Thoughts (arXiv:2308.09687)",
    summary="Apply Graph-of-Thoughts operations in order (generate, score, keep_best, "
    "aggregate, refine) to a working set of thoughts and answer with the best",
)
