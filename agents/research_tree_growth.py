"""How a research tree grows and is pruned while it runs (pure: no I/O).

FlashResearch-style orchestration (Nie et al., 2025, arXiv:2510.05145): research tasks
are judged as they finish; a branch whose findings are off-topic is pruned (its results
leave the report), a redundant one is stopped (kept, not deepened), a promising one is
deepened with follow-up sub-questions, while depth, node count and the deadline allow.
Follow-ups too similar to a question already asked are dropped before they run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Action = Literal["prune", "stop", "deepen", "keep"]
NodeStatus = Literal["waiting", "running", "done", "failed", "skipped", "cancelled"]

_WORD = re.compile(r"[a-z0-9]+")
# Task ids are at most 64 characters (orchestrator.plan.TASK_ID_PATTERN).
MAX_ID = 64
# fmt: off
_STOPWORDS = frozenset([
    "the", "and", "for", "are", "how", "what", "which", "who", "why", "when", "where", "does",
    "did", "its", "with", "from", "that", "this", "into", "than", "then", "they", "their",
    "about", "between", "can", "was", "were", "has", "have", "not", "but", "all", "any",
])
# fmt: on

JUDGE_PROMPT = """Overall research question: {question}

A research branch just finished.
Branch sub-question: {branch}
Its findings:
{findings}

Findings of the other branches so far:
{others}

Judge the branch. relevant: do its findings help answer the overall question? novel: do
they add information the other branches do not already give? promising: would researching
it deeper add important information? follow_ups: if promising, up to {max_children}
specific, self-contained sub-questions that would deepen it (not covered by any branch).
Reply with JSON."""


class Verdict(BaseModel):
    """The judge's reading of one finished branch."""

    model_config = ConfigDict(extra="ignore")

    relevant: bool = True
    novel: bool = True
    promising: bool = False
    follow_ups: list[str] = Field(default_factory=list)
    reason: str = ""


def verdict_schema(max_children: int) -> dict[str, Any]:
    """The JSON schema of a verdict, with at most ``max_children`` follow-ups."""
    return {
        "type": "object",
        "properties": {
            "relevant": {"type": "boolean"},
            "novel": {"type": "boolean"},
            "promising": {"type": "boolean"},
            "follow_ups": {
                "type": "array",
                "maxItems": max_children,
                "items": {"type": "string", "minLength": 8, "maxLength": 200},
            },
            "reason": {"type": "string", "maxLength": 300},
        },
        "required": ["relevant", "novel", "promising", "follow_ups", "reason"],
    }


def parse_verdict(text: str) -> Verdict | None:
    """The verdict in a reply (its first JSON object), or None when it has none."""
    stripped = text.strip()
    start = stripped.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped, start)
        verdict = Verdict.model_validate(value)
    except (json.JSONDecodeError, ValidationError):
        return None
    ups = [" ".join(str(q).split()) for q in verdict.follow_ups]
    return verdict.model_copy(update={"follow_ups": [q for q in ups if q]})


Limit = Literal["depth", "room", "reserve"]


@dataclass(frozen=True)
class Decision:
    """What to do with a finished branch, why, the follow-ups to start, and the limit that
    kept a promising branch from deepening (if one did)."""

    action: Action
    reason: str
    follow_ups: tuple[str, ...] = ()
    limited_by: Limit | None = None


def decide(
    verdict: Verdict | None,
    *,
    depth: int,
    max_depth: int,
    room: int,
    time_left: float | None,
    reserve_s: float,
) -> Decision:
    """The branch's fate: prune (off-topic), stop (redundant), deepen or keep.

    Deepening needs a promising verdict with follow-ups, ``depth < max_depth``, ``room``
    for more nodes, and more than ``reserve_s`` seconds before the deadline (time kept
    for the synthesis). An unreadable verdict keeps the branch as it is.
    """
    if verdict is None:
        return Decision("keep", "the judge's verdict was unreadable")
    why = verdict.reason.strip()
    if not verdict.relevant:
        return Decision("prune", f"off-topic: {why}" if why else "off-topic")
    if not verdict.novel:
        return Decision("stop", f"redundant: {why}" if why else "redundant")
    if not verdict.promising or not verdict.follow_ups:
        return Decision("keep", why or "not worth deepening")
    if depth >= max_depth:
        return Decision("keep", f"promising, but at the depth limit ({max_depth})", (), "depth")
    if room <= 0:
        return Decision("keep", "promising, but the tree has no room for more nodes", (), "room")
    if time_left is not None and time_left <= reserve_s:
        left = max(0.0, time_left)
        return Decision(
            "keep", f"promising, but {left:.0f} s left is the reserve for the report", (), "reserve"
        )
    return Decision("deepen", why or "promising", tuple(verdict.follow_ups[:room]))


def words(text: str) -> frozenset[str]:
    """The content words of a question (lower case, no stopwords, 3+ characters)."""
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS)


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of two questions' content words (0: none shared, 1: the same)."""
    left, right = words(a), words(b)
    if not left or not right:
        return 1.0 if left == right else 0.0
    return len(left & right) / len(left | right)


def most_similar(question: str, asked: Iterable[str]) -> tuple[float, str | None]:
    """The highest similarity to an asked question, and that question."""
    best: tuple[float, str | None] = (0.0, None)
    for other in asked:
        score = similarity(question, other)
        if score > best[0]:
            best = (score, other)
    return best


@dataclass
class TreeNode:
    """A research task in the tree: its question, depth, parent and fate."""

    id: str
    question: str
    depth: int
    parent: str | None = None
    depends_on: tuple[str, ...] = ()
    status: NodeStatus = "waiting"
    action: Action | None = None
    reason: str = ""
    children: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "depth": self.depth,
            "parent": self.parent,
            "status": self.status,
            "action": self.action,
            "reason": self.reason,
            "children": list(self.children),
        }


class ResearchTree:
    """The nodes of a research tree, in the order they were added, with the drops."""

    def __init__(self, max_nodes: int, redundancy: float) -> None:
        if max_nodes < 1:
            raise ValueError(f"max_nodes {max_nodes!r} must be >= 1")
        if not 0.0 < redundancy <= 1.0:
            raise ValueError(f"redundancy {redundancy!r} must be in (0, 1]")
        self.max_nodes = max_nodes
        self.redundancy = redundancy
        self.nodes: dict[str, TreeNode] = {}
        self.dropped: list[dict[str, Any]] = []

    @property
    def room(self) -> int:
        return self.max_nodes - len(self.nodes)

    def add_root(
        self, node_id: str, question: str, depends_on: tuple[str, ...] = ()
    ) -> TreeNode | None:
        """A first-level node (a planned task); None, and a drop, when the tree is full."""
        if self.room <= 0:
            self.dropped.append({"question": question, "parent": None, "reason": "max_nodes"})
            return None
        node = TreeNode(node_id, question, 1, None, depends_on)
        self.nodes[node_id] = node
        return node

    def add_child(self, parent_id: str, question: str) -> TreeNode | None:
        """A follow-up of ``parent_id``; None when full or too similar to an asked question."""
        parent = self.nodes[parent_id]
        if self.room <= 0:
            self.dropped.append({"question": question, "parent": parent_id, "reason": "max_nodes"})
            return None
        score, twin = most_similar(question, (n.question for n in self.nodes.values()))
        if score >= self.redundancy:
            self.dropped.append(
                {
                    "question": question,
                    "parent": parent_id,
                    "reason": f"redundant with {twin!r} (similarity {score:.2f})",
                }
            )
            return None
        node_id = f"{parent_id}.{len(parent.children) + 1}"
        if len(node_id) > MAX_ID or node_id in self.nodes:
            node_id = f"n{len(self.nodes) + 1}"
        node = TreeNode(node_id, question, parent.depth + 1, parent_id)
        parent.children.append(node_id)
        self.nodes[node_id] = node
        return node

    def kept(self) -> list[str]:
        """Ids of the finished nodes whose findings go to the report (pruned ones do not)."""
        return [n.id for n in self.nodes.values() if n.status == "done" and n.action != "prune"]

    def details(self) -> dict[str, Any]:
        return {
            "nodes": [n.as_details() for n in self.nodes.values()],
            "dropped": list(self.dropped),
            "deepened": sum(n.action == "deepen" for n in self.nodes.values()),
            "pruned": sum(n.action == "prune" for n in self.nodes.values()),
            "stopped": sum(n.action == "stop" for n in self.nodes.values()),
        }
