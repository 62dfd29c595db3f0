"""Semantic entropy of a population of answers, and the rule that stops further rounds on it.

Adaptive termination (Xu et al. 2025, "Adaptive Termination for Multi-round Parallel
Reasoning: An Universal Semantic Entropy-Guided Framework", arXiv:2507.06829) clusters a
round's parallel answers by meaning and measures the entropy of the cluster frequencies:
low entropy (the population agrees) correlates with accuracy, so further rounds are
skipped once it falls below a threshold.

How answers are clustered, and where this differs from the paper:

- ``by: answer`` — each text is reduced to its canonical final answer by ``extract.py``
  (the same extraction the votes use), and equal answers form a cluster. This is the
  paper's clustering for short answers (math): answer equivalence. A text with no
  extractable answer is a cluster of its own (it agrees with nobody), so a population
  that states no answers has the highest entropy and never stops early.
- ``by: text`` — for free-form answers: greedy clustering by normalized-text similarity
  (the Jaccard overlap of the texts' case-folded words, at least ``similarity``). The
  paper clusters free text by bidirectional entailment with an NLI model; that costs a
  model call per pair (or an NLI model the stock servers do not serve), so this uses
  the cheap lexical proxy and says so.
- The entropy is normalized by ``ln(population)`` to [0, 1] (0: all in one cluster;
  1: all different), so one threshold means the same for any population size; the
  paper thresholds the raw entropy (in nats), whose range grows with the population.

Standard library and pydantic only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.strategies.extract import ExtractMethod, extract_answer

EntropyBy = Literal["answer", "text"]

_WORD = re.compile(r"\w+")


class EntropyStopParams(BaseModel):
    """Params of semantic-entropy termination, shared by the multi-round operators."""

    model_config = ConfigDict(extra="forbid")

    stop_entropy: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Stop further rounds once the normalized semantic entropy of the current "
        "answers is below this (0: all agree, 1: all differ); None: never.",
    )
    entropy_by: EntropyBy = Field(
        default="answer",
        description="Cluster answers by their extracted final answer, or by text similarity.",
    )
    entropy_similarity: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="Word overlap (Jaccard) at which two texts share a cluster (by: text).",
    )


def words(text: str) -> frozenset[str]:
    """The case-folded words of ``text`` (punctuation and spacing dropped)."""
    return frozenset(_WORD.findall(text.casefold()))


def text_similarity(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' words, in [0, 1]; two empty texts are equal (1)."""
    left, right = words(a), words(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def cluster_texts(texts: Sequence[str], similarity: float) -> list[int]:
    """A cluster label per text: each joins the first cluster whose first member is similar.

    Greedy and order-dependent (the first text of a cluster represents it), so the
    result is deterministic; ``similarity`` is the least Jaccard overlap that joins.
    """
    if not 0.0 < similarity <= 1.0:
        raise ValueError(f"similarity {similarity!r} must be in (0, 1]")
    representatives: list[str] = []
    labels: list[int] = []
    for text in texts:
        similar = (
            i for i, rep in enumerate(representatives) if text_similarity(text, rep) >= similarity
        )
        label = next(similar, None)
        if label is None:
            label = len(representatives)
            representatives.append(text)
        labels.append(label)
    return labels


def cluster_answers(answers: Sequence[str | None]) -> list[int]:
    """A cluster label per answer: equal answers share one; each missing answer is alone."""
    index: dict[str, int] = {}
    labels: list[int] = []
    singles = 0
    for answer in answers:
        if answer is None:
            labels.append(-1 - singles)
            singles += 1
            continue
        labels.append(index.setdefault(answer, len(index)))
    return labels


def cluster_sizes(labels: Sequence[int]) -> list[int]:
    """How many members each cluster has, in first-seen order."""
    sizes: dict[int, int] = {}
    for label in labels:
        sizes[label] = sizes.get(label, 0) + 1
    return list(sizes.values())


def entropy(sizes: Sequence[int]) -> float:
    """Shannon entropy (nats) of the cluster frequencies ``sizes``; 0 for none or one cluster."""
    if any(size < 0 for size in sizes):
        raise ValueError(f"cluster sizes {list(sizes)!r} must be >= 0")
    total = sum(sizes)
    if total == 0:
        return 0.0
    return -math.fsum(s / total * math.log(s / total) for s in sizes if s > 0)


def normalized_entropy(sizes: Sequence[int]) -> float:
    """``entropy`` divided by its maximum ``ln(members)``: 0 (one cluster) to 1 (all apart)."""
    total = sum(sizes)
    if total <= 1:
        return 0.0
    return min(1.0, entropy(sizes) / math.log(total))


def semantic_entropy(
    texts: Sequence[str],
    by: EntropyBy,
    *,
    extract: ExtractMethod = "last_line",
    pattern: str | None = None,
    field: str | None = None,
    similarity: float = 0.8,
) -> float:
    """The normalized semantic entropy of ``texts``, clustered by answer or by text."""
    if by == "answer":
        answers = [extract_answer(t, extract, pattern=pattern, field=field) for t in texts]
        labels = cluster_answers(answers)
    else:
        labels = cluster_texts(texts, similarity)
    return normalized_entropy(cluster_sizes(labels))


def entropy_says_stop(value: float, threshold: float | None) -> bool:
    """Whether a round whose population has entropy ``value`` ends the rounds (strictly below)."""
    return threshold is not None and value < threshold
