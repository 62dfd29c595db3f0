"""The built-in agent graphs: each loads, compiles, and resolves by name or by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.strategies.operators import STRATEGIES
from orchestrator.app import builtin_ops, builtin_tool_names
from orchestrator.errors import ConfigError
from orchestrator.graph.compile import compile_graph
from orchestrator.graph.loader import load_graph
from orchestrator.graph.resolve import builtin_graphs_dir, list_graphs, resolve_graph
from orchestrator.testing import ScriptedModel
from tests.support import make_context

AGENT_OPS = {"plan", "research", "research_tree", "synthesize", "draft", "judge", "revise"}
TOOLS = set(builtin_tool_names())
GRAPHS_DIR = Path(__file__).parents[1] / "graphs"


def known_ops() -> set[str]:
    return AGENT_OPS | set(STRATEGIES)


def test_every_yaml_file_is_listed() -> None:
    listed = list_graphs()
    assert {"deep_research", "revise_until_accepted"} <= set(listed)
    assert set(listed) == {p.stem for p in GRAPHS_DIR.glob("*.yaml")}
    assert list(listed) == sorted(listed)
    assert builtin_graphs_dir() == GRAPHS_DIR.resolve()


@pytest.mark.parametrize("name", sorted(p.stem for p in GRAPHS_DIR.glob("*.yaml")))
def test_builtin_graph_loads_and_compiles(name: str) -> None:
    registry = builtin_ops()
    assert set(registry.names()) == known_ops()
    spec = load_graph(
        list_graphs()[name],
        known_ops=registry.names(),
        known_tools=TOOLS,
        param_checks=registry.param_checks(),
    )
    assert spec.name == name
    assert spec.description.strip(), "the first description line is shown by `breadth graphs`"
    text = (GRAPHS_DIR / f"{name}.yaml").read_text()
    assert text.startswith("#"), "each graph file opens with a comment explaining it"
    ctx, _ = make_context(ScriptedModel([]), graph=spec)
    compiled = compile_graph(spec, registry, ctx)
    assert set(spec.nodes) <= set(compiled.get_graph().nodes)


def test_deep_research_is_plan_research_synthesize() -> None:
    spec = load_graph(list_graphs()["deep_research"], known_ops=known_ops(), known_tools=TOOLS)
    assert [(n, spec.nodes[n].op) for n in spec.nodes] == [
        ("plan", "plan"),
        ("research", "research"),
        ("synthesize", "synthesize"),
    ]
    assert [(e.from_, e.to) for e in spec.edges] == [
        ("START", "plan"),
        ("plan", "research"),
        ("research", "synthesize"),
        ("synthesize", "END"),
    ]
    researcher = spec.agents[spec.nodes["research"].agent or ""]
    assert set(researcher.tools) == {"search", "read"}
    assert spec.budgets.max_tokens is not None and spec.budgets.deadline_s is not None


def test_revise_until_accepted_loops_with_bounded_visits() -> None:
    spec = load_graph(
        list_graphs()["revise_until_accepted"], known_ops=known_ops(), known_tools=TOOLS
    )
    assert spec.nodes["judge"].max_visits > 1 and spec.nodes["revise"].max_visits > 1
    [accept] = [e for e in spec.edges_from("judge") if e.when is not None]
    assert accept.to == "END" and accept.when is not None
    assert accept.when.field == "verdict.accepted"
    assert [e.to for e in spec.edges_from("revise")] == ["judge"]


@pytest.mark.parametrize("name", ["deep_research", "deep_research.yaml"])
def test_resolve_by_builtin_name(name: str) -> None:
    assert resolve_graph(name) == list_graphs()["deep_research"]


def test_resolve_an_existing_path_first(tmp_path: Path) -> None:
    own = tmp_path / "deep_research.yaml"
    own.write_text("name: mine\n")
    assert resolve_graph(str(own)) == own
    assert resolve_graph(own) == own


def test_unknown_graph_lists_the_builtin_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_graph("deep_reserch")
    message = str(caught.value)
    assert "'deep_reserch'" in message and "did you mean 'deep_research'" in message
    assert "deep_research, " in message and "revise_until_accepted" in message
    assert "path" in message


def test_a_directory_is_not_a_graph(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        resolve_graph(str(tmp_path))
