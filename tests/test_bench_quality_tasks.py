"""The quality bench's task generators, exact checkers and statistics (pure, fast)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from quality_stats import (
    matched_samples,
    paired_difference,
    verdict,
    wilson_interval,
)
from quality_tasks import (
    FAMILIES,
    LEVELS,
    Task,
    _witness,
    check,
    generate,
    parse_expression,
    stated_letter,
    vote_key,
)


def test_generation_is_seeded_and_cycles_through_families_and_levels() -> None:
    first = generate(18, seed=3)
    assert first == generate(18, seed=3)
    assert first != generate(18, seed=4)
    pairs = {(t.family, t.level) for t in first}
    assert pairs == {(f, lv) for f in FAMILIES for lv in LEVELS}


def test_levels_grade_the_tasks() -> None:
    tasks = generate(90, seed=0)
    steps = {t.level: t.prompt.count(".") for t in tasks if t.family == "arithmetic"}
    assert steps[1] < steps[2] < steps[3]
    numbers = {t.level: len(t.numbers) for t in tasks if t.family == "countdown"}
    assert numbers == {1: 2, 2: 3, 3: 4}
    choices = {t.level: len(t.choices) for t in tasks if t.family == "mc"}
    assert choices == {1: 2, 2: 3, 3: 4}


def test_unknown_family_or_level_is_named() -> None:
    with pytest.raises(ValueError, match="poetry"):
        generate(3, seed=0, families=["poetry"])
    with pytest.raises(ValueError, match="7"):
        generate(3, seed=0, levels=[7])


def test_arithmetic_answer_is_the_chain_worked_by_hand() -> None:
    task = next(t for t in generate(9, seed=1) if t.family == "arithmetic" and t.level == 2)
    value = 0
    for sentence in task.prompt.split(". "):
        words = sentence.replace(".", "").split()
        if words[:2] == ["Start", "with"]:
            value = int(words[2])
        elif words[0] == "Add":
            value += int(words[1])
        elif words[0] == "Subtract":
            value -= int(words[1])
        elif words[0] == "Multiply":
            value *= int(words[2])
    assert task.answer == str(value)
    assert check(task, f"Step by step... The answer is {value}.")
    assert check(task, str(value))  # a vote's bare winner
    assert not check(task, f"The answer is {value + 1}.")
    assert not check(task, "I cannot tell.")


def test_countdown_tasks_are_solvable_by_their_witness() -> None:
    for task in [t for t in generate(60, seed=2) if t.family == "countdown"]:
        assert 1 <= int(task.answer) <= 100
    import random

    rng = random.Random(5)
    for _ in range(50):
        numbers = tuple(rng.randint(1, 12) for _ in range(4))
        text, value = _witness(random.Random(rng.random()), numbers)
        parsed = parse_expression(text)
        assert parsed is not None
        assert parsed[0] == value
        assert sorted(parsed[1]) == sorted(numbers)


def test_countdown_checker_is_exact() -> None:
    task = Task("countdown", 2, "", "24", numbers=(3, 8, 1))
    assert check(task, "So the answer is (3 * 8) * 1.")
    assert check(task, "The answer is 3*8/1")
    assert check(task, "3 * 8 * 1")  # a vote's bare winner
    assert not check(task, "The answer is 3 * 8")  # 1 unused
    assert not check(task, "The answer is 3 * 8 * 1 * 1")  # 1 used twice
    assert not check(task, "The answer is 3 + 8 + 1")  # 12, not 24
    assert not check(task, "The answer is 24")
    assert not check(task, "The answer is 3 * 8 * (1")


def test_expression_parser_uses_fractions_and_refuses_what_is_not_arithmetic() -> None:
    assert parse_expression("8 / (3 - 8 / 3)") == (Fraction(24), [8, 3, 8, 3])
    assert parse_expression("2 × 3 ÷ 4") == (Fraction(3, 2), [2, 3, 4])
    assert parse_expression("1 / (2 - 2)") is None
    assert parse_expression("__import__('os')") is None
    assert parse_expression("2 ** 3") is None
    assert parse_expression("") is None


def test_mc_answer_is_the_right_title_and_letters_are_read_exactly() -> None:
    tasks = [t for t in generate(30, seed=0) if t.family == "mc"]
    for task in tasks:
        index = "ABCD".index(task.answer)
        assert task.choices[index] in task.prompt
        assert len(set(task.choices)) == len(task.choices)
    task = Task("mc", 3, "", "C", choices=("w", "x", "y", "z"))
    assert check(task, "The answer is C.")
    assert check(task, "answer: (C)")
    assert check(task, "c")  # a vote's winner is case-folded
    assert not check(task, "The answer is a section about loops.")
    assert not check(task, "The answer is B.")
    assert stated_letter("The answer is B. No wait, the answer is D") == "D"
    assert stated_letter("B) The Null Object") == "B"
    assert stated_letter("A passage about loops") is None


def test_the_vote_extracts_what_the_checker_reads() -> None:
    """A trace's vote key, as the op extracts it, is judged like the trace itself."""
    tasks = {t.family: t for t in generate(9, seed=0) if t.level == 1}
    right = {
        "arithmetic": f"Working... the answer is {tasks['arithmetic'].answer}.",
        "mc": f"The answer is {tasks['mc'].answer}.",
    }
    for family, reply in right.items():
        key = vote_key(tasks[family], reply)
        assert key is not None
        assert check(tasks[family], key)
        assert check(tasks[family], reply)
    countdown = Task("countdown", 1, "", "3", numbers=(1, 2))
    key = vote_key(countdown, "Try 1 * 2 first.\nThe answer is 1 + 2 = 3")
    assert key == "1 + 2"
    assert check(countdown, key)
    assert vote_key(countdown, "I do not know") is None


def test_wilson_interval() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_paired_difference_counts_discordant_questions() -> None:
    first = [True] * 30 + [False] * 70
    second = [False] * 30 + [False] * 70
    d, low, high = paired_difference(first, second)
    assert d == pytest.approx(0.30)
    assert low > 0
    assert verdict(low, high) == "better"
    d, low, high = paired_difference(second, first)
    assert verdict(low, high) == "worse"
    d, low, high = paired_difference(first, first)
    assert (d, verdict(low, high)) == (0.0, "no significant difference")
    with pytest.raises(ValueError):
        paired_difference([True], [])


def test_matched_samples_fit_the_budget() -> None:
    # prompt 100 counted once, 50 per sample: 600 tokens fit 10 samples.
    assert matched_samples(600, 100, 50) == 10
    assert matched_samples(649, 100, 50) == 10
    assert matched_samples(120, 100, 50) == 1
    with pytest.raises(ValueError):
        matched_samples(600, 100, 0)
