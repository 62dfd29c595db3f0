"""Steps of a solution and judge scores read back (agents/strategies/judges_scores.py)."""

from __future__ import annotations

import pytest

from agents.strategies.judges_scores import read_score, split_steps, step_prefixes


def test_lines_are_steps_when_there_are_no_paragraphs() -> None:
    text = "  First, 3 + 4 = 7.\n\tThen 7 * 2 = 14.\nSo the answer is 14.\n"
    assert split_steps(text) == ["First, 3 + 4 = 7.", "Then 7 * 2 = 14.", "So the answer is 14."]


def test_paragraphs_are_steps_when_there_are_several() -> None:
    text = "Set up:\nlet x be the count.\n\n\nSolve:\nx = 4.\n\nAnswer: 4"
    assert split_steps(text) == ["Set up:\nlet x be the count.", "Solve:\nx = 4.", "Answer: 4"]


def test_the_tail_beyond_max_steps_is_one_last_step() -> None:
    text = "a\nb\nc\nd\ne"
    assert split_steps(text, max_steps=3) == ["a", "b", "c\nd\ne"]
    assert split_steps(text, max_steps=1) == [text]
    with pytest.raises(ValueError, match="max_steps"):
        split_steps(text, max_steps=0)


def test_blank_text_has_no_steps() -> None:
    assert split_steps(" \n\n ") == [] and step_prefixes("") == []


def test_prefixes_are_the_solution_up_to_each_step_verbatim() -> None:
    text = "Step 1: x = 2\n\nStep 2: y = x + 1\n\nStep 3: y = 3"
    assert step_prefixes(text) == [
        "Step 1: x = 2",
        "Step 1: x = 2\n\nStep 2: y = x + 1",
        text,
    ]
    assert len(step_prefixes(text, max_steps=2)) == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"reason": "sure, it is right", "score": 8}', 8.0),
        ('```json\n{"reason": "ok", "score": "6"}\n```', 6.0),
        ('{"reason": "I am sure", "score": 42}', None),
        ('{"reason": "likely right"}', None),
        ('{"score": true}', None),
        ("Score: 7", 7.0),
        ("I'd give it 9/10.", 9.0),
        ("5", 5.0),
        ("impossible", 1.0),
        ("no opinion", None),
    ],
)
def test_read_score_prefers_json_then_free_text(reply: str, expected: float | None) -> None:
    assert read_score(reply) == expected


def test_two_paragraphs_are_two_steps() -> None:
    assert split_steps("a\nb\n\nc") == ["a\nb", "c"]
    assert step_prefixes("a\nb\n\nc") == ["a\nb", "a\nb\n\nc"]


def test_at_most_64_steps_by_default() -> None:
    text = "\n".join(f"step {i}" for i in range(65))
    steps = split_steps(text)
    assert len(steps) == 64
    assert steps[-1] == "step 63\nstep 64"
    assert len(step_prefixes(text)) == 64
    assert len(split_steps("\n".join(f"step {i}" for i in range(64)))) == 64


def test_scores_at_both_ends_of_the_range_count() -> None:
    assert read_score('{"score": 1}') == 1.0
    assert read_score('{"score": 10}') == 10.0
    assert read_score('{"score": 0.5}') is None
    assert read_score('{"score": 10.5}') is None


def test_the_json_object_is_read_whole_from_its_first_to_its_last_brace() -> None:
    # Words and numbers in the reason are not scores; nested objects are part of it.
    assert read_score('{"score": 3, "why": {"note": "9/10 elsewhere"}}') == 3.0
    assert read_score(' {"score": 4, "reason": "9/10 would be generous"}') == 4.0
    assert read_score('{"score": 4}. Otherwise 9/10.') == 4.0
