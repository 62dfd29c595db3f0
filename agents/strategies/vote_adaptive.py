"""Stopping rules for adaptive-width voting, after Adaptive-Consistency (Aggarwal et al., 2023).

Instead of always drawing N samples, draw them in waves and stop as soon as the leading
answer is very probably the true majority: under a Beta posterior over the leader's
share against the runner-up (exact), or a Dirichlet posterior over all answers (Monte
Carlo). Standard library only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from orchestrator import ConfigError

StopRule = Literal["beta", "dirichlet", "fixed"]
STOP_RULES: tuple[str, ...] = get_args(StopRule)

Counts = Mapping[str, float] | Sequence[float]


def _ranked_counts(counts: Counts) -> list[float]:
    """Vote counts, highest first; rejects negative or non-finite counts."""
    values = [float(v) for v in (counts.values() if isinstance(counts, Mapping) else counts)]
    for value in values:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"vote count {value!r} must be finite and >= 0")
    return sorted(values, reverse=True)


def _check_threshold(threshold: float) -> None:
    if not 0.5 < threshold <= 1.0:
        raise ConfigError(
            f"stopping threshold {threshold!r} is out of range; use a probability in "
            "(0.5, 1], e.g. 0.95"
        )


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the Beta(a, b) CDF at ``x``, by Lentz's continued fraction.

    Converges fast on the side of the mode chosen by the symmetry
    I_x(a, b) = 1 - I_{1-x}(b, a); standard library only.
    """
    if a <= 0 or b <= 0:
        raise ValueError(f"Beta parameters must be > 0, got a={a!r}, b={b!r}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - regularized_incomplete_beta(1.0 - x, b, a)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            result *= delta
        if abs(delta - 1.0) < 1e-15:
            return result
    return result


def _beta_above_half_integer(a: int, b: int) -> float:
    """P(X > 1/2) for X ~ Beta(a, b) with integer a, b: an exact binomial sum.

    I_{1/2}(a, b) = P(Binomial(a+b-1, 1/2) >= a), so P(X > 1/2) = sum_{j<a} C(n, j) / 2^n.
    """
    n = a + b - 1
    term = 1
    below = 0
    for j in range(a):
        below += term
        term = term * (n - j) // (j + 1)
    return below / (1 << n)


def beta_lead_probability(counts: Counts) -> float:
    """P(leader's share > runner-up's) under a Beta(v1 + 1, v2 + 1) posterior.

    The Beta stopping criterion of Adaptive-Consistency (Aggarwal et al., 2023), where v1
    and v2 are the two largest vote counts (v2 = 0 when only one answer was seen). Exact
    for integer counts; weighted (fractional) counts use the incomplete beta function.
    """
    ranked = _ranked_counts(counts)
    lead = ranked[0] if ranked else 0.0
    second = ranked[1] if len(ranked) > 1 else 0.0
    if lead.is_integer() and second.is_integer():
        return _beta_above_half_integer(int(lead) + 1, int(second) + 1)
    return 1.0 - regularized_incomplete_beta(0.5, lead + 1.0, second + 1.0)


def beta_stop(counts: Counts, threshold: float = 0.95) -> bool:
    """Stop sampling when the Beta posterior says the leader wins with prob. >= threshold.

    Adaptive-Consistency's Beta rule (Aggarwal et al., 2023).
    """
    _check_threshold(threshold)
    return beta_lead_probability(counts) >= threshold


def dirichlet_lead_probability(
    counts: Counts, *, samples: int = 2000, rng: random.Random | None = None
) -> float:
    """Monte Carlo P(leader's share beats every other answer's) under Dirichlet(v + 1).

    The Dirichlet criterion of Adaptive-Consistency (Aggarwal et al., 2023). With a
    single observed answer an unseen alternative with count 0 is added, which makes the
    rule agree with the Beta one instead of being trivially certain. ``rng`` defaults to
    ``random.Random(0)`` so repeated calls are reproducible.
    """
    if samples < 1:
        raise ConfigError(f"Monte Carlo samples {samples!r} must be >= 1; e.g. 2000")
    ranked = _ranked_counts(counts)
    if not ranked:
        return 0.0
    if len(ranked) == 1:
        ranked.append(0.0)
    generator = rng if rng is not None else random.Random(0)
    alphas = [count + 1.0 for count in ranked]
    wins = 0
    for _ in range(samples):
        draws = [generator.gammavariate(alpha, 1.0) for alpha in alphas]
        if draws[0] > max(draws[1:]):
            wins += 1
    return wins / samples


def dirichlet_stop(
    counts: Counts,
    threshold: float = 0.95,
    *,
    samples: int = 2000,
    rng: random.Random | None = None,
) -> bool:
    """Stop when the Dirichlet posterior gives the leader >= threshold (Aggarwal et al., 2023)."""
    _check_threshold(threshold)
    return dirichlet_lead_probability(counts, samples=samples, rng=rng) >= threshold


def should_stop(
    counts: Counts,
    rule: StopRule = "beta",
    threshold: float = 0.95,
    min_samples: int = 1,
    max_samples: int = 16,
    *,
    drawn: int | None = None,
    rng: random.Random | None = None,
) -> bool:
    """Whether adaptive-width voting should stop drawing samples (Aggarwal et al., 2023).

    ``drawn`` is how many samples were drawn, including ones with no extractable answer
    (defaults to the sum of ``counts``). Never stops before ``min_samples``, always at
    ``max_samples``; in between the ``rule`` decides (``fixed`` never stops early).
    """
    check_stop_settings(rule, threshold, min_samples, max_samples)
    taken = drawn if drawn is not None else int(sum(_ranked_counts(counts)))
    if taken >= max_samples:
        return True
    if taken < min_samples or rule == "fixed" or not _ranked_counts(counts):
        return False
    if rule == "beta":
        return beta_stop(counts, threshold)
    return dirichlet_stop(counts, threshold, rng=rng)


def check_stop_settings(rule: str, threshold: float, min_samples: int, max_samples: int) -> None:
    """Validate adaptive-voting settings up front, naming the valid ranges."""
    if rule not in STOP_RULES:
        raise ConfigError(f"stopping rule {rule!r} is unknown; use one of {', '.join(STOP_RULES)}")
    _check_threshold(threshold)
    if min_samples < 1:
        raise ConfigError(f"min_samples {min_samples!r} must be >= 1")
    if max_samples < min_samples:
        raise ConfigError(
            f"max_samples {max_samples!r} is below min_samples {min_samples!r}; "
            "raise max_samples or lower min_samples"
        )


def wave_sizes(max_samples: int, first_wave: int = 4, growth: float = 1.0) -> list[int]:
    """Sizes of successive sampling waves summing to ``max_samples``.

    Wave i draws about ``first_wave * growth**i`` samples (rounded up, the last wave
    trimmed), so ``growth=1`` gives equal waves and ``growth=2`` doubles each time.
    The stopping rule runs between waves (Aggarwal et al., 2023 check after every sample;
    waves trade a few extra samples for concurrency).
    """
    if max_samples < 1:
        raise ConfigError(f"max_samples {max_samples!r} must be >= 1")
    if first_wave < 1:
        raise ConfigError(f"first_wave {first_wave!r} must be >= 1, e.g. 4")
    if not (math.isfinite(growth) and growth >= 1.0):
        raise ConfigError(f"wave growth {growth!r} must be >= 1.0, e.g. 1 (equal) or 2 (doubling)")
    sizes: list[int] = []
    remaining = max_samples
    target = float(first_wave)
    while remaining > 0:
        size = min(remaining, max(1, math.ceil(round(target, 9))))
        sizes.append(size)
        remaining -= size
        target *= growth
    return sizes
