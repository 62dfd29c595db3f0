"""Knockout tournament brackets with position-debiased pairwise judging.

Candidates meet in a single-elimination bracket (pairwise ranking as in Qin et al., 2024,
"Large Language Models are Effective Text Rankers with Pairwise Ranking Prompting");
every match is judged in both presentation orders so a judge's preference for the first
(or second) position cancels out (Zheng et al., 2023, "Judging LLM-as-a-Judge with
MT-Bench and Chatbot Arena"). Standard library and pydantic only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from orchestrator import ConfigError

Verdict = Literal["first", "second", "tie"]
"""A judge's pick by presentation position: the candidate shown first, second, or neither."""

Side = Literal["a", "b"]


class Match(BaseModel):
    """One pairing in a round: ``a`` is the higher seed; ``b`` is None for a bye."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slot: int
    a: int
    b: int | None

    @property
    def is_bye(self) -> bool:
        """True when ``a`` advances without playing."""
        return self.b is None


class Outcome(BaseModel):
    """The result of judging a match in both orders.

    ``winner`` is None for a tie the caller must re-judge (or settle with
    ``resolve_match(..., final=True)``). ``reason`` says how it was decided:
    ``consistent`` (both orders agree), ``one_sided`` (one order picked, the other
    tied or was unreadable), ``score`` (a tie broken by the candidates' scores),
    ``seed`` (a final tie awarded to the higher seed) or ``tie``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    winner: Side | None
    reason: Literal["consistent", "one_sided", "score", "seed", "tie"]


def _seed_positions(size: int) -> list[int]:
    """1-based seeds in bracket order so that seeds 1 and 2 can only meet in the final."""
    order = [1]
    while len(order) < size:
        total = 2 * len(order) + 1
        order = [s for seed in order for s in (seed, total - seed)]
    return order


def make_bracket(
    n_candidates: int, seed: int | None = None, *, order: Sequence[int] | None = None
) -> list[Match]:
    """First-round matches for ``n_candidates`` in a standard single-elimination bracket.

    Seeds are the candidate indices in ``order`` (strongest first, e.g. ranked by a
    score), else a shuffle with ``random.Random(seed)`` when ``seed`` is given, else
    0, 1, 2, ... When ``n`` is not a power of two the top seeds get the byes, and
    top seeds are placed so they meet as late as possible.
    """
    if n_candidates < 1:
        raise ConfigError(
            f"a tournament needs at least 1 candidate, got {n_candidates!r}; set n >= 2 "
            "so there is something to compare"
        )
    seeding = _seeding(n_candidates, seed, order)
    if n_candidates == 1:
        return [Match(slot=0, a=seeding[0], b=None)]
    size = 1
    while size < n_candidates:
        size *= 2
    positions = _seed_positions(size)
    matches: list[Match] = []
    for slot in range(size // 2):
        high, low = positions[2 * slot], positions[2 * slot + 1]
        a = seeding[high - 1]
        b = seeding[low - 1] if low <= n_candidates else None
        matches.append(Match(slot=slot, a=a, b=b))
    return matches


def _seeding(n: int, seed: int | None, order: Sequence[int] | None) -> list[int]:
    if order is not None:
        if sorted(order) != list(range(n)):
            raise ValueError(
                f"bracket order {list(order)!r} must be a permutation of 0..{n - 1}; "
                "list every candidate index exactly once, strongest first"
            )
        return list(order)
    seeding = list(range(n))
    if seed is not None:
        random.Random(seed).shuffle(seeding)
    return seeding


def next_round(winners: Sequence[int]) -> list[Match]:
    """Pair the winners of a round in bracket order; an odd one out gets a bye."""
    matches: list[Match] = []
    for slot, start in enumerate(range(0, len(winners), 2)):
        pair = winners[start : start + 2]
        matches.append(Match(slot=slot, a=pair[0], b=pair[1] if len(pair) > 1 else None))
    return matches


def _vote(verdict: Verdict | None, first: Side) -> Side | None:
    if verdict == "first":
        return first
    if verdict == "second":
        return "b" if first == "a" else "a"
    return None


def resolve_match(
    verdict_ab: Verdict | None,
    verdict_ba: Verdict | None,
    score_a: float | None = None,
    score_b: float | None = None,
    *,
    final: bool = False,
) -> Outcome:
    """Decide a match from verdicts with a shown first (``ab``) and b shown first (``ba``).

    Verdicts name positions, so a judge that always prefers the first slot votes once
    for each side and the match is a tie: position bias cancels. A None verdict (the
    judge's reply was unreadable) counts as a tie. Ties go to the higher score when
    both scores are given and differ; with ``final`` a remaining tie goes to ``a``,
    the higher seed, so a bracket always finishes.
    """
    votes = [_vote(verdict_ab, "a"), _vote(verdict_ba, "b")]
    balance = votes.count("a") - votes.count("b")
    if balance != 0:
        winner: Side = "a" if balance > 0 else "b"
        both = votes.count(winner) == 2
        return Outcome(winner=winner, reason="consistent" if both else "one_sided")
    if score_a is not None and score_b is not None and score_a != score_b:
        return Outcome(winner="a" if score_a > score_b else "b", reason="score")
    if final:
        return Outcome(winner="a", reason="seed")
    return Outcome(winner=None, reason="tie")


_VERDICT_JSON_RE = re.compile(r'"(?:winner|verdict|choice|better)"\s*:\s*"([^"]*)"', re.IGNORECASE)
_LABEL = r"((?-i:[AB])|[12])"
_VERDICT_PHRASE_RE = re.compile(
    r"\[\[\s*(A|B|C|1|2|tie)\s*\]\]"
    r"|(?:winner|verdict|better|choice|prefer(?:red|ence)?)\s*(?:response|candidate|output)?"
    r"\s*(?:is|:|=)?\s*(?:response|candidate|output)?\s*\(?\s*" + _LABEL + r"\b"
    r"|\b(?:(?:response|candidate|output)\s*)?\(?"
    + _LABEL
    + r"\)?\s+is\s+(?:better|the\s+winner|preferred)",
    re.IGNORECASE,
)
_TIE_RE = re.compile(r"\b(tie|draw|equal(?:ly)?\s+good|neither)\b", re.IGNORECASE)


def _label(token: str) -> Verdict | None:
    token = token.strip().lower()
    if token in {"a", "1", "first", "response a", "candidate a"}:
        return "first"
    if token in {"b", "2", "second", "response b", "candidate b"}:
        return "second"
    if token in {"tie", "c", "draw", "neither", "both"}:
        return "tie"
    return None


def parse_verdict(text: str) -> Verdict | None:
    """Read a judge's pick between candidates labelled A (shown first) and B (second).

    Accepts JSON (``{"winner": "A"}``), MT-Bench style ``[[A]]`` / ``[[B]]`` / ``[[C]]``
    (tie), phrases such as "the better response is B", or a bare label; returns None
    when the reply names no candidate (treat it as a tie).
    """
    for match in _VERDICT_JSON_RE.finditer(text):
        verdict = _label(match.group(1))
        if verdict is not None:
            return verdict
    picks = [_label(next(g for g in m.groups() if g)) for m in _VERDICT_PHRASE_RE.finditer(text)]
    picks = [p for p in picks if p is not None]
    if picks:
        return picks[-1]
    bare = _label(text.strip().strip(".*`'\"()[] "))
    if bare is not None:
        return bare
    return "tie" if _TIE_RE.search(text) else None


class MatchRecord(BaseModel):
    """A decided match: who played, who won and how (``bye`` for a walkover)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    round: int
    slot: int
    a: int
    b: int | None
    winner: int
    reason: str


class Tournament:
    """A single-elimination tournament as a state machine over candidate indices.

    ``pending()`` lists the current round's undecided matches (byes are settled
    automatically); ``record(match, winner)`` settles one; when a round is complete the
    next one is paired. ``champion`` is set once one candidate remains.
    """

    def __init__(
        self, n_candidates: int, seed: int | None = None, *, order: Sequence[int] | None = None
    ) -> None:
        self.n_candidates = n_candidates
        self.round_index = 0
        self.history: list[MatchRecord] = []
        self.champion: int | None = None
        self._matches: list[Match] = []
        self._winners: dict[int, int] = {}
        self._start_round(make_bracket(n_candidates, seed, order=order))

    def _start_round(self, matches: list[Match]) -> None:
        if len(matches) == 1 and matches[0].is_bye:
            self.champion = matches[0].a
            self._matches = []
            return
        self._matches = matches
        self._winners = {}
        for match in matches:
            if match.is_bye:
                self._settle(match, match.a, "bye")

    def _settle(self, match: Match, winner: int, reason: str) -> None:
        self._winners[match.slot] = winner
        self.history.append(
            MatchRecord(
                round=self.round_index,
                slot=match.slot,
                a=match.a,
                b=match.b,
                winner=winner,
                reason=reason,
            )
        )

    @property
    def finished(self) -> bool:
        """True once a champion is known."""
        return self.champion is not None

    def pending(self) -> list[Match]:
        """The current round's matches still to be judged (independent of each other)."""
        return [m for m in self._matches if m.slot not in self._winners]

    def record(self, match: Match, winner: int, reason: str = "judge") -> None:
        """Settle ``match`` with ``winner`` (one of its two candidates); may start a round."""
        if match not in self.pending():
            raise ValueError(
                f"match {match!r} is not pending in round {self.round_index}; "
                "record only matches returned by pending()"
            )
        if winner not in (match.a, match.b):
            raise ValueError(
                f"winner {winner!r} did not play in match {match!r}; pass match.a or match.b"
            )
        self._settle(match, winner, reason)
        if not self.pending():
            winners = [self._winners[m.slot] for m in self._matches]
            self.round_index += 1
            if len(winners) == 1:
                self.champion = winners[0]
                self._matches = []
            else:
                self._start_round(next_round(winners))

    def record_outcome(self, match: Match, outcome: Outcome) -> None:
        """Settle ``match`` from a decided ``Outcome``; a tie must be re-judged first."""
        if outcome.winner is None:
            raise ValueError(
                f"match {match!r} ended in a tie; re-judge it or call "
                "resolve_match(..., final=True) to settle it"
            )
        if match.b is None:
            raise ValueError(f"match {match!r} is a bye; it is settled automatically")
        winner = match.a if outcome.winner == "a" else match.b
        self.record(match, winner, outcome.reason)

    def rounds_total(self) -> int:
        """How many rounds the whole bracket has (0 for a single candidate)."""
        rounds, size = 0, 1
        while size < self.n_candidates:
            size *= 2
            rounds += 1
        return rounds

    def to_details(self) -> dict[str, object]:
        """Plain data for reports: every decided match and the champion."""
        return {
            "champion": self.champion,
            "rounds": self.rounds_total(),
            "matches": [record.model_dump() for record in self.history],
        }
