"""Skeleton-of-Thought: skeleton parsing, prompts and in-order assembly."""

from __future__ import annotations

import pytest

from agents.strategies.skeleton_points import (
    assemble,
    expansion_instruction,
    expansion_prompt,
    format_skeleton,
    parse_skeleton,
    skeleton_prompt,
)
from orchestrator.errors import ConfigError


def test_numbered_points_with_preamble_and_styles() -> None:
    text = (
        "Here is the skeleton:\n"
        "1. Define the problem\n"
        "2) **Gather data**\n"
        "  3: Build a model\n"
        "Point 4. Evaluate results\n"
        "(this line is commentary)\n"
    )
    assert parse_skeleton(text) == [
        "Define the problem",
        "Gather data",
        "Build a model",
        "Evaluate results",
    ]


def test_primed_first_point() -> None:
    # skeleton_prompt ends with "1." so the model's reply starts mid-point.
    assert parse_skeleton(" Stretch first\n2. Warm up\n3. Run") == [
        "Stretch first",
        "Warm up",
        "Run",
    ]
    assert parse_skeleton("Some preamble\n1. a\n2. b") == ["a", "b"]


def test_dedup_and_bound() -> None:
    text = "1. Use caching\n2. use caching.\n3. Batch requests\n4. Profile\n5. Shard"
    assert parse_skeleton(text) == ["Use caching", "Batch requests", "Profile", "Shard"]
    assert parse_skeleton(text, max_points=2) == ["Use caching", "Batch requests"]
    with pytest.raises(ConfigError, match="max_points"):
        parse_skeleton(text, max_points=0)


def test_json_and_bullets_and_fallbacks() -> None:
    assert parse_skeleton('["a", "b", "a"]') == ["a", "b"]
    assert parse_skeleton('Skeleton: {"points": ["x", "y"]}') == ["x", "y"]
    assert parse_skeleton("- first\n* second\n• third") == ["first", "second", "third"]
    assert parse_skeleton("Just one idea") == ["Just one idea"]
    assert parse_skeleton("") == []
    assert parse_skeleton("two lines\nno structure") == []


def test_assemble_in_order_without_repeating_points() -> None:
    points = ["Warm up", "Run intervals", "Cool down"]
    expansions = [
        "Jog easily for ten minutes.",
        "2. Run intervals: alternate fast and slow laps.",
        None,
    ]
    assert assemble(points, expansions) == (
        "1. Warm up Jog easily for ten minutes.\n"
        "2. Run intervals alternate fast and slow laps.\n"
        "3. Cool down"
    )
    with pytest.raises(ValueError, match="one expansion"):
        assemble(points, ["x"])


def test_prompts() -> None:
    prompt = skeleton_prompt("How to train for a 10k?", 6)
    assert "at most 6 points" in prompt
    assert prompt.endswith("Skeleton:\n1.")
    expand = expansion_prompt("Q?", ["a", "b"], 1)
    assert "1. a\n2. b" in expand
    assert "point 2" in expand
    assert expand.endswith("2. b")
    with pytest.raises(ValueError):
        expansion_prompt("Q?", ["a"], 1)


def test_json_skeleton_prompt_and_shared_expansion_prefix() -> None:
    prompt = skeleton_prompt("Q?", 4, as_json=True)
    assert prompt.endswith('{"points": ["<point 1>", "<point 2>", ...]}')
    assert "at most 4 points" in prompt
    assert format_skeleton(["a", "b"]) == "1. a\n2. b"
    tail = expansion_instruction(["a", "b"], 1)
    assert tail.startswith("Continue and only continue the writing of point 2.")
    assert tail.endswith("2. b")
    assert expansion_prompt("Q?", ["a", "b"], 1).endswith(tail)
    with pytest.raises(ValueError, match="out of range"):
        expansion_instruction(["a"], -1)


def test_the_prompts_are_the_papers_templates_verbatim() -> None:
    assert skeleton_prompt(" Why? ", 5) == (
        "You're an organizer responsible for only giving the skeleton (not the full content) "
        "for answering the question. Provide the skeleton in a list of points (numbered 1., "
        "2., 3., etc.; at most 5 points) to answer the question. Instead of writing a full "
        "sentence, each skeleton point should be very short with only 3~5 words. Generally, "
        "the skeleton should have 3~10 points.\n\nQuestion:\nWhy?\n\nSkeleton:\n1."
    )
    assert skeleton_prompt("Why?", 5, as_json=True).endswith(
        'Question:\nWhy?\n\nReply as JSON: {"points": ["<point 1>", "<point 2>", ...]}'
    )
    assert expansion_prompt("Why?", ["Cost", "Speed"], 0) == (
        "You're responsible for continuing the writing of one and only one point in the "
        "overall answer to the following question.\n\nQuestion:\nWhy?\n\nThe skeleton of the "
        "answer is\n1. Cost\n2. Speed\n\nContinue and only continue the writing of point 1. "
        "Write it **very shortly** in 1~2 sentences and do not continue with other points!"
        "\n\n1. Cost"
    )


def test_markdown_around_a_point_is_stripped_but_not_its_letters() -> None:
    assert parse_skeleton("1. **X-rays**\n2. Xenon") == ["X-rays", "Xenon"]


def test_json_is_read_from_its_first_bracket_or_brace() -> None:
    assert parse_skeleton('["Alpha", "Beta"] (see [1])') == ["Alpha", "Beta"]
    assert parse_skeleton('{"meta": {"n": 2}, "points": ["a", "b"]}') == ["a", "b"]
    assert parse_skeleton('{"notes": ["x"], "points": ["a", "b"]}') == ["a", "b"]
    assert parse_skeleton('{"skeleton": ["a", "b"]}') == ["a", "b"]


def test_every_form_keeps_at_most_max_points_ten_by_default() -> None:
    assert len(parse_skeleton("\n".join(f"{i}. point {i}" for i in range(1, 13)))) == 10
    assert parse_skeleton("- a\n- b\n- c", 2) == ["a", "b"]
    assert parse_skeleton('["a", "b", "c"]', 2) == ["a", "b"]
    assert parse_skeleton("1. a\n2. b", 1) == ["a"]


def test_a_repeated_point_is_dropped_whatever_its_case() -> None:
    assert assemble(["Use caching"], ["use caching: it speeds up"]) == (
        "1. Use caching it speeds up"
    )
    assert assemble(["Speed"], ["Speed: X-rays help"]) == "1. Speed X-rays help"
    with pytest.raises(ValueError) as caught:
        assemble(["a"], [])
    assert str(caught.value) == (
        "assemble got 1 points but 0 expansions; pass one expansion (or None) per point"
    )
