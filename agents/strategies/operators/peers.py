"""``peers``: Learning from Peers — parallel traces pause, swap summaries, and go on.

LeaP (Luo et al. 2025, arXiv:2505.07787): N reasoning paths run in parallel; every
``interval`` tokens each pauses, summarizes its reasoning so far, and reads the
summaries of ``k`` peers chosen by ``routing`` (``peers_routing.route``) before it goes
on, so a path that started badly can recover from its peers' insights (the paper's
"prefix dominance trap"). After ``exchanges`` exchanges the paths run to their end and
their final answers are voted on.

Where ours differs, and why: in the paper the model writes its summary inside its own
reasoning and the peers' summaries are spliced into its token stream. On a stock chat
API a path is a conversation instead: its stream is closed after ``interval`` tokens
(the pause), its summary is a separate short request (``summary_tokens`` at most) that
shares the path's prefix, and the peers' summaries arrive as the next user turn, after
which the path continues as a new assistant turn — so they stay in its context, as in
the paper. A path that has already finished contributes the end of its text as its
summary (no call). All paths write each segment concurrently; all summaries of an
exchange are requested concurrently.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.peers_routing import Routing, peers_prompt, route
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget
from agents.strategies.segments import Trace, stream_segment
from agents.strategies.vote_tally import majority_vote
from orchestrator import BudgetExceeded, ChatMessage, StrategyOutcome

SUMMARY_PROMPT = (
    "Pause here. In a few sentences, summarize your reasoning so far and the answer it "
    "points to, for peers working on the same question."
)


class PeersParams(BaseModel):
    """Settings of ``peers``."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=4, ge=2, le=32, description="Reasoning paths run in parallel.")
    interval: int = Field(
        default=256, ge=1, le=8192, description="Tokens each path writes between exchanges."
    )
    exchanges: int = Field(
        default=2, ge=1, le=16, description="Summary exchanges before the paths run to the end."
    )
    k: int = Field(default=3, ge=1, le=31, description="Peers' summaries each path reads.")
    routing: Routing = Field(
        default="dispersed",
        description="Which peers: dispersed (least similar), clustered (most similar), hybrid.",
    )
    summary_tokens: int = Field(
        default=128, ge=16, le=1024, description="Completion limit of a summary."
    )
    summary_chars: int = Field(
        default=800, ge=100, le=20_000, description="Each peer summary is cut to this."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find a path's final answer for the vote."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    @model_validator(mode="after")
    def _consistent(self) -> PeersParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        return self


class _Path:
    """One reasoning path: its conversation (segments and peers' turns) and its text."""

    def __init__(self, messages: list[ChatMessage]) -> None:
        self.conversation = list(messages)
        self.parts: list[str] = []
        self.finished = False
        self.tokens = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def said(self, part: Trace) -> None:
        self.parts.append(part.text)
        self.tokens += part.tokens
        self.finished = part.finished
        self.conversation.append(ChatMessage(role="assistant", content=part.text))

    def told(self, prompt: str) -> None:
        self.conversation.append(ChatMessage(role="user", content=prompt))


class _Peers:
    """One LeaP run: the paths, their exchanges, and the budget stop."""

    def __init__(self, branches: Branches, params: PeersParams, messages: list[ChatMessage]):
        self.branches = branches
        self.params = params
        self.paths = [_Path(messages) for _ in range(params.n)]
        self.routes: list[list[list[int]]] = []
        self.stop: BudgetExceeded | None = None

    def running(self) -> list[_Path]:
        return [p for p in self.paths if not p.finished]

    async def _segment(self, path: _Path, limit: int | None) -> None:
        part = await stream_segment(
            self.branches, path.conversation, Trace(), limit, temperature=self.params.temperature
        )
        path.said(part)

    async def write(self, limit: int | None) -> None:
        """Every unfinished path writes its next segment (``limit`` tokens), concurrently."""
        _, stop = await gather_within_budget([self._segment(p, limit) for p in self.running()])
        self.stop = self.stop or stop

    async def _summary(self, path: _Path) -> str:
        if path.finished:
            return path.text[-self.params.summary_chars :]
        ask = [*path.conversation, ChatMessage(role="user", content=SUMMARY_PROMPT)]
        return await self.branches.text(ask, max_tokens=self.params.summary_tokens, temperature=0.0)

    async def exchange(self) -> bool:
        """Summaries from every path, routed; each running path gets its peers' turn."""
        summaries, stop = await gather_within_budget([self._summary(p) for p in self.paths])
        if stop is not None:
            self.stop = self.stop or stop
            return False
        readable = [s if s is not None and s.strip() else None for s in summaries]
        routes = route(readable, min(self.params.k, self.params.n - 1), self.params.routing)
        self.routes.append(routes)
        for path, peers in zip(self.paths, routes, strict=True):
            if path.finished:
                continue
            shown = [clip(readable[j] or "", self.params.summary_chars) for j in peers]
            path.told(peers_prompt(shown))
        return True


async def run_peers(
    branches: Branches, params: PeersParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    run = _Peers(branches, params, messages)
    exchanged = 0
    for _ in range(params.exchanges):
        await run.write(params.interval)
        if run.stop is not None or not run.running():
            break
        if not await run.exchange():
            break
        exchanged += 1
    if run.stop is None:
        await run.write(None)
    texts = [p.text for p in run.paths]
    if not any(t.strip() for t in texts) and run.stop is not None:
        raise run.stop
    answers = [
        extract_answer(t, params.extract, pattern=params.pattern, field=params.field) for t in texts
    ]
    tally = majority_vote(answers)
    fallback = next((t.strip() for t in texts if t.strip()), "")
    details: dict[str, Any] = {
        "exchanges": exchanged,
        "routing": params.routing,
        "routes": [[[j + 1 for j in peers] for peers in r] for r in run.routes],
        "counts": dict(tally.counts),
        "branch_tokens": [p.tokens for p in run.paths],
    }
    return StrategyOutcome(
        answer=tally.winner if tally.winner is not None else fallback,
        candidates=texts,
        details=details,
        stopped_by=run.stop.budget if run.stop is not None else None,
    )


PEERS = StrategyDef(
    name="peers",
    params=PeersParams,
    run=run_peers,
    paper="Luo et al. 2025, Learning from Peers in Reasoning Models (arXiv:2505.07787)",
    summary="Parallel traces pause every few tokens, exchange short summaries with routed "
    "peers, continue with them in context, then vote",
)
