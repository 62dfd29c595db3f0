"""The operators bench's correlated judges: a judge that prefers the solver's favourite wrong
answer (pure, fast; the scripted model's rules are in bench/noisy_solver.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from noisy_solver import NoisySolver, World


def _world(rho: float, trap_share: float | None = 0.5) -> World:
    return World(0.6, 0.75, 0.5, 4, 0, trap_share=trap_share, judge_correlation=rho)


def test_the_trap_is_the_solvers_most_common_wrong_answer() -> None:
    solver = NoisySolver(_world(0.0, trap_share=0.5), 1, 7)
    answers = [solver.fresh() for _ in range(2000)]
    wrong = [a for a in answers if a != solver.right]
    trap = solver.world.trap(1)
    assert wrong.count(trap) > 0.4 * len(wrong)
    others = {a: wrong.count(a) for a in set(wrong) - {trap}}
    assert all(count < wrong.count(trap) for count in others.values())


def test_correlated_judges_pick_the_trap_and_independent_ones_do_not() -> None:
    independent = NoisySolver(_world(0.0), 1, 7)
    correlated = NoisySolver(_world(0.9), 1, 7)
    shown = [independent.right, independent.world.trap(1)]
    picks_independent = [shown[independent.pick(shown)] for _ in range(1000)]
    picks_correlated = [shown[correlated.pick(shown)] for _ in range(1000)]
    trap = shown[1]
    assert picks_independent.count(trap) < 350  # 25 % expected at p_judge 0.75
    assert picks_correlated.count(trap) > 850  # 90 % + 10 % of 25 % expected
    wins = sum(
        correlated.pairwise({"A": shown[0], "B": trap}, ["A", "B", "tie"]) == "B"
        for _ in range(1000)
    )
    assert wins > 850


def test_correlation_leaves_the_solvers_own_draws_alone() -> None:
    """With and without correlation the main stream is the same: only lured picks differ."""
    plain = NoisySolver(_world(0.0), 3, 11)
    lured = NoisySolver(_world(0.6), 3, 11)
    for _ in range(200):
        assert plain.fresh() == lured.fresh()
        plain.pick([plain.right, plain.world.trap(3)])
        lured.pick([lured.right, lured.world.trap(3)])
        plain.quality(plain.world.trap(3))
        lured.quality(lured.world.trap(3))
