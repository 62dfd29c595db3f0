"""``vote``: self-consistency and its confidence-aware and adaptive variants.

Self-consistency (Wang et al., 2023, arXiv:2203.11171) samples N reasoning paths and
majority-votes their final answers. Variants: votes weighted by trace confidence from
token logprobs and a most-confident-fraction filter ("Deep Think with Confidence", Fu et
al., 2025, arXiv:2508.15260); adaptive width that samples in waves and stops once the
leader cannot plausibly lose (Adaptive-Consistency, Aggarwal et al., 2023,
arXiv:2305.11860); and online pruning that streams each trace and closes the stream when
its sliding-window confidence falls under a threshold calibrated on warm-up traces
(DeepConf online).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.runtime import Branches, StrategyDef
from agents.strategies.vote_adaptive import should_stop, wave_sizes
from agents.strategies.vote_confidence import resolve_mode, token_confidences, trace_confidence
from agents.strategies.vote_pruning import warmup_then_prune
from agents.strategies.vote_tally import VoteResult, keep_top_fraction, majority_vote
from orchestrator import BudgetExceeded, ChatMessage, Choice, StrategyOutcome, TokenLogprob

Weighting = Literal["none", "mean", "lowest_group", "tail", "bottom_percent"]

EXTRACTOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 200}},
    "required": ["answer"],
}


class VoteParams(BaseModel):
    """Settings of ``vote``."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=8, ge=1, le=256, description="Samples (the most, when adaptive).")
    extract: ExtractMethod = Field(
        default="last_line", description="How to find a sample's final answer."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    extractor: str | None = Field(
        default=None, description="Agent that extracts each final answer (a model call)."
    )
    weight: Weighting = Field(
        default="none", description="Weight votes by trace confidence (DeepConf measure)."
    )
    window: int = Field(default=64, ge=1, le=8192, description="Confidence window in tokens.")
    keep_fraction: float = Field(
        default=1.0, gt=0.0, le=1.0, description="Vote with only the most confident fraction."
    )
    adaptive: bool = Field(default=False, description="Sample in waves; stop when decided.")
    stop_rule: Literal["beta", "dirichlet"] = Field(default="beta")
    threshold: float = Field(default=0.95, gt=0.5, lt=1.0, description="Stopping confidence.")
    first_wave: int = Field(default=4, ge=1, le=256, description="Samples in the first wave.")
    growth: float = Field(default=1.0, ge=1.0, le=4.0, description="Wave size growth factor.")
    min_samples: int = Field(default=3, ge=1, le=256, description="Never stop before this.")
    prune: bool = Field(default=False, description="Abort low-confidence traces while streaming.")
    warmup: int = Field(default=4, ge=1, le=64, description="Warm-up traces that set the bar.")
    keep_percent: float = Field(
        default=90.0, gt=0.0, le=100.0, description="Share of warm-up-like traces kept."
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    @property
    def uses_confidence(self) -> bool:
        """Whether traces are weighted or filtered by their confidence (needs logprobs)."""
        return self.weight != "none" or self.keep_fraction < 1.0

    @model_validator(mode="after")
    def _consistent(self) -> VoteParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.adaptive and self.prune:
            raise ValueError("adaptive and prune cannot both be on; pick one way to save samples")
        if self.prune and self.warmup >= self.n:
            raise ValueError(f"warmup {self.warmup} must be below n {self.n} when prune is on")
        return self


@dataclass
class _Trace:
    text: str
    logprobs: list[TokenLogprob] | None
    pruned: bool = False


def _confidence_weight(logprobs: Sequence[TokenLogprob] | None, params: VoteParams) -> float:
    """A non-negative vote weight from a trace's logprobs (exp of a chosen-token mean)."""
    if not logprobs:
        return 0.0
    mode = resolve_mode(logprobs, "auto")
    measure = "mean" if params.weight == "none" else params.weight
    value = trace_confidence(
        token_confidences(logprobs, mode), measure, window=params.window, tail=params.window
    )
    return math.exp(value) if mode == "chosen" else value


async def _answers(
    branches: Branches, params: VoteParams, traces: Sequence[_Trace]
) -> list[str | None]:
    if params.extractor is None:
        return [
            extract_answer(t.text, params.extract, pattern=params.pattern, field=params.field)
            for t in traces
        ]
    extractor = branches.with_agent(params.extractor, param="params.extractor")

    async def one(trace: _Trace) -> str | None:
        prompt = f"Give only the final answer stated in this text.\n\nText:\n{trace.text[-2000:]}"
        reply = await extractor.text(
            [ChatMessage(role="user", content=prompt)],
            json_schema=EXTRACTOR_SCHEMA,
            temperature=0.0,
        )
        return extract_answer(reply, "json_field", field="answer")

    return list(await asyncio.gather(*(one(t) for t in traces)))


def _traces(choices: Sequence[Choice]) -> list[_Trace]:
    return [_Trace(c.text, list(c.logprobs) if c.logprobs else None) for c in choices]


async def _fixed(
    branches: Branches, params: VoteParams, messages: list[ChatMessage]
) -> list[_Trace]:
    choices = await branches.sample(
        messages, params.n, logprobs=params.uses_confidence or None, temperature=params.temperature
    )
    return _traces(choices)


async def _adaptive(
    branches: Branches, params: VoteParams, messages: list[ChatMessage], details: dict[str, Any]
) -> list[_Trace]:
    traces: list[_Trace] = []
    waves = 0
    for size in wave_sizes(params.n, params.first_wave, params.growth):
        try:
            choices = await branches.sample(
                messages,
                size,
                logprobs=params.uses_confidence or None,
                temperature=params.temperature,
            )
        except BudgetExceeded as exc:
            if not traces:
                raise
            details["stopped_by"] = exc.budget
            break
        traces.extend(_traces(choices))
        waves += 1
        answers = await _answers(branches, params, traces)
        counts: dict[str, float] = {}
        for answer in answers:
            if answer is not None:
                counts[answer] = counts.get(answer, 0) + 1
        if should_stop(
            counts,
            params.stop_rule,
            params.threshold,
            min(params.min_samples, params.n),
            params.n,
            drawn=len(traces),
        ):
            break
    details["waves"] = waves
    return traces


async def _pruned(
    branches: Branches, params: VoteParams, messages: list[ChatMessage], details: dict[str, Any]
) -> list[_Trace]:
    plan = warmup_then_prune(
        params.n, warmup=params.warmup, keep_percent=params.keep_percent, window=params.window
    )
    warm = _traces(
        await branches.sample(messages, plan.warmup, logprobs=True, temperature=params.temperature)
    )
    threshold = plan.threshold([token_confidences(t.logprobs) for t in warm if t.logprobs])

    async def streamed() -> _Trace:
        pruner = plan.pruner(threshold)
        parts: list[str] = []
        logprobs: list[TokenLogprob] = []
        stream = branches.stream(messages, logprobs=True, temperature=params.temperature)
        try:
            async for chunk in stream:
                parts.append(chunk.delta)
                if chunk.logprobs:
                    logprobs.extend(chunk.logprobs)
                    if pruner.feed(chunk.logprobs) == "abort":
                        # Closing the stream stops the generation on the server.
                        return _Trace("".join(parts), logprobs, pruned=True)
        finally:
            await stream.aclose()
        return _Trace("".join(parts), logprobs)

    rest = await asyncio.gather(*(streamed() for _ in range(plan.pruned)))
    details["threshold"] = round(threshold, 4)
    details["pruned"] = sum(t.pruned for t in rest)
    return warm + [t for t in rest if not t.pruned]


async def run_vote(
    branches: Branches, params: VoteParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    details: dict[str, Any] = {}
    if params.prune:
        traces = await _pruned(branches, params, messages, details)
    elif params.adaptive:
        traces = await _adaptive(branches, params, messages, details)
    else:
        traces = await _fixed(branches, params, messages)
    stopped_by = details.pop("stopped_by", None)
    answers = await _answers(branches, params, traces)
    weights: list[float] | None = None
    if params.uses_confidence:
        scores = [_confidence_weight(t.logprobs, params) for t in traces]
        if params.keep_fraction < 1.0:
            kept = keep_top_fraction(list(range(len(traces))), scores, params.keep_fraction)
            answers = [answers[i] if i in kept else None for i in range(len(answers))]
        if params.weight != "none":
            weights = scores
    result: VoteResult = majority_vote(answers, weights)
    # With no extractable answer at all, fall back to the first trace's text.
    fallback = traces[0].text.strip() if traces else ""
    winner = result.winner if result.winner is not None else fallback
    details.update(
        counts=dict(result.counts),
        share=round(result.share, 4),
        votes=len(traces),
        abstained=result.abstained,
    )
    return StrategyOutcome(
        answer=winner,
        candidates=[t.text for t in traces],
        details=details,
        stopped_by=stopped_by,
    )


VOTE = StrategyDef(
    name="vote",
    params=VoteParams,
    run=run_vote,
    paper="Wang et al. 2023, Self-Consistency; Fu et al. 2025, DeepConf; Aggarwal et al. 2023, "
    "Adaptive-Consistency",
    summary="Sample N answers and take the majority (optionally confidence-weighted, adaptive, "
    "or with online pruning of low-confidence traces)",
)
