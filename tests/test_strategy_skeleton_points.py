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
