"""The statistics of ``bench/quality.py``: intervals, paired differences, matched budgets.

Pure functions over counts; standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.96


def wilson_interval(right: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of an accuracy of ``right`` out of ``n``."""
    if n == 0:
        return 0.0, 1.0
    if not 0 <= right <= n:
        raise ValueError(f"right={right!r} must be between 0 and n={n!r}")
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - spread), min(1.0, centre + spread)


def paired_difference(
    first: Sequence[bool], second: Sequence[bool], z: float = Z95
) -> tuple[float, float, float]:
    """Accuracy of ``first`` minus ``second`` on the same questions, with its 95 % interval.

    A paired (Wald) interval from the discordant questions: ``d = (b - c) / n`` where ``b``
    counts questions only ``first`` got right and ``c`` those only ``second`` got right.
    """
    if len(first) != len(second):
        raise ValueError(f"paired results differ in length: {len(first)} vs {len(second)}")
    n = len(first)
    if n == 0:
        return 0.0, -1.0, 1.0
    b = sum(1 for x, y in zip(first, second, strict=True) if x and not y)
    c = sum(1 for x, y in zip(first, second, strict=True) if y and not x)
    d = (b - c) / n
    spread = z * math.sqrt(max(0.0, (b + c) / n - d * d) / n)
    return d, max(-1.0, d - spread), min(1.0, d + spread)


def verdict(low: float, high: float) -> str:
    """Words for a difference's interval: better, worse, or no significant difference."""
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "no significant difference"


def matched_samples(tokens: float, prompt_tokens: float, completion_tokens: float) -> int:
    """How many samples of a plain vote fit in ``tokens`` per question (at least one).

    A vote of ``k`` samples is one request with ``n=k``: its prompt is counted once and each
    sample adds a completion, so it costs ``prompt + k * completion`` tokens, with the
    single sample's measured prompt and completion tokens per question.
    """
    if completion_tokens <= 0:
        raise ValueError(f"completion_tokens={completion_tokens!r} must be positive")
    return max(1, math.floor((tokens - prompt_tokens) / completion_tokens))
