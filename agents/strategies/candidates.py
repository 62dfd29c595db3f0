"""Drawing the candidates that judges, brackets and graphs of thoughts choose among.

``CandidateParams`` holds the params every candidate-choosing operator shares (how each
candidate is produced and how much of it a judge sees); ``draw_candidates`` produces them,
as one request with ``n`` samples or as ``n`` concurrent runs of an ``inner`` strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from agents.strategies.runtime import Branches, gather_within_budget
from orchestrator import ChatMessage, InnerOp


class CandidateParams(BaseModel):
    """Params shared by the operators that choose among candidates."""

    model_config = ConfigDict(extra="forbid")

    clip_chars: int = Field(
        default=3000, ge=200, le=100_000, description="Characters of each candidate shown."
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    inner: InnerOp | None = Field(
        default=None, description="Strategy that produces each candidate (default: one sample)."
    )


@dataclass
class Candidates:
    """Candidate answers, and the budget that stopped their drawing early (if any)."""

    texts: list[str]
    stopped_by: str | None = None


async def draw_candidates(
    branches: Branches,
    messages: list[ChatMessage],
    n: int,
    *,
    inner: InnerOp | None,
    temperature: float | None,
) -> Candidates:
    """``n`` answers: one request with ``n`` samples, or ``n`` concurrent ``inner`` runs.

    With ``inner``, the answers drawn before a budget stop are kept; with none at all
    the stop is raised (there is nothing to choose from).
    """
    if inner is None:
        choices = await branches.sample(messages, n, temperature=temperature)
        return Candidates([c.text for c in choices])
    answers, stop = await gather_within_budget(
        [branches.solve(messages, inner, temperature=temperature) for _ in range(n)]
    )
    texts = [a for a in answers if a is not None]
    if stop is not None and not texts:
        raise stop
    return Candidates(texts, stop.budget if stop else None)
