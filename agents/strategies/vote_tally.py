"""Vote counting for self-consistency and universal self-consistency.

Majority vote over extracted answers (Wang et al., 2023, "Self-Consistency Improves Chain
of Thought Reasoning"), optionally weighted by trace confidence and restricted to the
most confident traces (Fu et al., 2025, "Deep Think with Confidence"), and the pure half
of universal self-consistency (Chen et al., 2023), where a model picks the most
consistent of several free-form answers. Standard library and pydantic only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from orchestrator import ConfigError

T = TypeVar("T")

# Weighted totals that differ by less than this (relative) count as a tie.
_TIE_TOLERANCE = 1e-12


class VoteResult(BaseModel):
    """Outcome of a vote: the winner and the tally, answers in first-seen order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    winner: str | None
    counts: dict[str, int]
    weights: dict[str, float]
    margin: float
    total: float
    abstained: int = 0

    @property
    def share(self) -> float:
        """The winner's fraction of the total (weighted) vote; 0 when nobody voted."""
        if self.winner is None or self.total <= 0:
            return 0.0
        return self.weights[self.winner] / self.total

    @property
    def unanimous(self) -> bool:
        """True when at least one answer was given and all given answers agree."""
        return len(self.counts) == 1


def majority_vote(
    answers: Sequence[str | None], weights: Sequence[float] | None = None
) -> VoteResult:
    """Plurality vote over answers (self-consistency, Wang et al., 2023).

    ``None`` answers abstain. With ``weights`` (e.g. DeepConf trace confidences, Fu et
    al., 2025) each answer's score is the sum of its voters' weights, otherwise its
    count. Ties go to the answer seen first, so the result is deterministic. ``margin``
    is the winner's score minus the runner-up's (the winner's whole score if unopposed).
    """
    if weights is not None and len(weights) != len(answers):
        raise ValueError(
            f"majority_vote got {len(answers)} answers but {len(weights)} weights; "
            "pass one weight per answer"
        )
    counts: dict[str, int] = {}
    scores: dict[str, float] = {}
    abstained = 0
    for i, answer in enumerate(answers):
        if answer is None:
            abstained += 1
            continue
        weight = 1.0 if weights is None else float(weights[i])
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(
                f"vote weight {weight!r} for answer {answer!r} must be finite and >= 0; "
                "map confidences to non-negative weights first"
            )
        counts[answer] = counts.get(answer, 0) + 1
        scores[answer] = scores.get(answer, 0.0) + weight
    total = math.fsum(scores.values())
    if not scores:
        return VoteResult(
            winner=None, counts={}, weights={}, margin=0.0, total=0.0, abstained=abstained
        )
    ranked = _rank(scores)
    winner = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return VoteResult(
        winner=winner,
        counts=counts,
        weights=scores,
        margin=scores[winner] - runner_up,
        total=total,
        abstained=abstained,
    )


def _rank(scores: dict[str, float]) -> list[str]:
    """Answers by score, highest first; near-equal scores keep first-seen order."""
    order = {answer: i for i, answer in enumerate(scores)}
    top = max(scores.values())
    scale = max(abs(top), 1.0)

    def key(answer: str) -> tuple[float, int]:
        score = scores[answer]
        if abs(score - top) <= _TIE_TOLERANCE * scale:
            score = top
        return (-score, order[answer])

    return sorted(scores, key=key)


def top_fraction_indices(scores: Sequence[float], fraction: float) -> list[int]:
    """Indices of the ``ceil(fraction * len)`` highest scores, in their original order.

    DeepConf's filtering (Fu et al., 2025) keeps the top eta% most confident traces;
    equal scores keep the earlier trace.
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(
            f"keep fraction {fraction!r} is out of range; use a value in (0, 1], "
            "e.g. 0.1 to keep the 10% most confident traces"
        )
    if not scores:
        return []
    keep = max(1, math.ceil(round(fraction * len(scores), 9)))
    by_score = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(by_score[:keep])


def keep_top_fraction(items: Sequence[T], scores: Sequence[float], fraction: float) -> list[T]:
    """The items whose scores are in the top ``fraction`` (at least one), in original order.

    Implements DeepConf's confidence filtering (Fu et al., 2025) before the vote.
    """
    if len(items) != len(scores):
        raise ValueError(
            f"keep_top_fraction got {len(items)} items but {len(scores)} scores; "
            "pass one score per item"
        )
    return [items[i] for i in top_fraction_indices(scores, fraction)]


_SELECTION_PHRASE_RE = re.compile(
    r"most\s+consistent\s+response\s+is\s*:?\s*(?:response\s*)?#?\s*(\d+)", re.IGNORECASE
)
_RESPONSE_RE = re.compile(r"response\s*#?\s*(\d+)", re.IGNORECASE)
_BARE_RE = re.compile(r"^\W*(\d+)\W*$")

SELECTION_INSTRUCTION = (
    "Evaluate these responses. Select the most consistent response based on majority "
    'consensus. Start your answer with "The most consistent response is Response X" '
    "(without quotes), where X is its number."
)


def format_candidates_for_selection(candidates: Sequence[str]) -> str:
    """Numbered block of candidates ("Response 1: ...") for universal self-consistency.

    Universal self-consistency (Chen et al., 2023) shows a model all sampled responses
    and asks which one is most consistent with the others; numbering starts at 1.
    """
    return "\n\n".join(
        f"Response {i}:\n{candidate.strip()}" for i, candidate in enumerate(candidates, 1)
    )


def parse_selection(text: str, n: int) -> int | None:
    """The 0-based index of the candidate a model picked, or None if it named none.

    Reads the reply to ``SELECTION_INSTRUCTION`` (universal self-consistency, Chen et
    al., 2023): "The most consistent response is Response k" first, else the last
    "Response k" mentioned, else a bare number; numbers outside 1..n are ignored.
    """
    if n <= 0:
        return None

    def valid(number: str) -> int | None:
        value = int(number)
        return value - 1 if 1 <= value <= n else None

    for match in _SELECTION_PHRASE_RE.finditer(text):
        picked = valid(match.group(1))
        if picked is not None:
            return picked
    for match in reversed(list(_RESPONSE_RE.finditer(text))):
        picked = valid(match.group(1))
        if picked is not None:
            return picked
    bare = _BARE_RE.match(text.strip())
    return valid(bare.group(1)) if bare else None
