"""LLMCompiler plan parsing (streamed and JSON), references, validation and readiness."""

from __future__ import annotations

import pytest

from agents.strategies.compiler_plan import (
    PlannedCall,
    PlanStreamParser,
    parse_call_args,
    parse_json_plan,
    parse_plan,
    plan_json_schema,
    ready_calls,
    references,
    resolve_args,
    resolve_value,
)

TOOLS = {"search", "read", "calculator"}

PLAN = """Thought: I need the population of both cities first.
1. search(query="population of Paris")
2. search(query='population of Rome', top_k=3)
3. calculator(expression="${1} + $2")
4. read(doc_ids=[$1, "$2"], opts={"verbose": true, "n": -1})
5. join()<END_OF_PLAN>
"""


def test_parse_whole_plan() -> None:
    plan = parse_plan(PLAN, TOOLS)
    assert plan.problems == []
    assert plan.thoughts == ["I need the population of both cities first."]
    assert [(c.idx, c.tool, c.deps) for c in plan.calls] == [
        (1, "search", ()),
        (2, "search", ()),
        (3, "calculator", (1, 2)),
        (4, "read", (1, 2)),
        (5, "join", (1, 2, 3, 4)),
    ]
    assert plan.calls[1].args == {"query": "population of Rome", "top_k": 3}
    assert plan.calls[2].args == {"expression": "${1} + $2"}
    assert plan.calls[3].args == {"doc_ids": ["$1", "$2"], "opts": {"verbose": True, "n": -1}}
    assert plan.calls[4].is_join


def test_streaming_char_by_char_emits_each_call_when_its_line_completes() -> None:
    parser = PlanStreamParser(TOOLS)
    emitted_at: dict[int, int] = {}
    for position, char in enumerate(PLAN):
        for call in parser.feed(char):
            emitted_at[call.idx] = position
    parser.close()
    assert parser.finished
    assert sorted(emitted_at) == [1, 2, 3, 4, 5]
    line_ends = [i for i, c in enumerate(PLAN) if c == "\n"]
    # Call n sits on line n (line 0 is the thought): emitted at its own newline,
    # i.e. before any character of the next line has arrived.
    for idx in (1, 2, 3, 4):
        assert emitted_at[idx] == line_ends[idx]
    # join is emitted as soon as the end-of-plan marker is complete.
    assert emitted_at[5] == PLAN.index("<END_OF_PLAN>") + len("<END_OF_PLAN>") - 1
    assert emitted_at[1] < PLAN.index("2. search")


def test_call_spanning_lines_completes_with_its_closing_bracket() -> None:
    parser = PlanStreamParser()
    assert parser.feed('1. search(query="a",\n') == []
    assert parser.feed("   top_k=[1,\n") == []
    (call,) = parser.feed("2])\n")
    assert call.args == {"query": "a", "top_k": [1, 2]}
    assert parser.close() == []
    assert parser.problems == []


def test_last_line_without_newline_is_flushed_on_close() -> None:
    parser = PlanStreamParser()
    assert parser.feed('1. search("x")') == []
    (call,) = parser.close()
    assert call.positional == ["x"] and call.args == {}
    assert call.bind(["query", "top_k"]) == {"query": "x"}


def test_unfinished_call_at_end_is_a_problem() -> None:
    plan = parse_plan('1. search(query="x"\n')
    assert plan.calls == []
    assert "incomplete" in plan.problems[0]


def test_validation_reports_every_problem_and_drops_dependents() -> None:
    text = "\n".join(
        [
            '1. search(query="a")',
            "2. read(doc_id=$3)",
            '3. fetch(url="u")',
            '1. search(query="b")',
            "4. read(doc_id=$2)",
            "5. read(doc_id=$1)",
            "6. search(query=python rocks)",
            "7. calculator(expression=f(1))",
            "8. calculator(expression=...)",
            "Done: 8 steps.",
        ]
    )
    plan = parse_plan(text, TOOLS)
    assert [c.idx for c in plan.calls] == [1, 5]
    problems = "\n".join(plan.problems)
    assert "call 2 (read): references $3, which is not an earlier call" in problems
    assert "unknown tool 'fetch'" in problems and "'calculator'" in problems
    assert "duplicate index 1" in problems
    assert "call 4 (read): references $2, which is not a valid call" in problems
    assert "call 6 (search)" in problems and "do not parse" in problems
    assert "call 7 (calculator)" in problems and "unsupported argument 'f(1)'" in problems
    assert "call 8 (calculator)" in problems and "unsupported argument '...'" in problems
    assert len(plan.problems) == 7
    assert plan.thoughts == ["Done: 8 steps."]


def test_numbered_prose_is_a_thought_not_a_call() -> None:
    plan = parse_plan("1. First I will search.\n1. search(q='x')\n")
    assert [c.idx for c in plan.calls] == [1]
    assert plan.problems == []
    assert plan.thoughts == ["1. First I will search."]


def test_nothing_after_join_is_parsed() -> None:
    parser = PlanStreamParser()
    calls = parser.feed('1. search(q="x")\n2. join()\n3. search(q="y")\n')
    assert [c.idx for c in calls] == [1, 2]
    assert parser.finished
    assert parser.feed('4. search(q="z")\n') == []


def test_references() -> None:
    assert references({"a": "$1 and ${12}", "b": ["$3", {"c": "$$4 is a price"}], "d": 5}) == {
        1,
        3,
        12,
    }
    _, args = parse_call_args('q="costs $$5", doc=${2}')
    assert args == {"q": "costs $$5", "doc": "$2"}


def test_resolve_args_keeps_whole_values_raw_and_interpolates_strings() -> None:
    results: dict[int, object] = {1: ["doc-a", "doc-b"], 2: 7, 3: "Paris"}
    args = {
        "docs": "$1",
        "n": "${2}",
        "q": "capital is $3 (${3}), $2 cities, $$10",
        "nested": ["$3", {"k": "x$2"}],
        "flag": True,
    }
    assert resolve_args(args, results) == {
        "docs": ["doc-a", "doc-b"],
        "n": 7,
        "q": "capital is Paris (Paris), 7 cities, $10",
        "nested": ["Paris", {"k": "x7"}],
        "flag": True,
    }
    assert resolve_value("$10", {10: "ten", 1: "one"}) == "ten"
    with pytest.raises(ValueError, match=r"\$4"):
        resolve_args({"x": "$4"}, results)


def test_ready_calls_follow_dependencies() -> None:
    calls = parse_plan(PLAN, TOOLS).calls
    assert [c.idx for c in ready_calls(calls, done=set())] == [1, 2]
    assert [c.idx for c in ready_calls(calls, done={1}, running={2})] == []
    assert [c.idx for c in ready_calls(calls, done={1, 2})] == [3, 4]
    assert [c.idx for c in ready_calls(calls, done={1, 2, 3, 4})] == [5]


def test_bind_rejects_extra_or_clashing_positionals() -> None:
    call = PlannedCall(idx=1, tool="search", args={"query": "y"}, positional=["x"])
    with pytest.raises(ValueError, match="both by position and by name"):
        call.bind(["query"])
    with pytest.raises(ValueError, match="positional"):
        call.bind([])


def test_json_plan_forms() -> None:
    raw = (
        '```json\n{"calls": [{"idx": 1, "tool": "search", "args": {"query": "x"}},'
        ' {"idx": 2, "tool": "read", "args": {"doc": "$1"}}, {"idx": 3, "tool": "join"}]}\n```'
    )
    plan = parse_json_plan(raw, TOOLS)
    assert plan.problems == []
    assert [(c.idx, c.deps) for c in plan.calls] == [(1, ()), (2, (1,)), (3, (1, 2))]
    as_list = parse_json_plan([{"idx": 1, "tool": "search", "args": {"q": "$2"}}])
    assert as_list.calls == []
    assert "not an earlier call" in as_list.problems[0]
    unknown = parse_json_plan({"calls": [{"idx": 1, "tool": "fetch"}]}, TOOLS)
    assert "unknown tool 'fetch'" in unknown.problems[0]


@pytest.mark.parametrize("bad", ["not json", '{"calls": [{"idx": 0, "tool": "x"}]}', "[1, 2]"])
def test_json_plan_garbage_is_one_clear_problem(bad: str) -> None:
    plan = parse_json_plan(bad)
    assert plan.calls == []
    assert len(plan.problems) == 1 and '"calls"' in plan.problems[0]


def test_plan_schema_names_the_fields() -> None:
    schema = plan_json_schema()
    call_schema = schema["$defs"]["JsonCall"]
    assert set(call_schema["properties"]) == {"idx", "tool", "args"}
    assert call_schema["additionalProperties"] is False
