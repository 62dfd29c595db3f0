"""Prompt shapes every operator builds on: ask a new question, speak as a persona, cite references.

Pure functions over the conversation (``ChatMessage`` lists), shared by the operators so
that no operator module imports another.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.common import clip
from agents.strategies.aggregation_population import moa_system_prompt
from orchestrator import AgentSpec, ChatMessage


def ask(messages: Sequence[ChatMessage], prompt: str) -> list[ChatMessage]:
    """The conversation with its last user message (the question) replaced by ``prompt``."""
    return [*messages[:-1], ChatMessage(role="user", content=prompt)]


def in_persona(messages: Sequence[ChatMessage], agent: AgentSpec) -> list[ChatMessage]:
    """The conversation under ``agent``'s own system prompt, when it has one.

    Proposers and round-table seats are other agents than the node's: their system
    prompts (personas) are what makes them differ when they share a model.
    """
    if agent.system is None:
        return list(messages)
    rest = [m for m in messages if m.role != "system"]
    return [ChatMessage(role="system", content=agent.system), *rest]


def with_references(
    messages: Sequence[ChatMessage], references: Sequence[str], limit: int
) -> list[ChatMessage]:
    """The conversation with MoA's system prompt carrying ``references`` put first.

    The references join the conversation's own system prompt, if it has one.
    """
    system = moa_system_prompt([clip(r, limit) for r in references])
    if system is None:
        return list(messages)
    own = [m.content for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    content = "\n\n".join([*own, system])
    return [ChatMessage(role="system", content=content), *rest]


def distinct_texts(texts: Sequence[str]) -> list[str]:
    """Non-blank texts without exact repeats, in order (a repeat adds no new branch)."""
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def step_value_prompt(question: str, steps: str, *, label: bool) -> str:
    """Ask a judge how promising a partial solution is: a label (sure / likely / impossible)
    or a 1-10 score, as JSON with a reason first (tree search and MCTS value their nodes so)."""
    if label:
        ask_for = (
            "sure (certainly leads to a correct answer), likely (might), or impossible "
            '(a mistake or a dead end). Reply as JSON: {"reason": "<one sentence>", '
            '"value": "sure" | "likely" | "impossible"}.'
        )
    else:
        ask_for = (
            'from 1 (a dead end) to 10 (certainly right). Reply as JSON: {"reason": '
            '"<one sentence>", "score": <1-10>}.'
        )
    return (
        f"Question:\n{question}\n\nPartial solution:\n{steps}\n\nEvaluate whether these "
        f"steps are on track to a correct answer: {ask_for}"
    )
