"""Cumulative Reasoning's state: a DAG of verified propositions, and its roles' replies read.

Cumulative Reasoning (Zhang et al. 2023, "Cumulative Reasoning with Large Language
Models", arXiv:2308.04371) has three roles: a proposer suggests a new proposition
derived from what is known, a verifier accepts or rejects it, and a reporter decides
when the accumulated propositions answer the question. Accepted propositions are kept
with the items they were derived from, so the known facts form a directed acyclic graph
rooted in the premises (here: the question, item 0). Standard library and pydantic only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

_NUMBER = re.compile(r"\d+")


class Proposition(BaseModel):
    """A known item: the question (id 0) or a verified proposition, with its sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    text: str
    sources: tuple[int, ...] = ()
    depth: int = 0


class PropositionDag:
    """Verified propositions, each derived from earlier items; ids grow, so it is acyclic."""

    def __init__(self, question: str) -> None:
        self.items: list[Proposition] = [Proposition(id=0, text=question.strip())]
        self.rejected: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    @property
    def propositions(self) -> list[Proposition]:
        """The verified propositions (the question excluded), oldest first."""
        return self.items[1:]

    def known(self, text: str) -> bool:
        """Whether ``text`` (case and spacing aside) is already a known item."""
        key = " ".join(text.split()).casefold()
        return any(" ".join(p.text.split()).casefold() == key for p in self.items)

    def add(self, text: str, sources: Sequence[int]) -> Proposition:
        """Accept a verified proposition; sources that are not earlier items are dropped.

        With no valid source it is derived from the question (item 0). Its depth is one
        more than its deepest source's.
        """
        valid = tuple(sorted({s for s in sources if 0 <= s < len(self.items)})) or (0,)
        depth = 1 + max(self.items[s].depth for s in valid)
        item = Proposition(id=len(self.items), text=text.strip(), sources=valid, depth=depth)
        self.items.append(item)
        return item

    def reject(self, text: str) -> None:
        """Remember a proposition the verifiers rejected (shown to later proposers)."""
        self.rejected.append(text.strip())

    def render(self, limit: int = 600) -> str:
        """The known items as numbered lines, for the roles' prompts."""
        lines = ["Proposition 0 (the question): " + _cut(self.items[0].text, limit)]
        for p in self.propositions:
            origin = ", ".join(str(s) for s in p.sources)
            lines.append(f"Proposition {p.id} (from {origin}): {_cut(p.text, limit)}")
        return "\n".join(lines)

    def to_details(self) -> list[dict[str, Any]]:
        return [
            {"id": p.id, "sources": list(p.sources), "depth": p.depth, "text": p.text[:300]}
            for p in self.propositions
        ]


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _json_object(text: str) -> dict[str, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if not 0 <= start < end:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_proposal(text: str) -> tuple[str, list[int]] | None:
    """A proposer's reply as (proposition, source ids); None when it proposes nothing.

    JSON ``{"proposition": ..., "from": [ids]}`` is read first (``from`` may also be a
    string of numbers); a reply that is not JSON is the proposition itself, sources unknown.
    """
    data = _json_object(text)
    if data is None:
        stripped = text.strip()
        return (stripped, []) if stripped else None
    proposition = data.get("proposition")
    if not isinstance(proposition, str) or not proposition.strip():
        return None
    raw = data.get("from", [])
    if isinstance(raw, str):
        sources = [int(n) for n in _NUMBER.findall(raw)]
    elif isinstance(raw, list):
        sources = [int(s) for s in raw if isinstance(s, int) and not isinstance(s, bool)]
    else:
        sources = []
    return proposition.strip(), sources


def read_verdict(text: str) -> bool | None:
    """A verifier's verdict: JSON ``valid``, else a leading yes / no / valid / invalid."""
    data = _json_object(text)
    if data is not None:
        valid = data.get("valid")
        return valid if isinstance(valid, bool) else None
    words = text.strip().split(maxsplit=1)
    word = words[0].strip(".,!:;").casefold() if words else ""
    if word in ("yes", "valid", "true", "correct"):
        return True
    if word in ("no", "invalid", "false", "incorrect"):
        return False
    return None


def accepted(verdicts: Sequence[bool | None]) -> bool:
    """Whether a strict majority of the readable verdicts accept (none readable: rejected)."""
    readable = [v for v in verdicts if v is not None]
    return sum(readable) * 2 > len(readable)


def read_report(text: str) -> tuple[bool, str | None]:
    """A reporter's reply as (ready, answer): JSON ``ready`` and ``answer``; else not ready."""
    data = _json_object(text)
    if data is None:
        return False, None
    answer = data.get("answer")
    answer = answer.strip() if isinstance(answer, str) and answer.strip() else None
    return data.get("ready") is True and answer is not None, answer
