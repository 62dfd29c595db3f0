"""TUMIX's pure parts: the tool step schema built from any tool, its reader, the prompts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.strategies.tumix_agents import (
    Step,
    parse_step,
    results_message,
    round_prompt,
    step_schema,
    tool_args_schema,
    tool_menu,
    tool_system_prompt,
)


def function(name: str, parameters: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


SEARCH = function(
    "search",
    {
        "title": "search",
        "type": "object",
        "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
        "required": ["query"],
    },
    "Search the corpus.\nMore text.",
)
NESTED = function(
    "plot",
    {"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": {}}},
)


def test_the_step_schema_offers_one_call_shape_per_tool() -> None:
    schema = step_schema([SEARCH, NESTED], allow_calls=True, max_calls=2)
    calls = schema["properties"]["calls"]
    assert calls["maxItems"] == 2
    first, second = calls["items"]["anyOf"]
    assert first["properties"]["tool"] == {"type": "string", "enum": ["search"]}
    assert first["properties"]["args"]["properties"]["query"] == {"type": "string"}
    assert "title" not in first["properties"]["args"]
    assert second["properties"]["args"] == {"type": "object"}
    assert schema["required"] == ["thought", "calls", "answer"]


def test_the_last_step_and_a_toolless_agent_may_not_call() -> None:
    assert (
        step_schema([SEARCH], allow_calls=False, max_calls=3)["properties"]["calls"]["maxItems"]
        == 0
    )
    assert step_schema([], allow_calls=True, max_calls=3)["properties"]["calls"]["maxItems"] == 0


def test_argument_schemas_with_references_become_plain_objects() -> None:
    assert tool_args_schema({"type": "object", "$defs": {}}) == {"type": "object"}
    assert tool_args_schema({"type": "object", "properties": {"a": {"$ref": "#/x"}}}) == {
        "type": "object"
    }
    plain = {"title": "t", "type": "object", "properties": {"a": {"type": "string"}}}
    assert tool_args_schema(plain) == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_the_menu_lists_each_tool_with_its_arguments() -> None:
    menu = tool_menu([SEARCH, NESTED])
    assert "- search(query: string, k: integer): Search the corpus." in menu
    assert "More text" not in menu
    assert "- plot(p: any): " in menu
    assert tool_system_prompt([SEARCH]).startswith("You solve")
    assert tool_system_prompt([SEARCH], "Be a pirate.").startswith("Be a pirate.\n\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            json.dumps({"thought": "t", "calls": [{"tool": "search", "args": {"q": 1}}]}),
            Step("t", [("search", {"q": 1})], ""),
        ),
        (
            'Sure. {"thought": "", "calls": [], "answer": "42"} done',
            Step("", [], "42"),
        ),
        (
            json.dumps({"calls": [{"tool": "", "args": {}}, {"args": {}}, "x", {"tool": "r"}]}),
            Step("", [("r", {})], ""),
        ),
        (
            json.dumps({"calls": [{"tool": "py", "args": "print(1)"}]}),
            Step("", [("py", {"input": "print(1)"})], ""),
        ),
        (json.dumps({"calls": None, "answer": None}), Step("", [], "")),
        ("no json here", None),
        ("[1, 2]", None),
        ("{broken", None),
    ],
)
def test_a_step_reply_is_read_tolerantly(text: str, expected: Step | None) -> None:
    assert parse_step(text) == expected


def test_round_prompts_show_the_previous_answers_from_the_second_round() -> None:
    assert round_prompt("Q?", []) == "Q?"
    later = round_prompt(" Q? ", ["one", "two"])
    assert later.startswith("Q?") and "Response 1:\none" in later and "Response 2:\ntwo" in later


def test_results_are_numbered_like_the_calls() -> None:
    text = results_message([("search", {"query": "x"}), ("read", {})], ["hits", "error: no"])
    assert text.startswith("Tool results:")
    assert "[1] search(query='x'):\nhits" in text and "[2] read():\nerror: no" in text
