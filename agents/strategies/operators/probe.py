"""``probe``: Parallel-Probe — probe every branch for its current answer, stop on consensus.

Parallel-Probe (Zheng et al. 2026, arXiv:2602.03845) runs N reasoning branches and, every
``interval`` tokens, elicits an intermediate answer from each (2D probing: width ×
depth). Once the majority answer has held for ``patience`` probes it stops every branch
and answers with it; after ``warmup`` probes it prunes branches whose answer keeps
deviating from the majority. The pure controller is ``probe_consensus.ProbeController``.

Where ours differs, and why: the paper probes a reasoning model by appending an
end-of-thinking marker and an answer prefix to each branch's own token prefix and
decoding a few tokens on the same engine. A stock chat API cannot append to a
half-written assistant turn, so each branch is written in segments (``segments.py``: the
stream is closed after ``interval`` tokens, which pauses it, and continued with a new
request), and a probe is a short separate request — the branch so far as an assistant
turn and a user turn asking for the current answer only, ``probe_tokens`` at most, at
temperature 0. All branches write a segment concurrently, then all are probed
concurrently. Branches that finish answer with their own final answer. If no consensus
forms within ``max_probes`` probes, the survivors run to their end and the majority of
their final answers wins.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.probe_consensus import ProbeController
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget
from agents.strategies.segments import Trace, continuation, stream_segment
from agents.strategies.vote_tally import majority_vote
from orchestrator import BudgetExceeded, ChatMessage, StrategyOutcome

PROBE_PROMPT = (
    "Stop reasoning here. Based only on your reasoning so far, state your current best "
    "final answer, in the final format the question asks for, and nothing else."
)


class ProbeParams(BaseModel):
    """Settings of ``probe``."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=8, ge=2, le=64, description="Branches (width).")
    interval: int = Field(
        default=256, ge=1, le=8192, description="Tokens each branch writes between probes."
    )
    max_probes: int = Field(
        default=8, ge=1, le=64, description="Probes at most; then the survivors run to the end."
    )
    patience: int = Field(
        default=2, ge=1, le=16, description="Probes in a row the leader must hold to stop."
    )
    min_share: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Least share of the answers the leader holds."
    )
    prune: bool = Field(default=True, description="Prune branches that keep deviating.")
    warmup: int = Field(default=2, ge=0, le=64, description="Probes before any pruning.")
    deviation: int = Field(
        default=2, ge=1, le=16, description="Probes in a row off the leader before pruning."
    )
    min_branches: int = Field(default=2, ge=1, le=64, description="Branches that always stay live.")
    probe_tokens: int = Field(
        default=24, ge=4, le=512, description="Completion limit of a probe's answer."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to find an answer in a probe or a finished branch."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)

    @model_validator(mode="after")
    def _consistent(self) -> ProbeParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.min_branches > self.n:
            raise ValueError(f"min_branches {self.min_branches} must be <= n {self.n}")
        return self


class _Probe:
    """One Parallel-Probe run: the branches, their probed answers, and what stopped it."""

    def __init__(self, branches: Branches, params: ProbeParams, messages: list[ChatMessage]):
        self.branches = branches
        self.params = params
        self.messages = messages
        self.traces = [Trace() for _ in range(params.n)]
        self.live = list(range(params.n))
        self.latest: dict[int, str | None] = {}
        self.stop: BudgetExceeded | None = None

    def _answer(self, text: str) -> str | None:
        p = self.params
        return extract_answer(text, p.extract, pattern=p.pattern, field=p.field)

    async def write(self, limit: int | None) -> None:
        """Every live, unfinished branch writes up to ``limit`` more tokens, concurrently."""
        writing = [i for i in self.live if not self.traces[i].finished]
        _, stop = await gather_within_budget(
            [
                stream_segment(
                    self.branches,
                    self.messages,
                    self.traces[i],
                    limit,
                    temperature=self.params.temperature,
                )
                for i in writing
            ]
        )
        self.stop = self.stop or stop

    async def probe_one(self, index: int) -> str | None:
        trace = self.traces[index]
        if trace.finished:
            return self._answer(trace.text)
        reply = await self.branches.text(
            continuation(self.messages, trace.text, PROBE_PROMPT),
            max_tokens=self.params.probe_tokens,
            temperature=0.0,
        )
        return self._answer(reply)

    async def _probed(self, index: int) -> tuple[str | None]:
        return (await self.probe_one(index),)

    async def probe(self) -> dict[int, str | None] | None:
        """Every live branch's current answer (None when the budget stopped a probe)."""
        answers, stop = await gather_within_budget([self._probed(i) for i in self.live])
        done = {i: a[0] for i, a in zip(self.live, answers, strict=True) if a is not None}
        # Anytime: the probes that came back before the budget stop still count.
        self.latest.update(done)
        if stop is not None:
            self.stop = self.stop or stop
            return None
        return done

    def final_answers(self) -> list[str | None]:
        """The live branches' answers: a finished branch's own, else its latest probe."""
        return [
            self._answer(self.traces[i].text) if self.traces[i].finished else self.latest.get(i)
            for i in self.live
        ]


async def run_probe(
    branches: Branches, params: ProbeParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    run = _Probe(branches, params, messages)
    controller = ProbeController(
        patience=params.patience,
        min_share=params.min_share,
        warmup=params.warmup,
        deviation=params.deviation,
        min_branches=params.min_branches,
        prune=params.prune,
    )
    matrix: list[dict[str, str | None]] = []
    pruned: list[int] = []
    consensus: str | None = None
    while controller.probes < params.max_probes and run.stop is None:
        await run.write(params.interval)
        if run.stop is not None:
            break
        probed = await run.probe()
        if probed is None:
            break
        matrix.append({str(i + 1): a for i, a in probed.items()})
        decision = controller.observe(probed)
        if decision.stop:
            consensus = decision.leader
            break
        pruned.extend(decision.prune)
        run.live = [i for i in run.live if i not in decision.prune]
        if all(run.traces[i].finished for i in run.live):
            break
    if consensus is None and run.stop is None:
        await run.write(None)
    answers = run.final_answers()
    if consensus is None and not any(a is not None for a in answers) and run.stop is not None:
        raise run.stop
    tally = majority_vote(answers)
    fallback = next((run.traces[i].text.strip() for i in run.live if run.traces[i].text), "")
    answer = consensus or tally.winner or fallback
    details: dict[str, Any] = {
        "probes": controller.probes,
        "consensus": consensus is not None,
        "pruned": [i + 1 for i in pruned],
        "live": [i + 1 for i in run.live],
        "matrix": matrix,
        "counts": dict(tally.counts),
        "branch_tokens": [t.tokens for t in run.traces],
    }
    return StrategyOutcome(
        answer=answer,
        candidates=[run.traces[i].text for i in run.live],
        details=details,
        stopped_by=run.stop.budget if run.stop is not None else None,
    )


PROBE = StrategyDef(
    name="probe",
    params=ProbeParams,
    run=run_probe,
    paper="Zheng et al. 2026, Parallel-Probe: Efficient Parallel Thinking via 2D Probing "
    "(arXiv:2602.03845)",
    summary="N branches probed every few tokens for their current answer; stop once the "
    "majority holds, prune branches that keep deviating",
)
