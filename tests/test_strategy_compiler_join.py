"""LLMCompiler's planner notation for tools and the joiner's verdict, read tolerantly."""

from __future__ import annotations

import json

import pytest

from agents.strategies.compiler_join import call_text, joiner_schema, read_verdict, tool_signature
from agents.strategies.compiler_plan import parse_plan
from tools.registry import tool


def verdict(action: str, answer: str, thought: str = "ok") -> str:
    return json.dumps({"thought": thought, "action": action, "answer": answer})


def test_tool_signature_shows_types_defaults_and_description() -> None:
    @tool
    def search(query: str, k: int = 5, site: str | None = None) -> str:
        """Search the corpus."""
        return query

    assert tool_signature(search.schema()) == (
        "search(query: string, k: integer = 5, site: string | null = null): Search the corpus."
    )


def test_call_text_keeps_references_unresolved() -> None:
    plan = parse_plan('1. search("x")\n2. read("doc", offset=$1, tags=["a"])\n')
    assert call_text(plan.calls[1]) == "read('doc', offset='$1', tags=['a'])"


def test_the_last_joiner_may_only_answer() -> None:
    assert joiner_schema(False)["properties"]["action"]["enum"] == ["answer", "replan"]
    assert joiner_schema(True)["properties"]["action"]["enum"] == ["answer"]
    assert joiner_schema(True)["properties"]["answer"]["maxLength"] > 0


@pytest.mark.parametrize(
    ("reply", "final", "expected"),
    [
        (verdict("answer", "Alpha."), False, ("answer", "Alpha.")),
        (verdict("replan", "", "need more"), False, ("replan", "")),
        (verdict("answer", ""), False, ("replan", "")),
        (
            '{"thought": "ok", "action": "answer", "answer": "Alpha is ol',
            False,
            ("answer", "Alpha is ol"),
        ),
        ('{"thought": "cut', False, ("replan", "")),
        ("Thought: done.\nAction: Finish(alpha)", False, ("answer", "alpha")),
        ("We should Replan: beta is missing.", False, ("replan", "")),
        ("Alpha is older.", False, ("answer", "Alpha is older.")),
        (verdict("replan", "best so far"), True, ("answer", "best so far")),
        (verdict("replan", ""), True, ("replan", "")),
        ('{"action": "answer", "answer": 42}', False, ("answer", "42")),
        ('{"action": "maybe", "answer": "x"}', False, ("answer", "x")),
    ],
)
def test_joiner_replies_are_read_tolerantly(
    reply: str, final: bool, expected: tuple[str, str]
) -> None:
    read = read_verdict(reply, final=final)
    assert read is not None
    assert (read["action"], read["answer"]) == expected


def test_an_empty_reply_is_no_verdict() -> None:
    assert read_verdict("  \n", final=False) is None
    assert read_verdict("", final=True) is None


def test_joiner_schema_in_full() -> None:
    def schema(actions: list[str]) -> dict[str, object]:
        return {
            "type": "object",
            "properties": {
                "thought": {"type": "string", "maxLength": 800},
                "action": {"type": "string", "enum": actions},
                "answer": {"type": "string", "maxLength": 4000},
            },
            "required": ["thought", "action", "answer"],
        }

    assert joiner_schema(False) == schema(["answer", "replan"])
    assert joiner_schema(True) == schema(["answer"])


def test_tool_signature_of_a_bare_schema_with_missing_parts() -> None:
    assert tool_signature({"name": "now"}) == "now():"
    assert tool_signature({"name": "f", "parameters": {"properties": {"x": {}}}}) == (
        "f(x: any = null):"
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # A field cut short with a bad escape is kept as written.
        (
            '{"action": "answer", "answer": "bad \\q escape',
            {"action": "answer", "thought": "", "answer": "bad \\q escape"},
        ),
        # Whole JSON up to its last brace: values of any type, nested objects.
        (
            '{"thought": "t", "action": "answer", "answer": 42}.',
            {"action": "answer", "thought": "t", "answer": "42"},
        ),
        (
            '{"answer": 42, "action": "answer", "meta": {"a": 1}}',
            {"action": "answer", "thought": "", "answer": "42"},
        ),
        (
            '  {"action": "answer", "answer": "abc',
            {"action": "answer", "thought": "", "answer": "abc"},
        ),
        ("Finish(line1\nline2)", {"action": "answer", "thought": "", "answer": "line1\nline2"}),
        ("Alpha.", {"action": "answer", "thought": "", "answer": "Alpha."}),
        (
            "We should Replan: beta is missing.",
            {"action": "replan", "thought": "We should Replan: beta is missing.", "answer": ""},
        ),
        # A replan keeps the best answer so far.
        (
            '{"action": "replan", "answer": "partial"}',
            {"action": "replan", "thought": "", "answer": "partial"},
        ),
    ],
)
def test_joiner_verdicts_in_full(reply: str, expected: dict[str, str]) -> None:
    assert read_verdict(reply, final=False) == expected
