"""Atom of Thoughts' pure parts: the sub-question DAG, its depth, and the prompts.

Atom of Thoughts (Teng et al., 2025, arXiv:2502.12018): a question is decomposed into a
DAG of sub-questions; the independent ones (no incoming edge) are solved, and the
question is contracted into a simpler, self-contained one that keeps the solved atoms
as known conditions and asks what remains; the next state depends only on that question
(a Markov chain of questions). A decomposition reply is read tolerantly: JSON
``{"subquestions": [{"question": ..., "depends_on": [1-based indices]}]}``, a JSON list
of strings, or numbered lines. Dependencies may only point to earlier sub-questions,
which keeps every parsed graph acyclic. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_NUMBERED = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(.+?)\s*$", re.MULTILINE)
_QUESTION_PREFIX = re.compile(r"^\s*(?:new\s+|contracted\s+)?question\s*:\s*", re.IGNORECASE)

DECOMPOSE_PROMPT = (
    "Break this problem into at most {max_atoms} small sub-questions, each answerable on "
    "its own once the sub-questions it depends on are answered. Number them from 1; for "
    "each, list the numbers of the earlier sub-questions it needs (none if it needs none). "
    "A problem that is already simple gets one sub-question: itself.\n\nProblem:\n"
    "{question}\n\nReply with JSON: "
    '{{"subquestions": [{{"question": "...", "depends_on": []}}, ...]}}'
)

ATOM_PROMPT = (
    "Problem:\n{question}\n\nAnswer only this sub-question of it, briefly and exactly:\n{atom}"
)

CONTRACT_PROMPT = (
    "Problem:\n{question}\n\nThese sub-questions are solved:\n{solved}\n\n"
    "{remaining}Rewrite the problem as one new, self-contained problem that has the same "
    "final answer: state the solved results as given facts, and ask only for what is still "
    "missing. Keep the answer format the problem asks for. Write only the new problem."
)

JUDGE_PROMPT = (
    "Problem:\n{question}\n\nTwo solutions, one solving the problem directly and one "
    "solving it through simpler sub-problems:\n\n{responses}\n\nWhich response answers "
    "the problem correctly? Reply with JSON: "
    '{{"choice": 1 or 2, "reason": "one sentence"}}.'
)


@dataclass(frozen=True)
class Atom:
    """A sub-question: its 0-based position, text and the earlier atoms it needs."""

    index: int
    question: str
    depends_on: tuple[int, ...] = ()


def decomposition_schema(max_atoms: int) -> dict[str, Any]:
    """The JSON schema of a decomposition: at most ``max_atoms`` sub-questions."""
    return {
        "type": "object",
        "properties": {
            "subquestions": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_atoms,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {"type": "string", "minLength": 1, "maxLength": 400},
                        "depends_on": {
                            "type": "array",
                            "maxItems": max_atoms,
                            "items": {"type": "integer", "minimum": 1, "maximum": max_atoms},
                        },
                    },
                    "required": ["question", "depends_on"],
                },
            }
        },
        "required": ["subquestions"],
    }


def _raw_items(text: str) -> list[Any]:
    """The sub-question entries of a reply: JSON (object or list), else numbered lines."""
    stripped = text.strip()
    for start in (i for i, ch in enumerate(stripped) if ch in "{["):
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            value = value.get("subquestions", value.get("sub_questions"))
        if isinstance(value, list):
            return value
        break
    return [match.group(1) for match in _NUMBERED.finditer(stripped)]


def _entry(item: Any) -> tuple[str, list[Any]] | None:
    if isinstance(item, str):
        return item, []
    if isinstance(item, dict) and isinstance(item.get("question"), str):
        deps = item.get("depends_on", item.get("dependencies", []))
        return item["question"], deps if isinstance(deps, list) else []
    return None


def parse_decomposition(text: str, max_atoms: int) -> list[Atom]:
    """The atoms of a decomposition reply, at most ``max_atoms``, as a valid DAG.

    Blank and repeated questions are dropped (their dependents point at the kept copy);
    a dependency must name an earlier kept atom (1-based in the reply), others are
    ignored, so the result has no cycle. An unreadable reply gives no atoms.
    """
    atoms: list[Atom] = []
    position: dict[int, int] = {}  # 1-based number in the reply -> index of its atom
    seen: dict[str, int] = {}
    for number, item in enumerate(_raw_items(text), 1):
        entry = _entry(item)
        if entry is None:
            continue
        question = " ".join(entry[0].split())
        key = question.casefold()
        if not question:
            continue
        if key in seen:
            position[number] = seen[key]
            continue
        if len(atoms) == max_atoms:
            break
        deps = sorted(
            {
                position[dep]
                for dep in entry[1]
                if isinstance(dep, int) and not isinstance(dep, bool) and dep in position
            }
        )
        index = len(atoms)
        atoms.append(Atom(index, question, tuple(deps)))
        position[number] = seen[key] = index
    return atoms


def independent_atoms(atoms: Sequence[Atom]) -> list[Atom]:
    """The atoms that need no other atom: solvable now, all at once."""
    return [atom for atom in atoms if not atom.depends_on]


def dependent_atoms(atoms: Sequence[Atom]) -> list[Atom]:
    """The atoms that need another atom's answer: left for the contracted question."""
    return [atom for atom in atoms if atom.depends_on]


def is_atomic(atoms: Sequence[Atom]) -> bool:
    """A question whose decomposition has at most one sub-question cannot be split further."""
    return len(atoms) <= 1


def dag_depth(atoms: Sequence[Atom]) -> int:
    """The number of atoms on the longest dependency chain (0 for no atoms).

    AoT bounds the decompose-contract rounds by the first decomposition's depth: each
    round solves one layer of the DAG.
    """
    depth: dict[int, int] = {}
    for atom in atoms:  # dependencies point backwards, so one pass in order suffices
        depth[atom.index] = 1 + max((depth[d] for d in atom.depends_on), default=0)
    return max(depth.values(), default=0)


def decompose_prompt(question: str, max_atoms: int) -> str:
    return DECOMPOSE_PROMPT.format(question=question.strip(), max_atoms=max_atoms)


def atom_prompt(question: str, atom: Atom) -> str:
    return ATOM_PROMPT.format(question=question.strip(), atom=atom.question)


def contract_prompt(
    question: str, solved: Sequence[tuple[Atom, str]], remaining: Sequence[Atom]
) -> str:
    """The contraction prompt: the solved atoms as facts, the dependent ones still open."""
    facts = "\n".join(f"- {atom.question} -> {answer.strip()}" for atom, answer in solved)
    open_part = ""
    if remaining:
        listed = "\n".join(f"- {atom.question}" for atom in remaining)
        open_part = f"Still to solve (they build on the results above):\n{listed}\n\n"
    return CONTRACT_PROMPT.format(question=question.strip(), solved=facts, remaining=open_part)


def contracted_question(reply: str, fallback: str) -> str:
    """The contracted question in a reply ("Question:" prefix and quotes dropped), or
    ``fallback`` when the reply is blank."""
    text = _QUESTION_PREFIX.sub("", reply.strip(), count=1).strip().strip('"').strip()
    return text or fallback


def judge_prompt(question: str, responses: str) -> str:
    return JUDGE_PROMPT.format(question=question.strip(), responses=responses)
