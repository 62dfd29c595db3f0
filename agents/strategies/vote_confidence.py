"""Trace confidence from token logprobs, after "Deep Think with Confidence" (Fu et al., 2025).

DeepConf scores each generated token by how peaked the model's distribution was, then
summarizes a trace by the mean, the lowest sliding-window ("group") mean, the mean of
its last tokens, or the mean of its bottom groups. Low-confidence traces are dropped
from the vote or, online, stopped early. Higher is always more confident. Standard
library only (plus the TokenLogprob model).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Literal, get_args

from orchestrator import ConfigError, TokenLogprob

ConfidenceMode = Literal["auto", "top_k", "chosen"]
ConfidenceMeasure = Literal["mean", "lowest_group", "tail", "bottom_percent"]
CONFIDENCE_MEASURES: tuple[str, ...] = get_args(ConfidenceMeasure)

DEFAULT_WINDOW = 2048
DEFAULT_TAIL = 2048
DEFAULT_BOTTOM_PERCENT = 10.0


def token_confidence(token: TokenLogprob, mode: Literal["top_k", "chosen"]) -> float:
    """One token's confidence (Fu et al., 2025).

    ``top_k``: the negative mean of the top-k logprobs at that position (large when the
    distribution is peaked). ``chosen``: the chosen token's logprob, for backends that
    return no alternatives.
    """
    if mode == "chosen":
        return token.logprob
    if not token.top_logprobs:
        raise ValueError(
            f"token {token.token!r} has no top_logprobs, so its top-k confidence is "
            "undefined; request top_logprobs >= 2 or use mode='chosen'"
        )
    values = token.top_logprobs.values()
    return -math.fsum(values) / len(values)


def resolve_mode(
    logprobs: Sequence[TokenLogprob], mode: ConfidenceMode
) -> Literal["top_k", "chosen"]:
    """``auto`` means top-k when every token carries alternatives, else chosen-token."""
    if mode != "auto":
        return mode
    if logprobs and all(token.top_logprobs for token in logprobs):
        return "top_k"
    return "chosen"


def token_confidences(
    logprobs: Sequence[TokenLogprob], mode: ConfidenceMode = "auto"
) -> list[float]:
    """Per-token confidences of a trace (Fu et al., 2025), one scale for the whole trace."""
    resolved = resolve_mode(logprobs, mode)
    return [token_confidence(token, resolved) for token in logprobs]


def _require_tokens(confidences: Sequence[float], what: str) -> None:
    if not confidences:
        raise ValueError(f"{what} of an empty trace is undefined; skip traces with no tokens")


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"confidence {name} {value!r} must be >= 1 token; e.g. {name}=2048")


def mean_confidence(confidences: Sequence[float]) -> float:
    """Average token confidence over the whole trace (Fu et al., 2025)."""
    _require_tokens(confidences, "mean confidence")
    return math.fsum(confidences) / len(confidences)


def group_confidences(confidences: Sequence[float], window: int = DEFAULT_WINDOW) -> list[float]:
    """Means of every ``window``-token sliding window, stride 1 (DeepConf group confidence).

    A trace shorter than the window is one group: its mean.
    """
    _check_positive("window", window)
    _require_tokens(confidences, "group confidence")
    if len(confidences) <= window:
        return [mean_confidence(confidences)]
    groups: list[float] = []
    running = math.fsum(confidences[:window])
    groups.append(running / window)
    for i in range(window, len(confidences)):
        running += confidences[i] - confidences[i - window]
        # Recompute exactly now and then so float drift cannot build up on long traces.
        if (i + 1) % window == 0:
            running = math.fsum(confidences[i + 1 - window : i + 1])
        groups.append(running / window)
    return groups


def lowest_group_confidence(confidences: Sequence[float], window: int = DEFAULT_WINDOW) -> float:
    """The lowest sliding-window mean: DeepConf's signal for a trace that lost its way."""
    return min(group_confidences(confidences, window))


def tail_confidence(confidences: Sequence[float], tail: int = DEFAULT_TAIL) -> float:
    """Mean confidence of the last ``tail`` tokens, where the answer is (Fu et al., 2025)."""
    _check_positive("tail", tail)
    _require_tokens(confidences, "tail confidence")
    return mean_confidence(confidences[-tail:])


def bottom_percent_confidence(
    confidences: Sequence[float],
    percent: float = DEFAULT_BOTTOM_PERCENT,
    window: int = DEFAULT_WINDOW,
) -> float:
    """Mean of the lowest ``percent``% group confidences (DeepConf bottom-10% by default)."""
    if not 0.0 < percent <= 100.0:
        raise ConfigError(
            f"bottom percent {percent!r} is out of range; use a value in (0, 100], e.g. 10"
        )
    groups = sorted(group_confidences(confidences, window))
    keep = max(1, math.ceil(round(len(groups) * percent / 100.0, 9)))
    return math.fsum(groups[:keep]) / keep


def trace_confidence(
    confidences: Sequence[float],
    measure: ConfidenceMeasure = "lowest_group",
    *,
    window: int = DEFAULT_WINDOW,
    tail: int = DEFAULT_TAIL,
    percent: float = DEFAULT_BOTTOM_PERCENT,
) -> float:
    """One trace's confidence by the named DeepConf measure (Fu et al., 2025)."""
    if measure == "mean":
        return mean_confidence(confidences)
    if measure == "lowest_group":
        return lowest_group_confidence(confidences, window)
    if measure == "tail":
        return tail_confidence(confidences, tail)
    if measure == "bottom_percent":
        return bottom_percent_confidence(confidences, percent, window)
    raise ConfigError(
        f"confidence measure {measure!r} is unknown; use one of {', '.join(CONFIDENCE_MEASURES)}"
    )


class SlidingWindowMonitor:
    """Online DeepConf check: is the mean of the last ``window`` token confidences too low?

    Feed token confidences one at a time; ``push`` answers True (abort the trace) once
    the window is full and its mean is below ``threshold`` (Fu et al., 2025, DeepConf
    online). Constant time per token.
    """

    def __init__(self, window: int, threshold: float) -> None:
        _check_positive("window", window)
        if not math.isfinite(threshold):
            raise ConfigError(f"confidence threshold {threshold!r} must be a finite number")
        self.window = window
        self.threshold = threshold
        self.count = 0
        self.lowest: float | None = None
        self._values: deque[float] = deque()
        self._sum = 0.0

    @property
    def full(self) -> bool:
        """Whether ``window`` tokens have been seen, so the window mean is defined."""
        return len(self._values) == self.window

    @property
    def current(self) -> float | None:
        """Mean of the current window, or None before it is full."""
        return self._sum / self.window if self.full else None

    def push(self, confidence: float) -> bool:
        """Add one token's confidence; True when the full window's mean is below threshold."""
        self._values.append(confidence)
        self._sum += confidence
        if len(self._values) > self.window:
            self._sum -= self._values.popleft()
        self.count += 1
        if self.count % self.window == 0:
            self._sum = math.fsum(self._values)
        mean = self.current
        if mean is None:
            return False
        if self.lowest is None or mean < self.lowest:
            self.lowest = mean
        return mean < self.threshold


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        raise ValueError("percentile of no values is undefined")
    if not 0.0 <= q <= 100.0:
        raise ConfigError(f"percentile {q!r} is out of range; use a value in [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def calibrate_threshold(warmup_trace_confidences: Sequence[float], keep_percent: float) -> float:
    """Online stopping threshold from warm-up traces (DeepConf, Fu et al., 2025).

    ``warmup_trace_confidences`` are the warm-up traces' lowest-group confidences; the
    threshold is their ``100 - keep_percent`` percentile, so about ``keep_percent``% of
    traces like them would survive: DeepConf-low keeps 10%, DeepConf-high keeps 90%.
    """
    if not 0.0 < keep_percent <= 100.0:
        raise ConfigError(
            f"keep_percent {keep_percent!r} is out of range; use a value in (0, 100], "
            "e.g. 10 (DeepConf-low) or 90 (DeepConf-high)"
        )
    if not warmup_trace_confidences:
        raise ConfigError(
            "cannot calibrate a confidence threshold from zero warm-up traces; "
            "run at least one warm-up trace (DeepConf uses 16)"
        )
    return percentile(warmup_trace_confidences, 100.0 - keep_percent)
