"""``tournament``: N candidates in a pairwise knockout bracket judged by an LLM.

Pairwise ranking (Qin et al., 2024, "Large Language Models are Effective Text Rankers
with Pairwise Ranking Prompting", arXiv:2306.17563) in a single-elimination bracket with
byes; every match is judged in both presentation orders so a judge's position bias
cancels (Zheng et al., 2023, arXiv:2306.05685). A tie is re-judged a bounded number of
times, then broken by the two candidates' pointwise judge scores, then by seed. All
matches of a round run concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from agents.common import clip
from agents.strategies.candidates import CandidateParams, draw_candidates
from agents.strategies.judge_scorer import DEFAULT_RUBRIC, JUDGE_SYSTEM, JudgeScorer
from agents.strategies.runtime import (
    Branches,
    StrategyDef,
    gather_within_budget,
    question_of,
    run_all,
)
from agents.strategies.tournament_bracket import (
    Match,
    Outcome,
    Tournament,
    Verdict,
    parse_verdict,
    resolve_match,
)
from orchestrator import ChatMessage, StrategyOutcome

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 300},
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
    },
    "required": ["reason", "winner"],
}


class TournamentParams(CandidateParams):
    """Settings of ``tournament``."""

    n: int = Field(default=8, ge=1, le=256, description="Candidates in the bracket.")
    judge: str | None = Field(
        default=None, description="Agent that judges the matches (default: the node's)."
    )
    rubric: str = Field(
        default=DEFAULT_RUBRIC, min_length=1, max_length=4000, description="What makes one better."
    )
    rejudge: int = Field(
        default=1, ge=0, le=5, description="Re-judgings of a tied match before the tie-break."
    )
    rejudge_temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Judge temperature when re-judging a tie."
    )
    tie_break: Literal["score", "seed"] = Field(
        default="score",
        description="A tie left after re-judging goes to the higher judge score, or the seed.",
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**31, description="Shuffle the seeding (default: sample order)."
    )


@dataclass
class _Judging:
    """One tournament's judge, candidates and the verdicts it has collected."""

    judge: Branches
    texts: list[str]
    question: str
    params: TournamentParams
    scorer: JudgeScorer
    scores: dict[int, float | None] = field(default_factory=dict)
    verdicts: dict[tuple[int, int], list[list[str | None]]] = field(default_factory=dict)

    async def verdict(self, first: int, second: int, temperature: float) -> Verdict | None:
        """The judge's pick with ``first`` shown as A and ``second`` as B."""
        prompt = (
            f"Question:\n{self.question}\n\n"
            f"Response A:\n{clip(self.texts[first], self.params.clip_chars)}\n\n"
            f"Response B:\n{clip(self.texts[second], self.params.clip_chars)}\n\n"
            f"Criteria: {self.params.rubric}\n\nWhich response is better? Reply as JSON: "
            f'{{"reason": "<one sentence>", "winner": "A" or "B" or "tie"}}.'
        )
        messages = [
            ChatMessage(role="system", content=self.judge.agent.system or JUDGE_SYSTEM),
            ChatMessage(role="user", content=prompt),
        ]
        reply = await self.judge.text(messages, json_schema=VERDICT_SCHEMA, temperature=temperature)
        return parse_verdict(reply)

    async def score(self, index: int) -> float | None:
        if index not in self.scores:
            self.scores[index] = await self.scorer.score(self.texts[index])
        return self.scores[index]

    async def play(self, match: Match) -> Outcome:
        """Judge ``match`` in both orders, re-judging ties, then break a remaining tie."""
        assert match.b is not None
        a, b = match.a, match.b
        log = self.verdicts.setdefault((a, b), [])
        for attempt in range(self.params.rejudge + 1):
            temperature = 0.0 if attempt == 0 else self.params.rejudge_temperature
            ab, ba = await run_all(
                [self.verdict(a, b, temperature), self.verdict(b, a, temperature)]
            )
            log.append([ab, ba])
            outcome = resolve_match(ab, ba)
            if outcome.winner is not None:
                return outcome
        if self.params.tie_break == "score":
            score_a, score_b = await run_all([self.score(a), self.score(b)])
            return resolve_match(ab, ba, score_a, score_b, final=True)
        return resolve_match(ab, ba, final=True)


def _leader(bracket: Tournament) -> int:
    """The best candidate so far: unbeaten, with the most wins; the earlier sample on a tie."""
    beaten = {m.b if m.winner == m.a else m.a for m in bracket.history if m.b is not None}
    wins: dict[int, int] = {}
    for record in bracket.history:
        wins[record.winner] = wins.get(record.winner, 0) + (record.b is not None)
    alive = [i for i in range(bracket.n_candidates) if i not in beaten]
    return max(alive, key=lambda i: (wins.get(i, 0), -i))


async def run_tournament(
    branches: Branches, params: TournamentParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    judge = branches.or_agent(params.judge, param="params.judge")
    drawn = await draw_candidates(
        branches, messages, params.n, inner=params.inner, temperature=params.temperature
    )
    texts = drawn.texts
    question = question_of(messages)
    judging = _Judging(
        judge,
        texts,
        question,
        params,
        JudgeScorer(judge, question, params.rubric, params.clip_chars),
    )
    bracket = Tournament(len(texts), params.seed)
    stopped_by = drawn.stopped_by
    while not bracket.finished:
        pending, round_index = bracket.pending(), bracket.round_index
        outcomes, stop = await gather_within_budget([judging.play(m) for m in pending])
        for match, outcome in zip(pending, outcomes, strict=True):
            if outcome is not None:
                bracket.record_outcome(match, outcome)
        await branches.ctx.emit(
            "log",
            branches.task_id,
            message=f"tournament round {round_index + 1}: {len(pending)} matches judged",
            round=round_index,
        )
        if stop is not None:
            stopped_by = stop.budget
            break
    winner = bracket.champion if bracket.champion is not None else _leader(bracket)
    details: dict[str, Any] = {
        "candidates": len(texts),
        "winner": winner,
        "finished": bracket.finished,
        "rounds_total": bracket.rounds_total(),
        "bracket": _rounds(bracket, judging),
        "tie_break_scores": {str(i): s for i, s in sorted(judging.scores.items())},
    }
    return StrategyOutcome(texts[winner].strip(), texts, details, stopped_by=stopped_by)


def _rounds(bracket: Tournament, judging: _Judging) -> list[list[dict[str, Any]]]:
    """The decided matches grouped by round, each with its verdicts (A-first, B-first)."""
    rounds: list[list[dict[str, Any]]] = []
    for record in bracket.history:
        while len(rounds) <= record.round:
            rounds.append([])
        entry: dict[str, Any] = {
            "a": record.a,
            "b": record.b,
            "winner": record.winner,
            "reason": record.reason,
        }
        if record.b is not None:
            entry["verdicts"] = judging.verdicts.get((record.a, record.b), [])
        rounds[record.round].append(entry)
    return rounds


TOURNAMENT = StrategyDef(
    name="tournament",
    params=TournamentParams,
    run=run_tournament,
    paper="Qin et al. 2024, Pairwise Ranking Prompting (arXiv:2306.17563); Zheng et al. 2023, "
    "LLM-as-a-Judge (arXiv:2306.05685)",
    summary="Sample N candidates and run a knockout bracket of pairwise judgings, each match "
    "judged in both orders",
)
