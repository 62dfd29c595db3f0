"""The LLM judge's pointwise score (1..10 against a rubric) of an answer or of one step.

Shared by ``best_of_n``, ``got`` and ``tree_search``'s value prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.common import clip
from agents.strategies.judges_scores import read_score
from agents.strategies.runtime import Branches
from orchestrator import ChatMessage

DEFAULT_RUBRIC = "Correct, complete and clearly reasoned; a wrong final answer scores low."

SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 300},
        "score": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["reason", "score"],
}

JUDGE_SYSTEM = "You are a strict, fair grader. Judge only what is written."


class JudgeScorer:
    """Pointwise LLM-judge scores (1..10 against a rubric) of whole answers or of steps."""

    def __init__(self, judge: Branches, question: str, rubric: str, clip_chars: int) -> None:
        self.judge = judge
        self.question = question
        self.rubric = rubric
        self.clip_chars = clip_chars
        self.unreadable: list[str] = []

    async def _ask(self, prompt: str) -> float | None:
        messages = [
            ChatMessage(role="system", content=self.judge.agent.system or JUDGE_SYSTEM),
            ChatMessage(role="user", content=prompt),
        ]
        reply = await self.judge.text(messages, json_schema=SCORE_SCHEMA, temperature=0.0)
        score = read_score(reply)
        if score is None:
            self.unreadable.append(reply)
        return score

    async def score(self, response: str) -> float | None:
        """The judge's 1..10 score of ``response``, or None when its reply is unreadable."""
        return await self._ask(
            f"Question:\n{self.question}\n\nResponse:\n{clip(response, self.clip_chars)}\n\n"
            f"Rubric: {self.rubric}\n\nRate the response against the rubric from 1 (worst) "
            f'to 10 (best). Reply as JSON: {{"reason": "<one sentence>", "score": <1-10>}}.'
        )

    async def score_step(
        self, steps: Sequence[str], _prefixes: Sequence[str], index: int
    ) -> float | None:
        """The judge's 1..10 score of step ``index`` given the steps before it."""
        before = "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(steps[:index])) or "(none)"
        return await self._ask(
            f"Question:\n{self.question}\n\nSteps so far:\n{clip(before, self.clip_chars)}\n\n"
            f"Next step (step {index + 1}):\n{clip(steps[index], self.clip_chars)}\n\n"
            f"Rubric: {self.rubric}\n\nRate only the next step: is it correct and does it "
            f"move toward the answer? From 1 (wrong) to 10 (certainly right). Reply as JSON: "
            f'{{"reason": "<one sentence>", "score": <1-10>}}.'
        )
