"""Parallel-Probe's controller as a pure state machine: consensus stop and deviation pruning.

Parallel-Probe (Zheng et al. 2026, "Parallel-Probe: Towards Efficient Parallel Thinking
via 2D Probing", arXiv:2602.03845) probes every branch of a parallel-thinking run at
regular depths for its intermediate answer, which gives a width × depth matrix of
answers. Its controller stops all branches once the majority answer has stayed the same
for a few probes in a row (consensus-based early stopping: global consensus stabilizes
early), and, after a warm-up, prunes branches that keep disagreeing with the majority
(deviation-based pruning). ``ProbeController.observe`` takes one column of that matrix
(each live branch's probed answer) and says whether to stop and which branches to prune.
Standard library and pydantic only.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from agents.strategies.vote_tally import majority_vote


class ProbeDecision(BaseModel):
    """What one probe of every live branch decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    leader: str | None
    share: float
    stable_for: int
    stop: bool
    prune: tuple[int, ...] = ()


class ProbeController:
    """Consumes each probe's answers; stops on a stable majority, prunes steady dissenters.

    - ``patience``: the leader must be the same (and not None) for this many probes in a
      row, holding at least ``min_share`` of the answers given, to stop.
    - ``warmup``: no branch is pruned during the first ``warmup`` probes (early answers
      are mostly guesses).
    - ``deviation``: a branch whose answer differs from the leader for this many probes
      in a row is pruned; a branch with no answer yet neither deviates nor agrees (its
      streak restarts). At least ``min_branches`` branches stay live.
    - ``prune``: False turns pruning off (consensus stopping only).
    """

    def __init__(
        self,
        *,
        patience: int,
        min_share: float,
        warmup: int,
        deviation: int,
        min_branches: int,
        prune: bool = True,
    ) -> None:
        if patience < 1 or deviation < 1 or min_branches < 1 or warmup < 0:
            raise ValueError(
                f"patience {patience!r}, deviation {deviation!r} and min_branches "
                f"{min_branches!r} must be >= 1 and warmup {warmup!r} >= 0"
            )
        if not 0.0 < min_share <= 1.0:
            raise ValueError(f"min_share {min_share!r} must be in (0, 1]")
        self.patience = patience
        self.min_share = min_share
        self.warmup = warmup
        self.deviation = deviation
        self.min_branches = min_branches
        self.prune = prune
        self.probes = 0
        self.leader: str | None = None
        self.stable_for = 0
        self.streaks: dict[int, int] = {}

    def observe(self, answers: Mapping[int, str | None]) -> ProbeDecision:
        """Take the answers of one probe (branch index → answer, None: none stated)."""
        self.probes += 1
        tally = majority_vote(list(answers.values()))
        leader = tally.winner
        if leader is not None and leader == self.leader:
            self.stable_for += 1
        else:
            self.stable_for = 0 if leader is None else 1
        self.leader = leader
        stop = leader is not None and self.stable_for >= self.patience
        stop = stop and tally.share >= self.min_share
        for branch, answer in answers.items():
            deviates = answer is not None and leader is not None and answer != leader
            self.streaks[branch] = self.streaks.get(branch, 0) + 1 if deviates else 0
        pruned: tuple[int, ...] = ()
        if self.prune and not stop and self.probes > self.warmup:
            pruned = self._to_prune(answers)
        for branch in pruned:
            self.streaks.pop(branch, None)
        return ProbeDecision(
            leader=leader,
            share=round(tally.share, 4),
            stable_for=self.stable_for,
            stop=stop,
            prune=pruned,
        )

    def _to_prune(self, answers: Mapping[int, str | None]) -> tuple[int, ...]:
        """The longest-deviating branches past ``deviation``, keeping ``min_branches`` live."""
        room = max(0, len(answers) - self.min_branches)
        steady = [b for b in answers if self.streaks.get(b, 0) >= self.deviation]
        steady.sort(key=lambda b: (-self.streaks[b], b))
        return tuple(sorted(steady[:room]))
