"""Sparse MoA's pure parts (roles, top-k selection) and the shared stop verdict."""

from __future__ import annotations

import pytest

from agents.strategies.smoa_selection import (
    ROLES,
    forwarded,
    parse_selection_list,
    role_prompt,
    selection_prompt,
    selection_schema,
)
from agents.strategies.stop_verdict import parse_stop, stop_prompt, stop_schema


def test_roles_differ_and_repeat_past_the_list() -> None:
    assert len(set(ROLES)) == len(ROLES)
    assert role_prompt(0) != role_prompt(1)
    assert role_prompt(len(ROLES)) == role_prompt(0)


@pytest.mark.parametrize(
    ("text", "n", "k", "expected"),
    [
        ('{"selected": [2, 3], "reason": "x"}', 3, 2, [1, 2]),
        ('{"selected": [3, 3, 1]}', 3, 2, [2, 0]),
        ('{"selected": [0, 4, 2]}', 3, 2, [1]),
        ('{"selected": [1, 2, 3]}', 3, 2, [0, 1]),
        ('{"selected": [true, 2]}', 3, 2, [1]),
        ("I pick Response 3 and then Response 1.", 3, 2, [2, 0]),
        ("2 and 1", 3, 1, [1]),
        ("none of them", 3, 2, []),
        ('{"selected": []}', 3, 2, []),
        ('{"selected": [3]}', 3, 1, [2]),
    ],
)
def test_the_judges_selection_is_read_distinct_in_range_and_at_most_k(
    text: str, n: int, k: int, expected: list[int]
) -> None:
    assert parse_selection_list(text, n, k) == expected


def test_forwarded_tops_up_the_judges_picks_in_order_and_skips_empty_responses() -> None:
    responses = ["a", None, "c", " ", "e"]
    assert forwarded(responses, [4, 0], 2) == [4, 0]
    assert forwarded(responses, [4], 2) == [4, 0]
    assert forwarded(responses, [], 2) == [0, 2]
    assert forwarded(responses, [1, 3], 2) == [0, 2]
    assert forwarded(responses, [4, 2, 0], 2) == [4, 2]
    assert forwarded(["a"], [], 3) == [0]


def test_the_selection_schema_and_prompt() -> None:
    schema = selection_schema(4, 2)
    selected = schema["properties"]["selected"]
    assert selected["maxItems"] == 2 and selected["minItems"] == 1
    assert selected["items"]["maximum"] == 4 and selected["items"]["minimum"] == 1
    prompt = selection_prompt(" Q ", ["first", "second"], 2)
    assert "Response 1:\nfirst" in prompt and "Response 2:\nsecond" in prompt
    assert "the 2 best" in prompt


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"stop": true, "reason": "they agree"}', True),
        ('{"stop": false, "reason": "stop arguing"}', False),
        ('{"stop": "yes"}', True),
        ('{"stop": "no, continue"}', False),
        ("Yes, stop now.", True),
        ("No. Continue refining.", False),
        ("continue", False),
        ("I am not sure.", None),
        ("", None),
        ('{"reason": "unclear"}', None),
    ],
)
def test_a_stop_verdict_is_read_tolerantly(text: str, expected: bool | None) -> None:
    assert parse_stop(text) is expected


def test_the_stop_schema_and_prompt() -> None:
    assert stop_schema()["properties"]["stop"] == {"type": "boolean"}
    assert stop_schema()["required"] == ["stop"]
    prompt = stop_prompt("Q?", ["a", "b"], 2)
    assert "round 2" in prompt and "Response 2:\nb" in prompt and "Q?" in prompt
