"""Population plumbing for recursive self-aggregation and Mixture-of-Agents.

Recursive Self-Aggregation (Venkatraman et al., 2025, "Recursive Self-Aggregation
Unlocks Deep Thinking in Large Language Models") keeps a population of N candidates and
builds each member of the next population by aggregating a random subset of k of
them, for T rounds. Mixture-of-Agents (Wang et al., 2024, "Mixture-of-Agents Enhances
Large Language Model Capabilities") feeds every output of layer i-1 to each proposer
of layer i. Standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from orchestrator import ConfigError

AGGREGATE_INSTRUCTION = (
    "You have been provided with a set of responses from various models to the latest "
    "user query. Your task is to synthesize these responses into a single, high-quality "
    "response. Critically evaluate the information provided in these responses, "
    "recognizing that some of it may be biased or incorrect. Do not simply replicate the "
    "given answers; offer a refined, accurate and comprehensive reply."
)
"""The aggregate-and-synthesize instruction of Mixture-of-Agents (Wang et al., 2024)."""

RSA_INSTRUCTION = (
    "Below are several candidate solutions to the problem. Some may be wrong. Compare "
    "them, keep the correct reasoning steps, fix the errors, and write one improved, "
    "complete solution that ends with the final answer."
)
"""The aggregation instruction for recursive self-aggregation (Venkatraman et al., 2025)."""


def check_population(population_size: int, k: int) -> None:
    """Reject an RSA setting that cannot work, naming the valid range."""
    if population_size < 1:
        raise ConfigError(f"population size {population_size!r} must be >= 1; e.g. population: 8")
    if not 1 <= k <= population_size:
        raise ConfigError(
            f"subset size k={k!r} must be between 1 and the population size "
            f"{population_size}; e.g. k: 3"
        )


def sample_subsets(
    population_size: int, k: int, count: int, rng: random.Random
) -> list[tuple[int, ...]]:
    """``count`` random k-subsets of ``range(population_size)``, one per new member.

    Each subset holds k distinct indices in random order (so no candidate is always
    shown first); subsets are drawn independently, as in RSA.
    """
    check_population(population_size, k)
    if count < 0:
        raise ConfigError(f"subset count {count!r} must be >= 0")
    return [tuple(rng.sample(range(population_size), k)) for _ in range(count)]


def format_references(candidates: Sequence[str], label: str = "Response") -> str:
    """Numbered candidates ("Response 1: ...") for an aggregation prompt, blanks dropped."""
    kept = [c.strip() for c in candidates if c.strip()]
    return "\n\n".join(f"{label} {i}:\n{text}" for i, text in enumerate(kept, 1))


def aggregation_prompt(
    question: str, candidates: Sequence[str], instruction: str = RSA_INSTRUCTION
) -> str:
    """The user prompt asking a model to merge ``candidates`` into one better answer."""
    return (
        f"{instruction}\n\nProblem:\n{question.strip()}\n\n"
        f"{format_references(candidates, 'Candidate')}\n\nImproved solution:"
    )


def layer_inputs(previous_outputs: Sequence[str | None], layer_index: int) -> list[str]:
    """The reference responses a Mixture-of-Agents layer's proposers see.

    Layer 0 answers from the question alone (no references); layer i > 0 sees every
    non-empty output of layer i - 1, in proposer order (failed proposers dropped).
    """
    if layer_index < 0:
        raise ValueError(f"layer index {layer_index!r} must be >= 0")
    if layer_index == 0:
        return []
    return [text.strip() for text in previous_outputs if text is not None and text.strip()]


def moa_system_prompt(references: Sequence[str]) -> str | None:
    """The MoA system prompt carrying ``references``, or None when there are none."""
    if not references:
        return None
    return f"{AGGREGATE_INSTRUCTION}\n\nResponses from models:\n{format_references(references)}"
