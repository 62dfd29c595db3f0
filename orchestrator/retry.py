"""Retry policy (pure): which errors are worth another attempt, and how long to wait first.

Transient errors (a replica that is down or overloaded, a timeout, a dropped
connection) may pass on their own; permanent ones (a bad tool call, a model output
that does not parse, an invalid plan, a bad setting) fail the same way every time.
"""

from __future__ import annotations

import random

from orchestrator.errors import BackendUnavailable

# Cap on one backoff wait, so that a long retry chain does not stall a job for minutes.
MAX_BACKOFF_S = 30.0


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed where this one raised ``exc``."""
    if isinstance(exc, BackendUnavailable):
        return getattr(exc, "retryable", True) is not False
    # TimeoutError and ConnectionError are both OSErrors.
    return isinstance(exc, OSError)


def backoff_delay(
    attempt: int, base_s: float, rng: random.Random, *, max_s: float = MAX_BACKOFF_S
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): exponential with jitter.

    The wait doubles with each attempt and is scaled by a random factor in [0.5, 1.5),
    so that tasks that failed together do not retry in lockstep.
    """
    return float(min(max_s, base_s * 2 ** (attempt - 1) * (0.5 + rng.random())))


def describe_error(exc: BaseException) -> str:
    """An error's type and message, as stored in a failed task's result."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
