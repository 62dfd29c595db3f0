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


JSON_FORM = 'the plan is not JSON of the form {"calls": [{"idx": 1, "tool": ..., "args": {...}}]}'


def test_json_plans_are_found_after_prose_fences_and_stray_characters() -> None:
    join = '{"idx": 1, "tool": "join"}'
    for text in (
        f"Here is the plan: [{join}]",
        f">[{join}]",
        '[{"idx": 1, "tool": "join", "args": {"q": ["a"]}}]',
        f'```json\n{{"calls": [{join}]}}\n```',
    ):
        plan = parse_json_plan(text)
        assert (plan.problems, [c.tool for c in plan.calls]) == ([], ["join"]), text
    assert parse_json_plan("[]").problems == []


def test_json_problems_say_the_expected_form_and_the_first_line_of_the_error() -> None:
    # The fence is removed first, so the error is about the value, not the backticks.
    assert parse_json_plan("```json\n42\n```").problems == [
        f"{JSON_FORM}: 1 validation error for JsonPlan"
    ]
    assert parse_json_plan(
        '{"meta": {"v": 1}, "calls": [{"idx": 1, "tool": "join"}]}'
    ).problems == [f"{JSON_FORM}: 1 validation error for JsonPlan"]
    assert parse_json_plan("not json").problems == [
        f"{JSON_FORM}: Expecting value: line 1 column 1 (char 0)"
    ]


def test_positional_arguments_reference_calls_too() -> None:
    plan = parse_plan('1. search("x")\n2. read($1)')
    assert plan.calls[1].deps == (1,)


def test_a_result_not_there_yet_is_named() -> None:
    with pytest.raises(ValueError) as caught:
        resolve_value("$2", {1: "a"})
    assert str(caught.value) == (
        "argument references $2 but call 2 has no result yet; "
        "start a call only when ready_calls lists it"
    )


def test_index_problems_are_named_exactly() -> None:
    assert parse_plan('0. search(q="x")').problems == ["call 0 (search): index 0 must be >= 1"]
    assert parse_plan("1. search(q=$1)").problems == [
        "call 1 (search): references $1, which is not an earlier call; a call may only use the "
        "results of calls before it"
    ]
    # A call that does not parse still takes its index.
    assert parse_plan('1. search(q=python rocks)\n1. search(q="x")').problems[1] == (
        "call 1 (search): duplicate index 1; number the calls 1, 2, 3, ..."
    )
    # A join reusing an index is a duplicate, not a reference to itself.
    assert parse_plan('1. search(q="x")\n1. join()').problems == [
        "call 1 (join): duplicate index 1; number the calls 1, 2, 3, ..."
    ]
    assert parse_plan("2. search(x) and more").problems == [
        "numbered line '2. search(x) and more' is not a tool call like "
        "'3. tool(arg=\"text\", other=$1)'"
    ]


def test_an_unfinished_call_is_quoted_as_written() -> None:
    assert parse_plan('1. search(query="x"\n').problems == [
        "call is incomplete at the end of the plan: '1. search(query=\"x\"'"
    ]


def test_the_first_end_marker_ends_the_plan_even_without_join() -> None:
    plan = parse_plan("1. a()\n<END_OF_PLAN>2. b()\n<END_OF_PLAN>")
    assert ([c.tool for c in plan.calls], plan.thoughts) == (["a"], [])
    parser = PlanStreamParser(TOOLS)
    assert (parser.known_tools, parser.max_call_chars, parser.finished) == (TOOLS, 8000, False)
    parser.feed('1. search(q="x")\n<END_OF_PLAN>')
    assert parser.finished is True
    assert parser.feed('2. search(q="y")\n') == []


def test_closing_a_plan_without_join_finishes_it() -> None:
    parser = PlanStreamParser()
    parser.feed('1. search(q="x")\n')
    assert parser.close() == []
    assert parser.finished is True


def test_an_overlong_open_call_is_dropped_and_the_next_line_parses_afresh() -> None:
    parser = PlanStreamParser(max_call_chars=30)
    head = '1. search(q="' + "a" * 17  # exactly 30 characters, brackets still open
    assert parser.feed(head + "\n") == []
    assert parser.problems == []
    assert parser.feed("b\n") == []
    assert parser.problems == [
        f"call {(head + chr(10) + 'b')!r} is longer than 30 characters without closing its brackets"
    ]
    assert parser.feed("Now a thought.\n") == []
    assert parser.thoughts == ["Now a thought."]
    (call,) = parser.feed('2. search(q="y")\n')
    assert call.idx == 2


def test_an_overlong_call_is_quoted_up_to_200_characters() -> None:
    parser = PlanStreamParser(max_call_chars=10)
    statement = '1. search(q="' + "a" * 300
    parser.feed(statement + "\n")
    assert parser.problems == [
        f"call {statement[:200]!r} is longer than 10 characters without closing its brackets"
    ]


def test_references_inside_strings_with_escaped_quotes_stay_text() -> None:
    assert parse_call_args(r'q="a \"$1\" b", r=$2') == ([], {"q": 'a "$1" b', "r": "$2"})
    assert parse_call_args("Xq=$1") == ([], {"Xq": "$1"})


def test_signs_apply_to_numbers_only() -> None:
    assert parse_call_args("n=+5, m=-5, x=-0.5") == ([], {"n": 5, "m": -5, "x": -0.5})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('q=-"x"', "unsupported argument \"-'x'\"; use literals and $n references"),
        ("q=-true", "unsupported argument '-true'; use literals and $n references"),
        (
            'q="abc\\',
            "arguments 'q=\"abc\\\\' do not parse (unterminated string literal (detected at "
            "line 1))",
        ),
        ("q=$x", "arguments 'q=$x' do not parse (invalid syntax)"),
        ("q=x", "bare name 'x'; quote text arguments"),
        ("1), g(2", "arguments '1), g(2' do not parse"),
        ("q={**a}", "'**' in a dict is not supported"),
        ("*a", "'*' arguments are not supported"),
        ("**a", "'**' arguments are not supported"),
    ],
)
def test_argument_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_call_args(text)
    assert str(caught.value) == message
