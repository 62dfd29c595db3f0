"""Search state for Tree-of-Thoughts and Graph-of-Thoughts.

Tree-of-Thoughts (Yao et al., 2023, "Tree of Thoughts: Deliberate Problem Solving with
Large Language Models", arXiv:2305.10601) proposes thoughts per state, values them
("sure / likely / impossible") or votes among them, and keeps the best b per level
(BFS) or explores depth-first with pruning and backtracking (DFS). Graph-of-Thoughts
(Besta et al., 2023, "Graph of Thoughts: Solving Elaborate Problems with Large Language
Models", arXiv:2308.09687) adds aggregation of several thoughts into one and
keep-best-N as graph operations. Standard library and pydantic only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from orchestrator import ConfigError

StepAggregation = Literal["min", "prod", "mean", "last"]

VALUE_WORDS: dict[str, float] = {"sure": 1.0, "likely": 0.5, "impossible": 0.0}
"""ToT's value labels mapped to [0, 1]."""


class Thought(BaseModel):
    """A node of the search: its text (one step), parent, depth and value.

    ``sources`` lists every parent of a Graph-of-Thoughts aggregation (``parent`` is
    the first of them); ``score`` is None until the thought is evaluated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    parent: int | None
    text: str
    depth: int
    score: float | None = None
    sources: tuple[int, ...] = ()


def _rank_key(thought: Thought) -> float:
    return -math.inf if thought.score is None or math.isnan(thought.score) else thought.score


def select_beam(candidates: Sequence[Thought], b: int) -> list[Thought]:
    """The ``b`` best-scored candidates, best first; unscored ones rank last.

    Ties keep the candidates' original order, so the search is deterministic.
    """
    if b < 1:
        raise ConfigError(f"beam width b={b!r} must be >= 1; e.g. beam: 3")
    order = sorted(range(len(candidates)), key=lambda i: (-_rank_key(candidates[i]), i))
    return [candidates[i] for i in order[:b]]


def keep_best(thoughts: Sequence[Thought], n: int) -> list[Thought]:
    """Graph-of-Thoughts' KeepBestN: the ``n`` best thoughts, best first."""
    return select_beam(thoughts, n)


class ThoughtTree:
    """Every thought of a search, by id; the root (id 0) holds the problem context."""

    def __init__(self, root_text: str = "") -> None:
        self._thoughts: dict[int, Thought] = {
            0: Thought(id=0, parent=None, text=root_text, depth=0)
        }

    def __len__(self) -> int:
        return len(self._thoughts)

    @property
    def root(self) -> Thought:
        """The root thought (depth 0)."""
        return self._thoughts[0]

    def get(self, thought_id: int) -> Thought:
        """The thought with this id."""
        if thought_id not in self._thoughts:
            raise ValueError(f"no thought with id {thought_id!r}; ids are 0..{len(self) - 1}")
        return self._thoughts[thought_id]

    def add(self, parent: int, text: str, score: float | None = None) -> Thought:
        """A new child of ``parent`` one level deeper."""
        return self._insert(parent, (parent,), text, self.get(parent).depth + 1, score)

    def expand(self, parent: int, texts: Sequence[str]) -> list[Thought]:
        """A child for each proposed text (ToT's thought generator output)."""
        return [self.add(parent, text) for text in texts]

    def merge(self, sources: Sequence[int], text: str, score: float | None = None) -> Thought:
        """Graph-of-Thoughts aggregation: one thought built from several."""
        if not sources:
            raise ValueError("merge needs at least one source thought")
        depth = max(self.get(s).depth for s in sources) + 1
        return self._insert(sources[0], tuple(sources), text, depth, score)

    def _insert(
        self, parent: int, sources: tuple[int, ...], text: str, depth: int, score: float | None
    ) -> Thought:
        thought = Thought(
            id=len(self._thoughts),
            parent=parent,
            text=text,
            depth=depth,
            score=score,
            sources=sources if len(sources) > 1 else (),
        )
        self._thoughts[thought.id] = thought
        return thought

    def set_score(self, thought_id: int, score: float | None) -> Thought:
        """Record a thought's value; returns the updated thought."""
        updated = self.get(thought_id).model_copy(update={"score": score})
        self._thoughts[thought_id] = updated
        return updated

    def children(self, thought_id: int) -> list[Thought]:
        """Direct children in creation order."""
        return [t for t in self._thoughts.values() if t.parent == thought_id and t.id != 0]

    def level(self, depth: int) -> list[Thought]:
        """Every thought at ``depth``, in creation order (one BFS level)."""
        return [t for t in self._thoughts.values() if t.depth == depth]

    def path(self, thought_id: int) -> list[Thought]:
        """The thoughts from the root to ``thought_id``, root first."""
        chain = [self.get(thought_id)]
        while chain[-1].parent is not None:
            chain.append(self.get(chain[-1].parent))
        return chain[::-1]

    def path_text(self, thought_id: int, separator: str = "\n") -> str:
        """The partial solution: the steps leading to ``thought_id``, root text excluded."""
        return separator.join(t.text for t in self.path(thought_id)[1:] if t.text)

    def best(self, depth: int | None = None) -> Thought | None:
        """The best-scored thought overall or at ``depth``; None if there is none but the root."""
        pool = self.level(depth) if depth is not None else list(self._thoughts.values())[1:]
        return select_beam(pool, 1)[0] if pool else None

    def to_details(self) -> list[dict[str, object]]:
        """Plain data for reports: every thought but the root."""
        return [t.model_dump() for t in list(self._thoughts.values())[1:]]


class DfsFrontier:
    """ToT's depth-first search order with value pruning and backtracking.

    ``push(children)`` drops children scored below ``threshold`` (unscored ones too,
    when a threshold is set) and stacks the rest so that the best child is expanded
    next; ``pop()`` returns the next thought to expand, which backtracks to the best
    remaining sibling or ancestor's sibling once a subtree is exhausted.
    """

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = threshold
        self.pruned: list[Thought] = []
        self.popped = 0
        self._stack: list[Thought] = []

    def __len__(self) -> int:
        return len(self._stack)

    def push(self, children: Sequence[Thought]) -> list[Thought]:
        """Stack the children worth exploring; return those pruned."""
        kept: list[Thought] = []
        pruned: list[Thought] = []
        for child in children:
            too_low = self.threshold is not None and (
                child.score is None or _rank_key(child) < self.threshold
            )
            (pruned if too_low else kept).append(child)
        self.pruned.extend(pruned)
        self._stack.extend(reversed(select_beam(kept, len(kept)) if kept else []))
        return pruned

    def pop(self) -> Thought | None:
        """The next thought to expand, or None when the search space is exhausted."""
        if not self._stack:
            return None
        self.popped += 1
        return self._stack.pop()


_WORD_RE = re.compile(r"\b(sure|likely|impossible)\b", re.IGNORECASE)
_FRACTION_RE = re.compile(r"(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_LABELLED_RE = re.compile(
    r"\b(?:score|value|rating|grade)\b\s*(?:is|of|[:=])?\s*(-?\d+(?:\.\d+)?)\s*(%)?", re.IGNORECASE
)
_BARE_RE = re.compile(r"^\W*(-?\d+(?:\.\d+)?)\s*(%)?\W*$")


def _scaled(number: str, percent: str | None) -> float:
    """A number on an unknown scale mapped to [0, 1]: ≤1 as is, ≤10 out of 10, else of 100."""
    value = float(number)
    if percent or value > 10:
        value /= 100
    elif value > 1:
        value /= 10
    return min(max(value, 0.0), 1.0)


def parse_value(text: str) -> float | None:
    """A state's value in [0, 1] from an evaluator's reply, or None if it gives none.

    ToT's labels on the last line ("sure" 1, "likely" 0.5, "impossible" 0) come first;
    then the last fraction ("7/10" → 0.7), then a labelled number ("score: 8"), then a
    reply that is only a number; numbers without a scale are read as out of 1, 10 or
    100 by size. Failing all that, the last label anywhere in the text.
    """
    stripped = text.strip()
    if not stripped:
        return None
    last_line = stripped.splitlines()[-1]
    words = _WORD_RE.findall(last_line)
    if words:
        return VALUE_WORDS[words[-1].lower()]
    fractions = [(float(a), float(b)) for a, b in _FRACTION_RE.findall(stripped) if float(b) > 0]
    if fractions:
        numerator, denominator = fractions[-1]
        return min(max(numerator / denominator, 0.0), 1.0)
    labelled = _LABELLED_RE.findall(stripped)
    if labelled:
        return _scaled(*labelled[-1])
    bare = _BARE_RE.match(stripped)
    if bare:
        return _scaled(bare.group(1), bare.group(2))
    words = _WORD_RE.findall(stripped)
    return VALUE_WORDS[words[-1].lower()] if words else None


def combine_values(values: Sequence[float | None], how: Literal["mean", "sum"] = "mean") -> float:
    """One value from several evaluator samples; unreadable samples (None) count as 0."""
    numbers = [0.0 if v is None else v for v in values]
    if not numbers:
        return 0.0
    total = math.fsum(numbers)
    return total if how == "sum" else total / len(numbers)


_VOTE_RE = re.compile(r"best\s+(?:choice|option|state|candidate)\s+is\s*:?\s*#?\s*(\d+)", re.I)


def parse_vote(text: str, n_states: int) -> int | None:
    """The 0-based state a vote picks from 'The best choice is s' (s 1-based), or None."""
    for match in reversed(list(_VOTE_RE.finditer(text))):
        choice = int(match.group(1))
        if 1 <= choice <= n_states:
            return choice - 1
    bare = _BARE_RE.match(text.strip())
    if bare and bare.group(1).isdigit() and 1 <= int(bare.group(1)) <= n_states:
        return int(bare.group(1)) - 1
    return None


def aggregate_votes_for_states(votes: Sequence[int | None], n_states: int) -> list[float]:
    """ToT's vote evaluator: each state's share of the votes (abstentions ignored)."""
    counts = [0] * n_states
    for vote in votes:
        if vote is not None:
            if not 0 <= vote < n_states:
                raise ValueError(f"vote {vote!r} is not a state index in 0..{n_states - 1}")
            counts[vote] += 1
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def aggregate_step_scores(scores: Sequence[float], how: StepAggregation = "min") -> float:
    """One score for a solution from its per-step scores (process reward aggregation).

    ``min``: the weakest step decides; ``prod``: the chance every step is right;
    ``mean``; ``last``: the final step's score.
    """
    if not scores:
        raise ValueError("aggregate_step_scores needs at least one step score")
    if how == "min":
        return min(scores)
    if how == "prod":
        return math.prod(scores)
    if how == "mean":
        return math.fsum(scores) / len(scores)
    if how == "last":
        return scores[-1]
    raise ConfigError(f"unknown step aggregation {how!r}; use one of 'min', 'prod', 'mean', 'last'")


GotOperation = Literal["generate", "score", "keep_best", "aggregate", "refine"]

GOT_OPERATIONS: dict[str, str] = {
    "generate": "{generate: k}: k new thoughts from each thought, k in 1..16",
    "score": "{score: {}} or {score: {rubric: TEXT}}: the evaluator scores each thought",
    "keep_best": "{keep_best: b}: keep the b best-scored thoughts, b in 1..64",
    "aggregate": "{aggregate: m}: merge the m best thoughts into one, m in 2..16",
    "refine": "{refine: r}: improve each thought r times in a row, r in 1..8",
}
"""Graph-of-Thoughts operations a ``got`` step may name, with their argument."""

_COUNT_BOUNDS: dict[str, tuple[int, int]] = {
    "generate": (1, 16),
    "keep_best": (1, 64),
    "aggregate": (2, 16),
    "refine": (1, 8),
}


@dataclass(frozen=True)
class GotStep:
    """One Graph-of-Thoughts operation: its name, count (k, b, m or r) and scoring rubric."""

    op: GotOperation
    count: int = 1
    rubric: str | None = None


def _got_step(index: int, raw: object) -> GotStep | str:
    """The step at ``index``, or the problem with it."""
    where = f"steps[{index}] = {raw!r}"
    if not isinstance(raw, Mapping) or len(raw) != 1:
        return f"{where}: each step is a mapping with one operation, e.g. {{generate: 3}}"
    name, arg = next(iter(raw.items()))
    if name not in GOT_OPERATIONS:
        return f"{where}: unknown operation {name!r}"
    if name == "score":
        if arg is None:
            return GotStep("score")
        extra = sorted(set(arg) - {"rubric"}) if isinstance(arg, Mapping) else None
        rubric = arg.get("rubric") if isinstance(arg, Mapping) else None
        if extra is None or extra or not (rubric is None or (isinstance(rubric, str) and rubric)):
            return f"{where}: {GOT_OPERATIONS['score']}"
        return GotStep("score", rubric=rubric)
    low, high = _COUNT_BOUNDS[name]
    if isinstance(arg, bool) or not isinstance(arg, int) or not low <= arg <= high:
        return f"{where}: {GOT_OPERATIONS[name]}"
    return GotStep(name, count=arg)


def parse_got_steps(raw: object) -> list[GotStep]:
    """A Graph-of-Thoughts step list, checked: every bad step is named by its index at once.

    The working set starts with the question alone, so the first step must generate.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ConfigError(
            f"steps = {raw!r}: give a non-empty list of operations, e.g. "
            f"[{{generate: 3}}, {{score: {{}}}}, {{keep_best: 1}}]"
        )
    parsed = [_got_step(i, step) for i, step in enumerate(raw)]
    problems = [p for p in parsed if isinstance(p, str)]
    first = parsed[0]
    if isinstance(first, GotStep) and first.op != "generate":
        problems.insert(
            0,
            f"steps[0] = {raw[0]!r}: the first step must be generate (the working set "
            f"starts with the question alone)",
        )
    if problems:
        raise ConfigError(
            "; ".join(problems) + f". Known operations: {'; '.join(GOT_OPERATIONS.values())}"
        )
    return [p for p in parsed if isinstance(p, GotStep)]
