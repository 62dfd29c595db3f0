"""``aggregate`` and ``moa``: merge several candidate answers into one better answer.

``aggregate`` samples a population of candidates in one request and has an aggregator
agent synthesize them; with ``rounds > 0`` it is Recursive Self-Aggregation
(Venkatraman et al., 2025, arXiv:2509.26626): each round builds a new population whose
members each aggregate a random subset of the previous one. ``moa`` is Mixture-of-Agents
(Wang et al., 2024, arXiv:2406.04692): layers of proposers, each seeing the previous
layer's outputs, then an aggregator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.aggregation_population import (
    aggregation_prompt,
    check_population,
    layer_inputs,
    sample_subsets,
)
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.prompting import ask, in_persona, with_references
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget
from agents.strategies.semantic_entropy import (
    EntropyStopParams,
    entropy_says_stop,
    semantic_entropy,
)
from agents.strategies.vote_tally import majority_vote
from orchestrator import BudgetExceeded, ChatMessage, ModelOutputError, StrategyOutcome

T = TypeVar("T")


class AggregateParams(EntropyStopParams):
    """Settings of ``aggregate`` (``stop_entropy`` ends RSA rounds once the population agrees)."""

    model_config = ConfigDict(extra="forbid")

    population: int = Field(
        default=4, ge=1, le=64, description="Candidates sampled in one request (RSA's K)."
    )
    aggregator: str | None = Field(
        default=None, description="Agent that aggregates; None: the node's agent."
    )
    rounds: int = Field(
        default=0, ge=0, le=16, description="RSA rounds T; 0: one aggregation of the candidates."
    )
    subset: int = Field(
        default=3, ge=1, le=64, description="Members each RSA aggregation merges (k)."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of the subset draws.")
    final: Literal["aggregate", "vote"] = Field(
        default="aggregate", description="Final answer: aggregate the last population, or vote."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find a candidate's final answer (final: vote)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    max_candidate_chars: int = Field(
        default=4000, ge=200, le=100_000, description="Each candidate is cut to this in a prompt."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the first population."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AggregateParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.rounds > 0:
            check_population(self.population, self.subset)
        return self


def _entropy(texts: Sequence[str], params: AggregateParams | MoaParams) -> float:
    """The population's normalized semantic entropy (``semantic_entropy``)."""
    return semantic_entropy(
        texts,
        params.entropy_by,
        extract=params.extract,
        pattern=params.pattern,
        field=params.field,
        similarity=params.entropy_similarity,
    )


def _vote(texts: Sequence[str], params: AggregateParams) -> tuple[str, dict[str, Any]]:
    """The majority of the candidates' extracted answers (the first candidate if none has one)."""
    answers = [
        extract_answer(text, params.extract, pattern=params.pattern, field=params.field)
        for text in texts
    ]
    result = majority_vote(answers)
    winner = result.winner if result.winner is not None else texts[0].strip()
    return winner, {"counts": dict(result.counts), "share": round(result.share, 4)}


async def run_aggregate(
    branches: Branches, params: AggregateParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    aggregator = branches.or_agent(params.aggregator, param="params.aggregator")
    question = messages[-1].content

    async def merge(candidates: Sequence[str]) -> str:
        clipped = [clip(c, params.max_candidate_chars) for c in candidates]
        return await aggregator.text(ask(messages, aggregation_prompt(question, clipped)))

    choices = await branches.sample(messages, params.population, temperature=params.temperature)
    population = [choice.text for choice in choices]
    rng = random.Random(params.seed)
    subsets: list[list[list[int]]] = []
    stopped: BudgetExceeded | None = None
    entropies: list[float] = []
    agreed = False
    for _ in range(params.rounds):
        if params.stop_entropy is not None:
            entropies.append(_entropy(population, params))
            agreed = entropy_says_stop(entropies[-1], params.stop_entropy)
            if agreed:
                break
        drawn = sample_subsets(len(population), params.subset, params.population, rng)
        subsets.append([list(s) for s in drawn])
        members, stopped = await gather_within_budget(
            [merge([population[i] for i in subset]) for subset in drawn]
        )
        finished = [m for m in members if m is not None]
        if stopped is not None:
            # Anytime: the members this round finished are the most refined there are.
            population = finished or population
            break
        population = finished
    details: dict[str, Any] = {
        "mode": "rsa" if params.rounds else "aggregate",
        "population": len(population),
        "rounds_run": len(subsets) - (1 if stopped is not None else 0),
        "subsets": subsets,
        "final": params.final,
    }
    if params.stop_entropy is not None:
        details.update(entropy=[round(e, 4) for e in entropies], stopped_by_entropy=agreed)
    answer: str | None = None
    if params.final == "aggregate" and stopped is None:
        try:
            answer = await merge(population)
        except BudgetExceeded as exc:
            stopped = exc
    if answer is None:
        answer, tally = _vote(population, params)
        details.update(tally, final="vote")
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=population,
        details=details,
        stopped_by=stopped.budget if stopped is not None else None,
    )


class MoaParams(EntropyStopParams):
    """Settings of ``moa`` (``stop_entropy`` skips the remaining layers once proposers agree)."""

    model_config = ConfigDict(extra="forbid")

    layers: int = Field(default=2, ge=1, le=8, description="Layers of proposers (L).")
    proposers: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="Agents proposing in every layer (may use different models); "
        "None: the node's agent, width times.",
    )
    width: int = Field(
        default=3, ge=1, le=16, description="Proposers per layer when proposers is not given."
    )
    aggregator: str | None = Field(
        default=None, description="Agent that writes the final answer; None: the node's agent."
    )
    max_reference_chars: int = Field(
        default=3000, ge=200, le=100_000, description="Each reference is cut to this in a prompt."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the proposers."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find an output's answer (entropy_by: answer)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")

    @model_validator(mode="after")
    def _one_way_to_size(self) -> MoaParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.proposers is not None and "width" in self.model_fields_set:
            raise ValueError(
                "give proposers (a list of agents) or width (copies of the node's agent), not both"
            )
        return self


async def run_moa(
    branches: Branches, params: MoaParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    names = params.proposers or [""] * params.width
    # Proposers of one agent share each layer's prompt: one request with n per agent.
    groups: dict[str, Branches] = {
        name: branches.or_agent(name or None, param="params.proposers")
        for name in dict.fromkeys(names)
    }
    counts = {name: names.count(name) for name in groups}
    aggregator = branches.or_agent(params.aggregator, param="params.aggregator")
    previous: list[str | None] = []
    references_seen: list[int] = []
    stopped: BudgetExceeded | None = None
    entropies: list[float] = []
    agreed = False
    for layer in range(params.layers):
        references = layer_inputs(previous, layer)
        replies, stopped = await gather_within_budget(
            [
                group.sample(
                    with_references(
                        in_persona(messages, group.agent) if name else messages,
                        references,
                        params.max_reference_chars,
                    ),
                    counts[name],
                    temperature=params.temperature,
                )
                for name, group in groups.items()
            ]
        )
        by_agent = {
            name: [c.text for c in choices] if choices is not None else []
            for name, choices in zip(groups, replies, strict=True)
        }
        outputs: list[str | None] = []
        for name in names:
            pending = by_agent[name]
            outputs.append(pending.pop(0) if pending else None)
        if stopped is not None and all(o is None for o in outputs):
            if layer == 0:
                raise stopped
            break
        previous = outputs
        references_seen.append(len(references))
        if stopped is not None:
            break
        if params.stop_entropy is not None and layer + 1 < params.layers:
            entropies.append(_entropy([o for o in outputs if o is not None], params))
            agreed = entropy_says_stop(entropies[-1], params.stop_entropy)
            if agreed:
                break
    final_refs = layer_inputs(previous, 1)
    details: dict[str, Any] = {
        "layers_run": len(references_seen),
        "proposers": [name or "(node agent)" for name in names],
        "references_per_layer": references_seen,
    }
    if params.stop_entropy is not None:
        details.update(entropy=[round(e, 4) for e in entropies], stopped_by_entropy=agreed)
    answer: str | None = None
    if stopped is None:
        try:
            answer = await aggregator.text(
                with_references(messages, final_refs, params.max_reference_chars)
            )
        except BudgetExceeded as exc:
            stopped = exc
    details["aggregated"] = answer is not None
    if answer is None:
        if not final_refs:
            raise ModelOutputError(
                f"moa: every proposer of layer {len(references_seen)} returned an empty answer "
                f"and the budget ({stopped.budget if stopped else 'none'}) leaves no aggregation; "
                "check the proposers' model or raise the budget",
                output="",
            )
        answer = final_refs[0]
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=final_refs,
        details=details,
        stopped_by=stopped.budget if stopped is not None else None,
    )


AGGREGATE = StrategyDef(
    name="aggregate",
    params=AggregateParams,
    run=run_aggregate,
    paper="Venkatraman et al. 2025, Recursive Self-Aggregation (arXiv:2509.26626)",
    summary="Sample a population of candidates and aggregate them into a better one "
    "(recursively, on random subsets, for RSA)",
)

MOA = StrategyDef(
    name="moa",
    params=MoaParams,
    run=run_moa,
    paper="Wang et al. 2024, Mixture-of-Agents (arXiv:2406.04692)",
    summary="Layers of proposers, each seeing the previous layer's answers, then an aggregator",
)
