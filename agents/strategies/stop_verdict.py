"""An LLM's decision to stop refining: its prompt, JSON schema and a tolerant reader.

Shared by the operators whose rounds end when a model says the answers are good enough
(``smoa``'s moderator, ``tumix``'s judge). Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from agents.strategies.aggregation_population import format_references

STOP_PROMPT = (
    "Question:\n{question}\n\nThe current answers, after round {round} of refinement:\n\n"
    "{responses}\n\nIs another round of refinement unlikely to change the final answer "
    "(the answers agree, or the best one is clearly right)? Reply with JSON: "
    '{{"stop": true or false, "reason": "one sentence"}}.'
)

_WORD = re.compile(r"\b(stop|yes|true|continue|no|false)\b", re.IGNORECASE)
_STOP_WORDS = {"stop", "yes", "true"}
# The JSON key itself is not a verdict.
_STOP_KEY = re.compile(r'"stop"\s*:', re.IGNORECASE)


def stop_schema() -> dict[str, Any]:
    """The JSON schema of a stop verdict: a boolean and a short reason."""
    return {
        "type": "object",
        "properties": {
            "stop": {"type": "boolean"},
            "reason": {"type": "string", "maxLength": 300},
        },
        "required": ["stop"],
    }


def stop_prompt(question: str, responses: Sequence[str], round_number: int) -> str:
    """The prompt asking whether refinement may stop after ``round_number`` rounds."""
    return STOP_PROMPT.format(
        question=question.strip(),
        round=round_number,
        responses=format_references(responses),
    )


def parse_stop(text: str) -> bool | None:
    """The verdict in a reply: its JSON ``stop`` field, else the first yes/no-like word.

    None when the reply says neither (the caller goes on refining).
    """
    stripped = text.strip()
    start = stripped.find("{")
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            verdict = value.get("stop")
            if isinstance(verdict, bool):
                return verdict
            if isinstance(verdict, str):
                stripped = verdict
    match = _WORD.search(_STOP_KEY.sub(" ", stripped))
    if match is None:
        return None
    return match.group(1).lower() in _STOP_WORDS
