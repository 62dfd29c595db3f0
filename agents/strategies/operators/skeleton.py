"""``skeleton``: Skeleton-of-Thought, a short outline first, then every point at once.

Skeleton-of-Thought (Ning et al., 2023, "Skeleton-of-Thought: Prompting LLMs for
Efficient Parallel Generation", arXiv:2307.15337): one call writes a skeleton of a few
short points, every point is then expanded concurrently, and the expansions are put
together in skeleton order. The expansion requests all continue the same conversation
(question, skeleton) and differ only in their last message, so the model pool routes
them to one replica that reuses the shared prefix.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.strategies.prompting import ask
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.skeleton_points import (
    assemble,
    expansion_instruction,
    format_skeleton,
    parse_skeleton,
    skeleton_prompt,
)
from orchestrator import ChatMessage, ModelOutputError, StrategyOutcome

EXPANSION_LEAD = (
    "Now you're responsible for continuing the writing of one and only one point in the "
    "overall answer to the question.\n\n"
)


# Replies asked for before a skeleton without points fails the op.
SKELETON_ATTEMPTS = 2


def retry_temperature(base: float | None, attempt: int) -> float | None:
    """The temperature of attempt ``attempt``: the setting first, then 0.3 hotter (max 1.0)."""
    if attempt == 0:
        return base
    return min(1.0, (base if base is not None else 0.7) + 0.3)


def points_schema(max_points: int) -> dict[str, Any]:
    """The JSON schema of a skeleton: ``{"points": [...]}`` of short strings."""
    # A point starts with a letter or digit and holds no quote, backslash or newline: a
    # grammar-constrained small model cannot fill it with punctuation only (which reads as
    # no point at all) nor break the JSON string.
    point = {"type": "string", "pattern": r'^[A-Za-z0-9][^"\\\n]{2,118}$'}
    return {
        "type": "object",
        "properties": {
            "points": {"type": "array", "items": point, "minItems": 1, "maxItems": max_points}
        },
        "required": ["points"],
    }


class SkeletonParams(BaseModel):
    """Settings of ``skeleton``."""

    model_config = ConfigDict(extra="forbid")

    max_points: int = Field(default=6, ge=1, le=20, description="Points in the skeleton, at most.")
    skeleton_format: Literal["lines", "json"] = Field(
        default="lines",
        description="lines: numbered lines; json: a JSON list sent with its json_schema.",
    )
    expand_max_tokens: int | None = Field(
        default=None, ge=16, le=8192, description="Completion limit of each point's expansion."
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


async def run_skeleton(
    branches: Branches, params: SkeletonParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    as_json = params.skeleton_format == "json"
    question = question_of(messages)
    outline = ask(messages, skeleton_prompt(question, params.max_points, as_json=as_json))
    # Without a skeleton there is nothing to answer with: a budget stop here propagates.
    # A reply without points is asked for again once, a little hotter.
    points: list[str] = []
    reply = ""
    for attempt in range(SKELETON_ATTEMPTS):
        reply = await branches.text(
            outline,
            json_schema=points_schema(params.max_points) if as_json else None,
            temperature=retry_temperature(params.temperature, attempt),
        )
        points = parse_skeleton(reply, params.max_points)
        if points:
            break
    if not points:
        raise ModelOutputError(
            "skeleton: the model's skeleton has no points (numbered lines or a JSON list); "
            "use a model that follows the skeleton prompt, or skeleton_format: json",
            output=reply[:2000],
        )
    shared = [*outline, ChatMessage(role="assistant", content=format_skeleton(points))]

    async def expand(index: int) -> str:
        point = EXPANSION_LEAD + expansion_instruction(points, index)
        return await branches.text(
            [*shared, ChatMessage(role="user", content=point)],
            max_tokens=params.expand_max_tokens,
            temperature=params.temperature,
        )

    expansions, stop = await gather_within_budget([expand(i) for i in range(len(points))])
    details: dict[str, Any] = {
        "points": len(points),
        "expanded": sum(1 for e in expansions if e is not None and e.strip()),
        "skeleton": points,
    }
    return StrategyOutcome(
        assemble(points, expansions),
        [e for e in expansions if e is not None],
        details,
        stopped_by=stop.budget if stop is not None else None,
    )


SKELETON = StrategyDef(
    name="skeleton",
    params=SkeletonParams,
    run=run_skeleton,
    paper="Ning et al. 2023, Skeleton-of-Thought (arXiv:2307.15337)",
    summary="Write a skeleton of short points, expand every point concurrently, and assemble "
    "the expansions in order",
)
