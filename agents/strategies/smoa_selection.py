"""Sparse Mixture-of-Agents' pure parts: proposer roles and the judge's top-k selection.

SMoA (Li et al., 2024, arXiv:2411.03284) sparsifies Mixture-of-Agents: a judge forwards
only the ``k`` best responses of a layer to the next, a moderator may end the layers
early, and each proposer gets a distinct role description for diverse thinking. Pure:
no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from agents.strategies.aggregation_population import format_references

ROLES = (
    "You are a meticulous mathematician: you check every step and every number.",
    "You are a pragmatic engineer: you look for the simplest solution that works.",
    "You are a skeptical reviewer: you look for mistakes and unstated assumptions.",
    "You are a teacher: you explain the reasoning clearly, step by step.",
    "You are a lateral thinker: you try an unusual angle before the obvious one.",
    "You are a domain expert: you rely on precise facts and definitions.",
    "You are a careful estimator: you sanity-check the answer's size and units.",
    "You are a concise analyst: you state the key facts and the conclusion.",
)

SELECT_PROMPT = (
    "Question:\n{question}\n\nResponses:\n\n{responses}\n\nSelect the {k} best "
    "response(s): correct, well reasoned and helpful. Reply with JSON: "
    '{{"selected": [numbers of the responses, best first], "reason": "one sentence"}}.'
)

_RESPONSE = re.compile(r"response\s*#?\s*(\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"\b(\d+)\b")


def role_prompt(index: int) -> str:
    """The role description of proposer ``index`` (0-based); roles repeat past the list."""
    return ROLES[index % len(ROLES)]


def selection_schema(n: int, k: int) -> dict[str, Any]:
    """The judge's reply: 1..``k`` distinct response numbers in 1..``n``, and a reason."""
    return {
        "type": "object",
        "properties": {
            "selected": {
                "type": "array",
                "minItems": 1,
                "maxItems": k,
                "items": {"type": "integer", "minimum": 1, "maximum": n},
            },
            "reason": {"type": "string", "maxLength": 300},
        },
        "required": ["selected"],
    }


def selection_prompt(question: str, responses: Sequence[str], k: int) -> str:
    return SELECT_PROMPT.format(
        question=question.strip(), responses=format_references(responses), k=k
    )


def _numbers(text: str) -> list[int]:
    stripped = text.strip()
    start = stripped.find("{")
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped, start)
        except json.JSONDecodeError:
            value = None
        picked = value.get("selected") if isinstance(value, dict) else None
        if isinstance(picked, list):
            return [v for v in picked if isinstance(v, int) and not isinstance(v, bool)]
    named = [int(m.group(1)) for m in _RESPONSE.finditer(stripped)]
    return named or [int(m.group(1)) for m in _NUMBER.finditer(stripped)]


def parse_selection_list(text: str, n: int, k: int) -> list[int]:
    """The 0-based indices the judge selected: distinct, within 1..n, the first ``k``.

    Read from the JSON ``selected`` list, else "Response i" mentions, else bare numbers;
    an empty list when the reply names no valid response.
    """
    chosen: list[int] = []
    for number in _numbers(text):
        if 1 <= number <= n and number - 1 not in chosen:
            chosen.append(number - 1)
        if len(chosen) == k:
            break
    return chosen


def forwarded(responses: Sequence[str | None], selected: Sequence[int], k: int) -> list[int]:
    """The indices forwarded to the next layer: the judge's picks among the non-empty
    responses, topped up in order to ``k`` when it picked fewer (or none readable)."""
    present = [i for i, text in enumerate(responses) if text is not None and text.strip()]
    picks = [i for i in selected if i in present][:k]
    for index in present:
        if len(picks) >= k:
            break
        if index not in picks:
            picks.append(index)
    return picks
