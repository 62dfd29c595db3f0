"""Adaptive-Consistency (Aggarwal et al., 2023) stopping rules and sampling waves."""

from __future__ import annotations

import random
from fractions import Fraction
from math import comb

import pytest

from agents.strategies.vote_adaptive import (
    beta_lead_probability,
    beta_stop,
    check_stop_settings,
    dirichlet_lead_probability,
    dirichlet_stop,
    regularized_incomplete_beta,
    should_stop,
    wave_sizes,
)
from orchestrator.errors import ConfigError


def test_beta_stop_examples() -> None:
    assert not beta_stop({"a": 2, "b": 1}, 0.95)
    assert beta_stop({"a": 10}, 0.95)
    assert beta_lead_probability({"a": 2, "b": 1}) == pytest.approx(11 / 16)
    assert beta_lead_probability({"a": 10}) == pytest.approx(1 - 1 / 2048)
    assert beta_lead_probability({}) == pytest.approx(0.5)
    assert beta_lead_probability({"a": 3, "b": 3}) == pytest.approx(0.5)


def test_beta_probability_is_order_free_and_takes_sequences() -> None:
    assert beta_lead_probability({"b": 1, "a": 4, "c": 2}) == beta_lead_probability([4, 2])
    assert beta_lead_probability([1, 4]) == beta_lead_probability([4, 1])


def test_beta_probability_grows_with_the_lead() -> None:
    for second in range(0, 6):
        probabilities = [beta_lead_probability([lead, second]) for lead in range(second, 30)]
        assert probabilities == sorted(probabilities)
        assert len(set(probabilities)) == len(probabilities)
    assert beta_lead_probability([8, 2]) > beta_lead_probability([8, 3])


def test_exact_integer_formula_matches_the_beta_integral() -> None:
    # P(X > 1/2), X ~ Beta(a, b) = sum_{j<a} C(a+b-1, j) / 2^(a+b-1).
    for lead, second in [(0, 0), (1, 0), (5, 2), (12, 7), (40, 33)]:
        a, b = lead + 1, second + 1
        n = a + b - 1
        exact = Fraction(sum(comb(n, j) for j in range(a)), 2**n)
        assert beta_lead_probability([lead, second]) == pytest.approx(float(exact), abs=1e-15)
        continued = 1.0 - regularized_incomplete_beta(0.5, a, b)
        assert continued == pytest.approx(float(exact), abs=1e-12)


def test_fractional_counts_use_the_incomplete_beta() -> None:
    near = beta_lead_probability([5.000001, 2.0])
    assert near == pytest.approx(beta_lead_probability([5, 2]), abs=1e-5)
    between = beta_lead_probability([5.5, 2.0])
    assert beta_lead_probability([5, 2]) < between < beta_lead_probability([6, 2])


def test_incomplete_beta_against_known_values() -> None:
    assert regularized_incomplete_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)
    assert regularized_incomplete_beta(0.3, 2.0, 1.0) == pytest.approx(0.09)
    assert regularized_incomplete_beta(0.8, 1.0, 3.0) == pytest.approx(1 - 0.2**3)
    assert regularized_incomplete_beta(0.0, 2.0, 3.0) == 0.0
    assert regularized_incomplete_beta(1.0, 2.0, 3.0) == 1.0
    with pytest.raises(ValueError, match="> 0"):
        regularized_incomplete_beta(0.5, 0.0, 1.0)


@pytest.mark.parametrize("counts", [[3, 1], [7, 4], [2, 0], [12.5, 9.0]])
def test_exact_beta_matches_monte_carlo(counts: list[float]) -> None:
    rng = random.Random(2023)
    a, b = counts[0] + 1, counts[1] + 1
    draws = 20_000
    above = sum(rng.betavariate(a, b) > 0.5 for _ in range(draws))
    # Four standard errors of a proportion near 0.5 is about 0.014.
    assert beta_lead_probability(counts) == pytest.approx(above / draws, abs=0.015)


def test_dirichlet_with_two_answers_agrees_with_beta() -> None:
    for counts in ([4, 1], [6, 3], [3, 0]):
        mc = dirichlet_lead_probability(counts, samples=20_000, rng=random.Random(5))
        assert mc == pytest.approx(beta_lead_probability(counts), abs=0.015)


def test_dirichlet_single_answer_is_not_trivially_certain() -> None:
    assert dirichlet_lead_probability({"a": 1}, samples=4000) == pytest.approx(0.75, abs=0.03)
    assert not dirichlet_stop({"a": 1}, 0.95)
    assert dirichlet_stop({"a": 10}, 0.95)
    assert dirichlet_lead_probability({}) == 0.0


def test_dirichlet_is_reproducible_with_a_seed() -> None:
    first = dirichlet_lead_probability([5, 3, 2], samples=500, rng=random.Random(9))
    second = dirichlet_lead_probability([5, 3, 2], samples=500, rng=random.Random(9))
    assert first == second
    assert dirichlet_lead_probability([5, 3, 2], samples=500) == dirichlet_lead_probability(
        [5, 3, 2], samples=500
    )


def test_dirichlet_rises_with_the_lead_over_many_answers() -> None:
    spread = dirichlet_lead_probability([6, 1, 1, 1], samples=4000)
    close = dirichlet_lead_probability([6, 5, 1, 1], samples=4000)
    assert spread > close
    assert dirichlet_stop([9, 1, 1], 0.95, samples=4000)
    assert not dirichlet_stop([4, 3, 1], 0.95, samples=4000)


def test_should_stop_respects_min_and_max_samples() -> None:
    assert not should_stop({"a": 10}, "beta", 0.95, min_samples=12, max_samples=16)
    assert should_stop({"a": 10}, "beta", 0.95, min_samples=1, max_samples=16)
    assert should_stop({"a": 2, "b": 2}, "beta", 0.95, min_samples=1, max_samples=4)
    assert not should_stop({"a": 10}, "fixed", 0.95, min_samples=1, max_samples=16)
    assert should_stop({"a": 10}, "fixed", 0.95, min_samples=1, max_samples=10)
    assert not should_stop({"a": 2, "b": 1}, "beta", 0.95, 1, 16)
    assert should_stop({"a": 10}, "dirichlet", 0.95, 1, 16)


def test_should_stop_counts_samples_without_answers() -> None:
    assert should_stop({"a": 3}, "beta", 0.95, 1, 8, drawn=8)
    assert not should_stop({}, "beta", 0.95, 1, 8, drawn=5)
    assert should_stop({}, "beta", 0.95, 1, 8, drawn=8)


def test_stop_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"'entropy'.*beta, dirichlet, fixed"):
        check_stop_settings("entropy", 0.95, 1, 16)
    with pytest.raises(ConfigError, match=r"threshold 0.4.*\(0.5, 1\]"):
        beta_stop({"a": 1}, 0.4)
    with pytest.raises(ConfigError, match="min_samples 0"):
        should_stop({"a": 1}, "beta", 0.95, min_samples=0)
    with pytest.raises(ConfigError, match="max_samples 2 is below min_samples 4"):
        should_stop({"a": 1}, "beta", 0.95, min_samples=4, max_samples=2)
    with pytest.raises(ConfigError, match="samples 0"):
        dirichlet_lead_probability([1], samples=0)
    with pytest.raises(ValueError, match="-1"):
        beta_lead_probability([-1, 2])


def test_wave_sizes() -> None:
    assert wave_sizes(16, 4, 1) == [4, 4, 4, 4]
    assert wave_sizes(16, 4, 2) == [4, 8, 4]
    assert wave_sizes(16, 2, 1.5) == [2, 3, 5, 6]
    assert wave_sizes(3, 4, 2) == [3]
    assert wave_sizes(5, 1) == [1, 1, 1, 1, 1]
    for max_samples in range(1, 40):
        assert sum(wave_sizes(max_samples, 3, 1.7)) == max_samples


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 4, 1.0), "max_samples 0"), ((8, 0, 1.0), "first_wave 0"), ((8, 2, 0.5), "growth 0.5")],
)
def test_wave_sizes_rejects_bad_settings(args: tuple[int, int, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        wave_sizes(*args)


def exact_beta_cdf(x: Fraction, a: int, b: int) -> float:
    """I_x(a, b) for integer a, b: P(Binomial(a + b - 1, x) >= a), in exact arithmetic."""
    n = a + b - 1
    return float(sum(comb(n, k) * x**k * (1 - x) ** (n - k) for k in range(a, n + 1)))


def test_threshold_bounds_and_message() -> None:
    assert beta_stop([1, 0], 1.0) is False
    assert beta_stop([1000, 0], 1.0) is True
    for bad in (0.5, 1.5):
        with pytest.raises(ConfigError) as caught:
            beta_stop([1, 0], bad)
        assert str(caught.value) == (
            f"stopping threshold {bad!r} is out of range; use a probability in (0.5, 1], e.g. 0.95"
        )


def test_beta_stop_at_exactly_the_threshold_and_by_default() -> None:
    assert beta_lead_probability([1, 0]) == 0.75
    assert beta_stop([1, 0], 0.75)
    assert beta_stop([5, 0])  # 63/64 >= 0.95
    assert not beta_stop([3, 0])  # 15/16 < 0.95


def test_large_vote_counts_stay_exact() -> None:
    # C(1100, k) overflows a float: the integer formula keeps exact integers.
    assert beta_lead_probability([600, 500]) == pytest.approx(0.9987176136011234, rel=1e-12)


def test_incomplete_beta_edges_and_both_sides_of_the_mode() -> None:
    assert regularized_incomplete_beta(1.0, 2, 3) == 1.0
    assert regularized_incomplete_beta(0.0, 2, 3) == 0.0
    for a, b in ((0, 1), (1, 0), (-1, 2)):
        with pytest.raises(ValueError) as caught:
            regularized_incomplete_beta(0.5, a, b)
        assert str(caught.value) == f"Beta parameters must be > 0, got a={a!r}, b={b!r}"
    # Far above the mean: computed from the other side, where the fraction converges.
    assert regularized_incomplete_beta(0.9, 10, 1000) == pytest.approx(1.0)
    for x, a, b in (
        (Fraction(7, 10), 200, 100),
        (Fraction(3, 5), 100, 100),
        (Fraction(1, 5), 3, 30),
    ):
        assert regularized_incomplete_beta(float(x), a, b) == pytest.approx(
            exact_beta_cdf(x, a, b), rel=1e-9, abs=1e-300
        )


def test_dirichlet_defaults_are_2000_draws_from_a_seed_0_generator() -> None:
    counts = [4, 2]
    p = dirichlet_lead_probability(counts)
    assert p == dirichlet_lead_probability(counts, samples=2000, rng=random.Random(0))
    assert p != dirichlet_lead_probability(counts, samples=2000, rng=random.Random(1))
    # A given generator is used.
    assert dirichlet_lead_probability(counts, rng=random.Random(1)) == 0.7715
    assert dirichlet_stop(counts, 0.77, rng=random.Random(1))
    assert not dirichlet_stop(counts, 0.77)


def test_dirichlet_stop_draws_2000_samples_by_default() -> None:
    with_2001 = dirichlet_lead_probability([5, 3], samples=2001)
    assert with_2001 > dirichlet_lead_probability([5, 3])
    assert not dirichlet_stop([5, 3], with_2001)
    assert dirichlet_stop([5, 3], with_2001, samples=2001)


def test_dirichlet_with_one_draw_is_zero_or_one() -> None:
    assert dirichlet_lead_probability([1000, 0], samples=1) == 1.0
    # One lucky draw settles a one-draw rule that 2000 draws would not.
    assert dirichlet_stop([2, 1], 1.0, samples=1, rng=random.Random(0))
    assert not dirichlet_stop([2, 1], 1.0, samples=2000, rng=random.Random(0))


def test_dirichlet_stop_at_exactly_the_threshold_and_by_default() -> None:
    assert dirichlet_stop([1000, 0], 1.0, samples=10)
    assert dirichlet_stop([6, 0])  # 0.99 >= 0.95
    assert not dirichlet_stop([2, 1])  # about 0.68


def test_should_stop_defaults_beta_095_between_1_and_16_samples() -> None:
    assert should_stop([5, 0])  # beta 63/64
    assert not should_stop([3, 0])
    assert should_stop([5, 0], drawn=1)  # one sample is enough to ask the rule
    assert should_stop([8, 8])  # 16 samples: the limit
    assert not should_stop([8, 7])


def test_should_stop_asks_the_rule_from_min_samples_on() -> None:
    assert should_stop([5, 0], min_samples=5)
    assert not should_stop([5, 0], min_samples=6)
    assert should_stop([5, 0], min_samples=5, max_samples=5)


def test_should_stop_uses_the_named_rule_and_threshold() -> None:
    # Beta looks at the two leaders only; Dirichlet at every answer.
    assert should_stop([6, 0, 0], "beta", 0.99)
    assert not should_stop([6, 0, 0], "dirichlet", 0.99)
    assert not should_stop([5, 0], "beta", 0.99)
    assert should_stop([4, 2], "dirichlet", 0.77, rng=random.Random(1))
    assert not should_stop([4, 2], "dirichlet", 0.77)


def test_max_equal_to_min_is_allowed_and_the_message_says_how_to_fix_a_lower_one() -> None:
    check_stop_settings("beta", 0.95, 4, 4)
    with pytest.raises(ConfigError) as caught:
        check_stop_settings("beta", 0.95, 4, 3)
    assert str(caught.value) == (
        "max_samples 3 is below min_samples 4; raise max_samples or lower min_samples"
    )


def test_wave_sizes_default_to_waves_of_four_and_ignore_float_noise() -> None:
    assert wave_sizes(10) == [4, 4, 2]
    assert wave_sizes(9, 3, 1.0000000001) == [3, 3, 3]
