"""Loading agent graph YAML: every problem at once, each with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import GraphSpecError, SpecProblem
from orchestrator.graph.loader import field_path, graph_problems, load_graph

OPS = {"plan", "research", "synthesize"}
TOOLS = {"search", "read"}

GOOD = """\
name: good
agents:
  lead: {temperature: 0.2}
  researcher: {tools: [search, read], max_steps: 3}
nodes:
  plan: {op: plan, agent: lead, params: {max_subquestions: 3}}
  research: {op: research, agent: researcher}
  synthesize: {op: synthesize, agent: lead}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: synthesize}
  - {from: synthesize, to: END}
budgets: {max_tokens: 5000, concurrency: 2}
"""

# Line numbers matter: each mistake below is asserted with its line.
MANY_MISTAKES = """\
name: broken
agents:
  lead: {model: default, tols: [search]}
  researcher: {tools: [serch]}
nodes:
  plan: {op: plan, agent: lead}
  research: {op: reserch, agent: researcher, max_visits: three}
  synthesize: {op: synthesize, agent: writer}
  plan: {op: plan, agent: lead}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: synthesis}
  - {from: synthesize, to: END}
budgets:
  max_tokens: -5
"""


def write(tmp_path: Path, text: str, name: str = "graph.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def by_field(problems: list[SpecProblem]) -> dict[str, SpecProblem]:
    return {p.field: p for p in problems}


def test_a_good_file_loads(tmp_path: Path) -> None:
    spec = load_graph(write(tmp_path, GOOD), known_ops=OPS, known_tools=TOOLS)
    assert list(spec.nodes) == ["plan", "research", "synthesize"]
    assert spec.nodes["plan"].params == {"max_subquestions": 3}
    assert spec.agents["researcher"].tools == ["search", "read"]
    assert spec.budgets.max_tokens == 5000
    assert (spec.edges[0].from_, spec.edges[0].to) == ("START", "plan")
    assert graph_problems(tmp_path / "graph.yaml", known_ops=OPS, known_tools=TOOLS) == []


def test_every_mistake_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, MANY_MISTAKES)
    with pytest.raises(GraphSpecError) as caught:
        load_graph(path, known_ops=OPS, known_tools=TOOLS)
    problems = by_field(caught.value.problems)
    expected_lines = {
        "agents.lead.tols": 3,
        "agents.researcher.tools[0]": 4,
        "nodes.research.op": 7,
        "nodes.research.max_visits": 7,
        "nodes.synthesize.agent": 8,
        "nodes.plan": 9,
        "edges[2].to": 13,
        "budgets.max_tokens": 16,
    }
    assert {f: problems[f].line for f in expected_lines if f in problems} == expected_lines
    assert all(p.file == str(path) for p in caught.value.problems)
    lines = [p.line or 0 for p in caught.value.problems]
    assert lines == sorted(lines)

    assert "'tols'" in problems["agents.lead.tols"].message
    assert "did you mean 'tools'" in problems["agents.lead.tols"].message
    assert "did you mean 'search'" in problems["agents.researcher.tools[0]"].message
    unknown_op = problems["nodes.research.op"].message
    assert "'reserch'" in unknown_op and "did you mean 'research'" in unknown_op
    assert "known ops: plan, research, synthesize" in unknown_op
    assert "'three'" in problems["nodes.research.max_visits"].message
    assert "integer" in problems["nodes.research.max_visits"].message
    assert "'writer'" in problems["nodes.synthesize.agent"].message
    duplicate = problems["nodes.plan"].message
    assert "duplicate key 'plan'" in duplicate and "line 6" in duplicate
    dangling = problems["edges[2].to"].message
    assert "'synthesis'" in dangling and "no such node" in dangling
    assert "did you mean 'synthesize'" in dangling
    assert "-5" in problems["budgets.max_tokens"].message


def test_the_report_reads_file_line_field_message(tmp_path: Path) -> None:
    path = write(tmp_path, MANY_MISTAKES)
    with pytest.raises(GraphSpecError) as caught:
        load_graph(path, known_ops=OPS, known_tools=TOOLS)
    text = str(caught.value)
    assert text.startswith(f"{len(caught.value.problems)} problems in agent graph:")
    assert f"{path}:7: nodes.research.op: node 'research' uses unknown op 'reserch'" in text
    assert f"{path}:13: edges[2].to: edge to 'synthesis': no such node" in text


def test_the_cli_example_reports_lines_6_and_10(tmp_path: Path) -> None:
    text = """\
name: broken
agents:
  lead: {model: default}
nodes:
  plan: {op: plan, agent: lead}
  research: {op: reserch, agent: lead}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: synthesize}
"""
    problems = graph_problems(write(tmp_path, text), known_ops=OPS)
    lines = {(p.line, p.field) for p in problems}
    assert (6, "nodes.research.op") in lines
    assert (10, "edges[2].to") in lines


def test_unknown_fields_and_missing_ones_name_the_allowed_fields(tmp_path: Path) -> None:
    text = """\
name: typo
nodes:
  a: {opp: plan}
edges:
  - {from: START, to: a, wen: {field: x, truthy: true}}
  - {from: a, to: END}
"""
    problems = by_field(graph_problems(write(tmp_path, text), known_ops=OPS))
    assert problems["nodes.a.opp"].line == 3
    assert "did you mean 'op'" in problems["nodes.a.opp"].message
    assert "op, agent, params, max_visits" in problems["nodes.a.opp"].message
    assert problems["nodes.a.op"].line == 3
    assert "required field 'op' is missing" in problems["nodes.a.op"].message
    assert problems["edges[0].wen"].line == 5
    assert "did you mean 'when'" in problems["edges[0].wen"].message


def test_a_condition_with_two_tests_is_one_problem(tmp_path: Path) -> None:
    text = """\
name: cond
nodes:
  a: {op: plan, max_visits: 2}
edges:
  - {from: START, to: a}
  - from: a
    to: END
    when: {field: done, truthy: true, equals: 1}
  - {from: a, to: a}
"""
    problems = graph_problems(write(tmp_path, text), known_ops=OPS)
    assert [(p.line, p.field) for p in problems] == [(8, "edges[1].when")]
    assert "exactly one test" in problems[0].message


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nnodes:\n  a: {op: plan\nedges: []\n")
    with pytest.raises(GraphSpecError) as caught:
        load_graph(path)
    [problem] = caught.value.problems
    assert problem.field == "yaml" and problem.line is not None and problem.line >= 3
    assert "YAML syntax error" in problem.message


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    [empty] = graph_problems(write(tmp_path, "", "empty.yaml"))
    assert "the file is empty" in empty.message and "'nodes'" in empty.message
    [listed] = graph_problems(write(tmp_path, "- a\n- b\n", "list.yaml"))
    assert "holds a list" in listed.message and listed.line == 1


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(GraphSpecError) as caught:
        load_graph(missing)
    assert str(missing) in str(caught.value) and "no such file" in str(caught.value)
    assert "breadth graphs" in str(caught.value)
    [directory] = graph_problems(tmp_path)
    assert "directory" in directory.message


def test_ops_and_tools_are_unchecked_when_not_given(tmp_path: Path) -> None:
    text = GOOD.replace("op: research", "op: anything").replace("search, read", "whatever")
    assert load_graph(write(tmp_path, text)).nodes["research"].op == "anything"


def test_field_path_writes_list_indexes_in_brackets() -> None:
    assert field_path(("nodes", "research", "op")) == "nodes.research.op"
    assert field_path(("edges", 2, "to")) == "edges[2].to"
    assert field_path(("nodes", 3), {"nodes": {3: {}}}) == "nodes.3"
    assert field_path(()) == "(top level)"
