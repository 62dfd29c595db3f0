"""``prune``: DeepPrune — stop traces heading to an answer another trace already carries.

DeepPrune (Tu et al. 2025, arXiv:2510.08483): N reasoning traces stream concurrently;
when a trace has written ``prefix_tokens`` tokens it is compared with the representative
of every cluster so far and joins the first it is predicted to agree with — and is then
stopped, being redundant — or opens a new cluster and runs on (online greedy clustering,
``prune_clusters.GreedyClusters``). The survivors run to the end and vote, each weighted
by the traces its cluster absorbed.

Where ours differs, and why: the paper's comparator is a judge model fine-tuned to
predict answer equivalence from partial traces. Here ``similarity: judge`` asks an agent
of the graph (any model on a stock server) the same question with a JSON verdict;
``similarity: answer`` calls two prefixes redundant when both already state the same
extracted answer (free, but only fires once traces state answers early), and
``similarity: text`` when their words overlap (Jaccard) by ``text_similarity`` — the
shallow measure the paper shows to be a weak predictor, offered because it costs no
call. Stopping a trace is closing its stream, which stops the generation on any
OpenAI-compatible server; its tokens up to there are counted. Arrivals are compared one
at a time (greedy clustering is sequential by nature); the comparisons of one arrival
with the clusters run concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.prune_clusters import (
    GreedyClusters,
    Placement,
    first_match,
    read_same,
    same_by_answer,
    same_by_text,
    survivor_vote,
)
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.segments import Trace
from orchestrator import BudgetExceeded, ChatMessage, StrategyOutcome

SAME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 160},
        "same": {"type": "boolean"},
    },
    "required": ["reason", "same"],
}

SAME_PROMPT = (
    "Question:\n{question}\n\nTwo reasoning traces for this question were cut off partway. "
    "Predict whether they will reach the same final answer.\n\nTrace A:\n{a}\n\nTrace B:\n{b}"
    '\n\nReply as JSON: {{"reason": "<one sentence>", "same": true | false}}.'
)


class PruneParams(BaseModel):
    """Settings of ``prune``."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=8, ge=2, le=64, description="Traces started.")
    prefix_tokens: int = Field(
        default=256, ge=1, le=8192, description="Tokens a trace writes before it is compared."
    )
    similarity: Literal["judge", "answer", "text"] = Field(
        default="judge",
        description="judge: an agent predicts same answer; answer: the prefixes state the "
        "same answer; text: word overlap.",
    )
    judge: str | None = Field(
        default=None, description="Agent that compares traces (similarity: judge)."
    )
    text_similarity: float = Field(
        default=0.6, gt=0.0, le=1.0, description="Word overlap that makes traces redundant."
    )
    keep_per_cluster: int = Field(
        default=1, ge=1, le=16, description="Traces of one cluster that run to the end."
    )
    clip_chars: int = Field(
        default=2000, ge=200, le=100_000, description="Characters of each prefix a judge sees."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find a finished trace's final answer."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    @model_validator(mode="after")
    def _consistent(self) -> PruneParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.judge is not None and self.similarity != "judge":
            raise ValueError(f"judge {self.judge!r} is only used with similarity: judge")
        return self


class _Prune:
    """One DeepPrune run: the traces, their clusters, the comparator, what stopped it."""

    def __init__(self, branches: Branches, params: PruneParams, messages: list[ChatMessage]):
        self.branches = branches
        self.judge = branches.or_agent(params.judge, param="params.judge")
        self.params = params
        self.messages = messages
        self.question = question_of(messages)
        self.traces = [Trace() for _ in range(params.n)]
        self.prefixes: dict[int, str] = {}
        self.clusters = GreedyClusters(params.keep_per_cluster)
        self.placements: dict[int, Placement] = {}
        self.lock = asyncio.Lock()
        self.comparisons = 0
        self.stop: BudgetExceeded | None = None

    async def same(self, a: str, b: str) -> bool:
        """Whether two prefixes are predicted to reach one answer (an unreadable verdict: no)."""
        p = self.params
        if p.similarity == "answer":
            return same_by_answer(a, b, p.extract, pattern=p.pattern, field=p.field)
        if p.similarity == "text":
            return same_by_text(a, b, p.text_similarity)
        prompt = SAME_PROMPT.format(
            question=self.question, a=clip(a, p.clip_chars), b=clip(b, p.clip_chars)
        )
        reply = await self.judge.text(
            [ChatMessage(role="user", content=prompt)], json_schema=SAME_SCHEMA, temperature=0.0
        )
        return read_same(reply) is True

    async def arrive(self, index: int, finished: bool) -> Placement:
        """Compare trace ``index``'s prefix with every cluster and place it (one at a time)."""
        prefix = self.traces[index].text
        async with self.lock:
            reps = self.clusters.representatives()
            self.comparisons += len(reps)
            verdicts, stop = await gather_within_budget(
                [self.same(prefix, self.prefixes[r]) for r in reps]
            )
            # A comparison the budget stopped agrees with nothing: the trace runs on.
            self.stop = self.stop or stop
            self.prefixes[index] = prefix
            placement = self.clusters.place(index, first_match(verdicts), finished=finished)
        self.placements[index] = placement
        return placement

    async def run_trace(self, index: int) -> None:
        """Stream one trace; at ``prefix_tokens`` it is placed, and closed if redundant."""
        trace = self.traces[index]
        placed = False
        stream = self.branches.stream(self.messages, temperature=self.params.temperature)
        try:
            async for chunk in stream:
                if chunk.delta:
                    trace.text += chunk.delta
                    trace.tokens += 1
                if chunk.finish_reason is not None:
                    trace.finished = True
                if placed or trace.finished or trace.tokens < self.params.prefix_tokens:
                    continue
                placed = True
                if await self.arrive(index, finished=False) == "pruned":
                    # Closing the stream stops the generation: the trace is redundant.
                    return
        finally:
            await stream.aclose()
        trace.finished = True
        if not placed:
            await self.arrive(index, finished=True)


async def run_prune(
    branches: Branches, params: PruneParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    run = _Prune(branches, params, messages)
    _, stop = await gather_within_budget([run.run_trace(i) for i in range(params.n)])
    run.stop = run.stop or stop
    weights = run.clusters.weights()
    answers = {
        i: extract_answer(
            run.traces[i].text, params.extract, pattern=params.pattern, field=params.field
        )
        for i in weights
    }
    if not answers and run.stop is not None:
        raise run.stop
    tally = survivor_vote(answers, weights)
    fallback = next((run.traces[i].text.strip() for i in weights), "")
    details: dict[str, Any] = {
        "similarity": params.similarity,
        "clusters": [[m + 1 for m in c.members] for c in run.clusters.clusters],
        "pruned": sorted(i + 1 for i, p in run.placements.items() if p == "pruned"),
        "survivors": sorted(i + 1 for i in weights),
        "comparisons": run.comparisons,
        "counts": dict(tally.counts),
        "weights": {k: round(v, 4) for k, v in tally.weights.items()},
        "branch_tokens": [t.tokens for t in run.traces],
    }
    return StrategyOutcome(
        answer=tally.winner if tally.winner is not None else fallback,
        candidates=[run.traces[i].text for i in weights],
        details=details,
        stopped_by=run.stop.budget if run.stop is not None else None,
    )


PRUNE = StrategyDef(
    name="prune",
    params=PruneParams,
    run=run_prune,
    paper="Tu et al. 2025, DeepPrune: Parallel Scaling without Inter-trace Redundancy "
    "(arXiv:2510.08483)",
    summary="N traces stream; each is compared early with one trace per cluster and stopped "
    "when predicted to reach an answer already carried; the survivors vote, weighted",
)
