"""Cross-reference and shape checks of an agent graph's raw data: each finding's place and
its whole message, the lenient reading of malformed parts, and the loop and reachability
rules at their edges.
"""

from __future__ import annotations

from typing import Any

from orchestrator.graph.checks import graph_findings, suggestion

NAME_RULE = (
    "is not allowed: use letters, digits, '_' and '-', starting with a letter or '_' "
    "(not '__'); START and END are reserved for the graph's entry and exit"
)


def edges(*pairs: tuple[str, str], when: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Edges from (source, target) pairs; those at the ``when`` indexes are conditional."""
    out: list[dict[str, Any]] = []
    for index, (source, target) in enumerate(pairs):
        edge: dict[str, Any] = {"from": source, "to": target}
        if index in when:
            edge["when"] = {"field": "ok", "truthy": True}
        out.append(edge)
    return out


def findings(data: Any, **known: Any) -> list[tuple[tuple[Any, ...], str]]:
    return [(f.path, f.message) for f in graph_findings(data, **known)]


def unreachable(name: str) -> str:
    return (
        f"node {name!r} is unreachable from START: no chain of edges leads to it; add an edge "
        f"into it or remove the node"
    )


def no_way_out(name: str) -> str:
    return (
        f"node {name!r} has no outgoing edge; add one (`- {{from: {name}, to: END}}` to finish "
        f"the job there)"
    )


def endless(loop: str, name: str) -> str:
    return (
        f"the loop through {loop} can never repeat: every node in it has max_visits 1; set "
        f"max_visits on {name!r} to the number of rounds allowed (e.g. `max_visits: 3`), or "
        f"remove the edge back"
    )


LINE = edges(("START", "a"), ("a", "END"))


def test_a_sound_graph_has_no_findings() -> None:
    data = {"agents": {"lead": {}}, "nodes": {"a": {"op": "plan", "agent": "lead"}}}
    assert findings({**data, "edges": LINE}, known_ops={"plan"}, known_tools=set()) == []


def test_data_that_is_not_a_mapping_is_left_to_pydantic() -> None:
    assert findings(["nodes"]) == []


def test_an_undefined_model_is_named_with_the_defined_ones_and_the_close_one() -> None:
    data = {
        "models": {"gpt": {}},
        "agents": {"lead": {"model": "gtp"}, "plain": {}},
        "nodes": {"a": {"agent": "lead"}},
        "edges": LINE,
    }
    assert findings(data) == [
        (
            ("agents", "lead", "model"),
            "agent 'lead' uses model 'gtp', which is not defined under 'models' (defined: "
            "default, gpt) (did you mean 'gpt'?); define it there or use a defined one",
        )
    ]


def test_models_given_as_a_list_define_nothing_but_the_default() -> None:
    data = {"models": ["gpt"], "agents": {"lead": {"model": "gpt"}}, "nodes": {}, "edges": []}
    assert findings(data)[0] == (
        ("agents", "lead", "model"),
        "agent 'lead' uses model 'gpt', which is not defined under 'models' (defined: default); "
        "define it there or use a defined one",
    )


def test_unknown_tools_are_named_with_the_known_ones() -> None:
    data = {"agents": {"lead": {"tools": ["serch", "read", 3]}}, "nodes": {}, "edges": []}
    assert findings(data, known_tools=["search", "read"])[0] == (
        ("agents", "lead", "tools", 0),
        "agent 'lead' lists unknown tool 'serch' (did you mean 'search'?); known tools: read, "
        "search (and SERVER__TOOL for the tools of a server under 'mcp_servers')",
    )
    assert findings(data, known_tools=[])[:2] == [
        (
            ("agents", "lead", "tools", 0),
            "agent 'lead' lists unknown tool 'serch'; known tools: none (and SERVER__TOOL for "
            "the tools of a server under 'mcp_servers')",
        ),
        (
            ("agents", "lead", "tools", 1),
            "agent 'lead' lists unknown tool 'read'; known tools: none (and SERVER__TOOL for "
            "the tools of a server under 'mcp_servers')",
        ),
    ]
    # Not checked without a tool registry.
    assert findings(data)[0][0] == ("edges",)


def test_reserved_and_malformed_node_names_are_refused() -> None:
    data = {"nodes": {"__x": {}, "START": {}, "1a": {}, "ok-1": {}}, "edges": LINE}
    data["edges"] = edges(("START", "ok-1"), ("ok-1", "END"))
    assert findings(data) == [
        (("nodes", "__x"), f"node name '__x' {NAME_RULE}"),
        (("nodes", "START"), f"node name 'START' {NAME_RULE}"),
        (("nodes", "1a"), f"node name '1a' {NAME_RULE}"),
        (("nodes", "__x"), no_way_out("__x")),
        (("nodes", "1a"), no_way_out("1a")),
        (("nodes", "__x"), unreachable("__x")),
        (("nodes", "1a"), unreachable("1a")),
    ]


def test_a_node_named_end_is_refused() -> None:
    data = {"nodes": {"END": {}, "a": {}}, "edges": LINE}
    assert findings(data) == [
        (("nodes", "END"), f"node name 'END' {NAME_RULE}"),
        (("nodes", "END"), no_way_out("END")),
    ]


def test_unknown_op_and_agent_with_nothing_defined_say_none() -> None:
    data = {"nodes": {"a": {"op": "vot", "agent": "lead"}}, "edges": LINE}
    assert findings(data, known_ops=[]) == [
        (("nodes", "a", "op"), "node 'a' uses unknown op 'vot'; known ops: none"),
        (
            ("nodes", "a", "agent"),
            "node 'a' uses agent 'lead', which is not defined under 'agents' (defined: none); "
            "define it there or use a defined one",
        ),
    ]


def test_unknown_agent_lists_the_defined_ones_and_the_close_one() -> None:
    data = {"agents": {"lead": {}, "writer": {}}, "nodes": {"a": {"agent": "led"}}, "edges": LINE}
    assert findings(data) == [
        (
            ("nodes", "a", "agent"),
            "node 'a' uses agent 'led', which is not defined under 'agents' (defined: lead, "
            "writer) (did you mean 'lead'?); define it there or use a defined one",
        )
    ]


def test_edges_into_start_or_out_of_end_and_to_missing_nodes() -> None:
    data = {"nodes": {}, "edges": edges(("END", "START"), ("START", "ghost"))}
    assert findings(data) == [
        (
            ("edges", 0, "from"),
            "an edge cannot go from 'END': START only has edges out, END only edges in",
        ),
        (
            ("edges", 0, "to"),
            "an edge cannot go to 'START': START only has edges out, END only edges in",
        ),
        (
            ("edges", 1, "to"),
            "edge to 'ghost': no such node; defined nodes: none (and END); define the node under "
            "'nodes' or fix the name",
        ),
    ]


def test_an_edge_from_a_missing_node_names_start_as_the_special_source() -> None:
    data = {"nodes": {"plan": {}}, "edges": edges(("START", "plan"), ("plam", "END"))}
    assert findings(data)[0] == (
        ("edges", 1, "from"),
        "edge from 'plam': no such node (did you mean 'plan'?); defined nodes: plan (and START); "
        "define the node under 'nodes' or fix the name",
    )


def test_a_missing_edge_end_lists_every_defined_node() -> None:
    data = {"nodes": {"b": {}, "a": {}}, "edges": edges(("START", "a"), ("a", "c"), ("b", "END"))}
    assert findings(data)[0] == (
        ("edges", 1, "to"),
        "edge to 'c': no such node; defined nodes: a, b (and END); define the node under "
        "'nodes' or fix the name",
    )


def test_a_dangling_edge_postpones_the_path_checks() -> None:
    data = {"nodes": {"a": {}}, "edges": edges(("START", "a"), ("a", "ghost"))}
    assert [path for path, _ in findings(data)] == [("edges", 1, "to")]


def test_without_an_edge_from_start_only_that_is_reported() -> None:
    data = {"nodes": {"a": {}}, "edges": edges(("a", "END"))}
    assert findings(data) == [
        (
            ("edges",),
            "no edge from START: the graph has no entry; add `- {from: START, to: <node>}`",
        )
    ]


def test_no_way_to_end_and_an_unreachable_node() -> None:
    data = {"nodes": {"a": {}, "b": {}}, "edges": edges(("START", "a"), ("a", "a"), when=(1,))}
    assert findings(data) == [
        (
            ("edges", 1),
            "every edge from 'a' has a 'when', so the job would have nowhere to go when none "
            "holds; add one edge from 'a' without 'when' as the fallback",
        ),
        (("nodes", "b"), no_way_out("b")),
        (("nodes", "b"), unreachable("b")),
        (
            ("edges",),
            "no path from START to END: the job could never finish; add an edge to END (e.g. "
            "`- {from: <last node>, to: END}`)",
        ),
        (("nodes", "a", "max_visits"), endless("a", "a")),
    ]


def test_a_node_from_which_end_cannot_be_reached() -> None:
    data = {
        "nodes": {"a": {}, "b": {"max_visits": 2}},
        "edges": edges(("START", "a"), ("a", "END"), ("a", "b"), ("b", "b"), when=(2,)),
    }
    assert findings(data) == [
        (
            ("nodes", "b"),
            "no path from node 'b' to END: once there the job could never finish; add an edge "
            "from it (or a node after it) to END",
        )
    ]


def test_the_fallback_warning_points_at_the_last_conditional_edge() -> None:
    data = {
        "nodes": {"a": {}, "b": {"max_visits": 2}},
        "edges": edges(("START", "a"), ("a", "b"), ("a", "END"), ("b", "a"), when=(1, 2)),
    }
    assert [path for path, _ in findings(data)] == [("edges", 2)]


def test_every_extra_fallback_is_reported_at_its_edge() -> None:
    data = {
        "nodes": {"a": {"max_visits": 2}},
        "edges": edges(("START", "a"), ("a", "END"), ("a", "a"), ("a", "END")),
    }
    ambiguous = (
        "'a' has several edges without 'when' (to 'END', 'a', 'END'), so its next node is "
        "ambiguous; keep one as the fallback and give the others a 'when' (fan-out belongs in "
        "the task DAG, not the agent graph)"
    )
    assert findings(data) == [(("edges", 2), ambiguous), (("edges", 3), ambiguous)]


def test_two_fallbacks_are_one_finding() -> None:
    data = {"nodes": {"a": {}}, "edges": edges(("START", "a"), ("a", "END"), ("START", "END"))}
    assert [path for path, _ in findings(data)] == [("edges", 2)]


def test_a_loop_may_repeat_once_any_node_in_it_may_run_again() -> None:
    loop = edges(("START", "a"), ("a", "b"), ("b", "a"), ("b", "END"), when=(2,))
    assert findings({"nodes": {"a": {"max_visits": 2}, "b": {}}, "edges": loop}) == []
    assert findings({"nodes": {"a": {}, "b": {"max_visits": 3}}, "edges": loop}) == []
    # Without max_visits, or with one that is not a number (pydantic reports it), it is 1.
    assert findings({"nodes": {"a": {}, "b": {}}, "edges": loop}) == [
        (("nodes", "a", "max_visits"), endless("a → b", "a"))
    ]
    bad = {"nodes": {"a": {"max_visits": True}, "b": {"max_visits": "x"}}, "edges": loop}
    assert findings(bad) == [(("nodes", "a", "max_visits"), endless("a → b", "a"))]


def test_each_loop_is_reported_once_and_nodes_leading_to_it_are_not_in_it() -> None:
    data = {
        "nodes": {"p": {}, "a": {}, "b": {}, "c": {}, "d": {}},
        "edges": edges(
            ("START", "p"),
            ("p", "a"),
            ("a", "b"),
            ("b", "a"),
            ("b", "c"),
            ("c", "d"),
            ("d", "c"),
            ("d", "END"),
            when=(3, 6),
        ),
    }
    assert findings(data) == [
        (("nodes", "a", "max_visits"), endless("a → b", "a")),
        (("nodes", "c", "max_visits"), endless("c → d", "c")),
    ]


def test_malformed_parts_are_skipped_for_pydantic_to_report() -> None:
    data = {
        "agents": {"lead": "x", 3: {}},
        "nodes": {"a": "oops", 4: {}},
        "edges": [
            1,
            {"from": "START", "to": "a"},
            {"from": 3, "to": "a"},
            {"from": "a", "to": "END"},
        ],
    }
    assert findings(data, known_tools=[]) == []


def test_suggestion_names_the_closest_known_name_or_nothing() -> None:
    assert suggestion("serach", ["research", "search"]) == " (did you mean 'search'?)"
    assert suggestion("abc", ["xyz"]) == ""
    # A close-enough name only: 0.6 similarity at least.
    assert suggestion("plan", ["planner"]) == " (did you mean 'planner'?)"
    assert suggestion("pl", ["planner"]) == ""
