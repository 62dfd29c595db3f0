"""Online trace pruning as a pure state machine, after DeepConf online (Fu et al., 2025).

The op streams a trace's tokens with logprobs into a ``TracePruner``; when the pruner
answers "abort" the op closes the stream, which stops generation even on a stock
OpenAI-compatible server. ``warmup_then_prune`` plans the DeepConf schedule: a few
warm-up traces run to completion, their confidences set the threshold, and the rest
run under the pruner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agents.strategies.vote_confidence import (
    DEFAULT_WINDOW,
    ConfidenceMode,
    SlidingWindowMonitor,
    calibrate_threshold,
    lowest_group_confidence,
    token_confidence,
)
from orchestrator import ConfigError, TokenLogprob

PruneDecision = Literal["continue", "abort"]


class TracePruner:
    """Consumes one trace's streamed token logprobs and says when to abort it.

    Aborts (and stays aborted) once a full ``window`` of token confidences has a mean
    below ``threshold``: DeepConf's online early stop (Fu et al., 2025). ``mode`` picks
    the token-confidence scale; ``auto`` fixes it on the first token (top-k when it
    carries alternatives, else the chosen token's logprob), and the threshold must have
    been calibrated on the same scale.
    """

    def __init__(
        self, threshold: float, window: int = DEFAULT_WINDOW, mode: ConfidenceMode = "auto"
    ) -> None:
        self._monitor = SlidingWindowMonitor(window, threshold)
        self._mode: Literal["top_k", "chosen"] | None = None if mode == "auto" else mode
        self.confidences: list[float] = []
        self.aborted = False

    @property
    def threshold(self) -> float:
        """The window mean below which the trace is aborted."""
        return self._monitor.threshold

    @property
    def window(self) -> int:
        """Tokens per sliding window."""
        return self._monitor.window

    @property
    def tokens(self) -> int:
        """Tokens consumed so far (up to and including the one that caused an abort)."""
        return len(self.confidences)

    @property
    def lowest_window(self) -> float | None:
        """Lowest full-window mean seen so far; None while the first window is filling."""
        return self._monitor.lowest

    def feed(self, logprobs: Sequence[TokenLogprob]) -> PruneDecision:
        """Consume the logprobs of a streamed chunk; "abort" once the trace falls too low.

        Tokens fed after an abort are ignored: the decision is final.
        """
        if self.aborted:
            return "abort"
        for token in logprobs:
            if self._mode is None:
                self._mode = "top_k" if token.top_logprobs else "chosen"
            confidence = token_confidence(token, self._mode)
            self.confidences.append(confidence)
            if self._monitor.push(confidence):
                self.aborted = True
                return "abort"
        return "continue"

    def trace_confidence(self) -> float | None:
        """The finished trace's lowest-group confidence (whole trace if shorter than a window).

        This is the value ``calibrate_threshold`` expects from warm-up traces and the
        weight DeepConf gives the trace in the vote; None for a trace with no tokens.
        """
        if not self.confidences:
            return None
        return lowest_group_confidence(self.confidences, self.window)


class PrunePlan(BaseModel):
    """DeepConf online schedule: ``warmup`` full traces, then ``pruned`` traces under a pruner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warmup: int
    pruned: int
    keep_percent: float
    window: int

    @property
    def total(self) -> int:
        """All traces in the plan, warm-up and pruned."""
        return self.warmup + self.pruned

    def threshold(self, warmup_token_confidences: Sequence[Sequence[float]]) -> float:
        """Threshold from the warm-up traces' per-token confidences (Fu et al., 2025).

        Each non-empty warm-up trace contributes its lowest-group confidence; the
        threshold keeps about ``keep_percent``% of traces like them.
        """
        lowest = [
            lowest_group_confidence(trace, self.window)
            for trace in warmup_token_confidences
            if trace
        ]
        return calibrate_threshold(lowest, self.keep_percent)

    def pruner(self, threshold: float, mode: ConfidenceMode = "auto") -> TracePruner:
        """A fresh pruner for one post-warm-up trace."""
        return TracePruner(threshold, self.window, mode)


def warmup_then_prune(
    total: int,
    *,
    warmup: int = 16,
    keep_percent: float = 10.0,
    window: int = DEFAULT_WINDOW,
) -> PrunePlan:
    """Plan DeepConf online sampling (Fu et al., 2025) for ``total`` traces.

    The first ``min(warmup, total)`` traces run to completion and calibrate the
    threshold; the remaining ones are pruned online. DeepConf uses 16 warm-up traces,
    keep 10% (DeepConf-low, aggressive) or 90% (DeepConf-high, conservative).
    """
    if total < 1:
        raise ConfigError(f"total traces {total!r} must be >= 1")
    if warmup < 1:
        raise ConfigError(f"warm-up traces {warmup!r} must be >= 1; DeepConf uses 16")
    if not (math.isfinite(keep_percent) and 0.0 < keep_percent <= 100.0):
        raise ConfigError(
            f"keep_percent {keep_percent!r} is out of range; use a value in (0, 100], "
            "e.g. 10 (DeepConf-low) or 90 (DeepConf-high)"
        )
    if window < 1:
        raise ConfigError(f"confidence window {window!r} must be >= 1 token; e.g. 2048")
    first = min(warmup, total)
    return PrunePlan(warmup=first, pruned=total - first, keep_percent=keep_percent, window=window)
