"""Routing between agent graph nodes (pure): conditions on the state, fallbacks, max_visits."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.graph.routing import (
    VISITS_KEY,
    choose_route,
    condition_holds,
    ordered_edges,
    read_path,
    step_limit,
)
from orchestrator.graph.spec import END, Condition, EdgeSpec
from orchestrator.graph.state import merge_state, plain_data_problem


def cond(**test: Any) -> Condition:
    return Condition.model_validate(test)


def edge(source: str, target: str, **when: Any) -> EdgeSpec:
    data: dict[str, Any] = {"from": source, "to": target}
    if when:
        data["when"] = when
    return EdgeSpec.model_validate(data)


STATE = {"verdict": {"accepted": True, "score": 3}, "items": ["a", "b"], "empty": "", "n": 1}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("verdict.accepted", True),
        ("verdict.score", 3),
        ("items.1", "b"),
        ("items.-1", "b"),
        ("items.-2", "a"),
        ("items.-3", None),
        ("items.2", None),
        ("items.5", None),
        ("items.X1", None),
        ("items.x", None),
        ("verdict.missing", None),
        ("missing.deeper", None),
        ("n.deeper", None),
    ],
)
def test_read_path_walks_mappings_and_lists(path: str, expected: Any) -> None:
    assert read_path(STATE, path) == expected


@pytest.mark.parametrize(
    ("test", "holds"),
    [
        ({"field": "verdict.score", "equals": 3}, True),
        ({"field": "verdict.score", "equals": 4}, False),
        ({"field": "verdict.score", "not_equals": 4}, True),
        ({"field": "verdict.score", "not_equals": 3}, False),
        ({"field": "missing", "not_equals": 3}, True),
        ({"field": "verdict.score", "in": [1, 2, 3]}, True),
        ({"field": "verdict.score", "in": [1, 2]}, False),
        ({"field": "verdict.accepted", "truthy": True}, True),
        ({"field": "empty", "truthy": True}, False),
        ({"field": "empty", "truthy": False}, True),
        ({"field": "missing", "truthy": False}, True),
        ({"field": "missing", "equals": None}, True),
        # A YAML `true` is not the count 1, and `1` is not the flag true.
        ({"field": "n", "equals": True}, False),
        ({"field": "verdict.accepted", "equals": 1}, False),
        ({"field": "verdict.accepted", "not_equals": 1}, True),
    ],
)
def test_condition_tests(test: dict[str, Any], holds: bool) -> None:
    assert condition_holds(cond(**test), STATE) is holds


def test_conditional_edges_are_tried_before_the_fallback() -> None:
    edges = [
        edge("judge", "revise"),
        edge("judge", END, field="verdict.accepted", truthy=True),
    ]
    assert [e.to for e in ordered_edges(edges)] == [END, "revise"]
    assert choose_route(edges, {"verdict": {"accepted": True}}, {"revise": 2}).target == END
    assert choose_route(edges, {"verdict": {"accepted": False}}, {"revise": 2}).target == "revise"


def test_conditions_are_tried_in_file_order() -> None:
    edges = [
        edge("a", "b", field="n", in_=[1, 2]),
        edge("a", "c", field="n", equals=1),
        edge("a", END),
    ]
    assert choose_route(edges, {"n": 1}, {}).target == "b"
    assert choose_route(edges, {"n": 3}, {}).target == END


def test_a_node_at_max_visits_is_skipped_for_the_next_candidate() -> None:
    edges = [edge("judge", "revise", field="ok", equals=False), edge("judge", "summarize")]
    state = {"ok": False, VISITS_KEY: {"revise": 2}}
    route = choose_route(edges, state, {"revise": 2, "summarize": 1})
    assert route.target == "summarize"
    assert route.exhausted == ("revise",)
    assert not route.out_of_rounds


def test_every_target_exhausted_ends_the_job_out_of_rounds() -> None:
    edges = [edge("judge", "revise")]
    route = choose_route(edges, {VISITS_KEY: {"revise": 3}}, {"revise": 3})
    assert route.target == END and route.out_of_rounds
    assert route.exhausted == ("revise",)


def test_end_is_never_exhausted_and_unvisited_nodes_are_open() -> None:
    assert choose_route([edge("a", END)], {VISITS_KEY: {END: 99}}, {}).target == END
    assert choose_route([edge("START", "a")], {}, {"a": 1}).target == "a"


def test_a_node_runs_until_its_own_max_visits() -> None:
    edges = [edge("judge", "revise")]
    assert choose_route(edges, {VISITS_KEY: {"revise": 2}}, {"revise": 3}).target == "revise"
    assert choose_route(edges, {VISITS_KEY: {"revise": 3}}, {"revise": 3}).target == END


def test_a_node_without_max_visits_runs_once() -> None:
    edges = [edge("judge", "revise")]
    assert choose_route(edges, {VISITS_KEY: {}}, {}).target == "revise"
    route = choose_route(edges, {VISITS_KEY: {"revise": 1}}, {})
    assert (route.target, route.exhausted) == (END, ("revise",))


def test_step_limit_covers_every_allowed_visit() -> None:
    assert step_limit({"draft": 1, "judge": 3, "revise": 2}) == 7


def test_merge_state_replaces_named_keys_only() -> None:
    old = {"question": "q", "answer": "a"}
    assert merge_state(old, {"answer": "b", "verdict": {}}) == {
        "question": "q",
        "answer": "b",
        "verdict": {},
    }
    assert old == {"question": "q", "answer": "a"}


def test_plain_data_problem_names_the_offending_path() -> None:
    assert plain_data_problem({"a": [1, 2.5, "x", None, True, {"b": ()}]}) is None
    problem = plain_data_problem({"a": [1, {"b": {1, 2}}]})
    assert problem is not None and "state.a[1].b" in problem and "set" in problem
    key_problem = plain_data_problem({"a": {3: "x"}})
    assert key_problem is not None and "non-string key 3" in key_problem
