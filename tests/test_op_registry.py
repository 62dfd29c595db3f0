"""One op registry: every op, built-in or strategy, with a params model checked everywhere.

``breadth validate`` checks every op's params with lines (``plan`` like ``vote``), inner
strategies included; wrapping the registry (tracing) keeps the checks, so a bad param
fails before any model call; ``breadth schema`` describes each op's params.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from orchestrator.app import Runtime, builtin_ops
from orchestrator.cli import main
from orchestrator.cli.options import EXIT_USER_ERROR
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError, GraphSpecError
from orchestrator.graph.loader import load_graph
from orchestrator.graph.spec import NodeSpec, graph_json_schema
from orchestrator.job import JobRequest
from orchestrator.ops import JobState, OpRegistry
from orchestrator.settings import Settings
from orchestrator.testing import ScriptedModel
from orchestrator.tracing import instrument_ops

BAD_PLAN = """\
# a plan node with a bad param
name: bad-plan
agents:
  lead: {}
nodes:
  plan:
    op: plan
    agent: lead
    params:
      max_subquestions: 0
  research: {op: research, agent: lead, params: {first_serch: false}}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: END}
"""

BAD_INNER = """\
name: bad-inner
agents:
  solver: {}
nodes:
  debate:
    op: debate
    agent: solver
    params:
      inner:
        op: vote
        params:
          n: 0
  tour:
    op: tournament
    agent: solver
    params:
      inner: {op: plan}
edges:
  - {from: START, to: debate}
  - {from: debate, to: tour}
  - {from: tour, to: END}
"""


def problems_of(path: Path, ops: OpRegistry) -> dict[tuple[int | None, str], str]:
    with pytest.raises(GraphSpecError) as info:
        load_graph(path, known_ops=ops.names(), param_checks=ops.param_checks())
    return {(p.line, p.field): p.message for p in info.value.problems}


def test_a_bad_plan_param_fails_validation_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PLAN)
    problems = problems_of(path, builtin_ops())
    assert (
        "0: Input should be greater than or equal to 1"
        in problems[(10, "nodes.plan.params.max_subquestions")]
    )
    assert ">= 1, <= 20" in problems[(10, "nodes.plan.params.max_subquestions")]
    unknown = problems[(11, "nodes.research.params.first_serch")]
    assert "did you mean 'first_search'" in unknown


def test_breadth_validate_prints_plan_param_problems_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PLAN)
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert f"{path}:10: nodes.plan.params.max_subquestions" in err
    assert "Traceback" not in err


def test_inner_strategies_are_checked_against_their_own_params(tmp_path: Path) -> None:
    path = tmp_path / "inner.yaml"
    path.write_text(BAD_INNER)
    problems = problems_of(path, builtin_ops())
    assert ">= 1" in problems[(12, "nodes.debate.params.inner.params.n")]
    assert "not a strategy" in problems[(17, "nodes.tour.params.inner.op")]


def test_tracing_keeps_the_param_checks(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_INNER)
    traced = instrument_ops(builtin_ops())
    assert traced.names() == builtin_ops().names()
    problems = problems_of(path, traced)
    assert (12, "nodes.debate.params.inner.params.n") in problems


async def test_with_tracing_on_a_bad_strategy_param_fails_before_any_model_call(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_INNER)
    model = ScriptedModel({"*": "never asked"})
    settings = Settings(otlp_endpoint="http://127.0.0.1:9", namespace="unused")
    store = _NoStore()
    async with await Runtime.open(settings, model=model, store=store) as runtime:  # type: ignore[arg-type]
        assert runtime.ops.names() == builtin_ops().names()
        with pytest.raises(GraphSpecError, match=r"inner\.params\.n"):
            await runtime.research(JobRequest(question="2 + 2?", graph=str(path)))
    assert model.calls == []
    assert store.touched == 0


class _NoStore:
    """A store that must not be touched: the job fails before it is created."""

    namespace = "unused"

    def __init__(self) -> None:
        self.touched = 0

    def __getattr__(self, name: str) -> Any:
        self.touched += 1
        raise AssertionError(f"the store was used ({name}) before the graph was checked")

    async def aclose(self) -> None:
        return None


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = 1


async def _op(ctx: RunContext, node: NodeSpec, params: _Params, state: JobState) -> JobState:
    return {"size": params.size}


def test_a_params_model_must_forbid_unknown_fields() -> None:
    class Loose(BaseModel):
        size: int = 1

    registry = OpRegistry()
    with pytest.raises(ConfigError, match="must forbid unknown fields"):
        registry.register("loose", _op, params=Loose)  # type: ignore[arg-type]
    registry.register("tight", _op, params=_Params)
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register("tight", _op, params=_Params)


async def test_an_op_gets_its_params_parsed_and_a_bad_one_is_one_clear_error() -> None:
    registry = OpRegistry()
    registry.register("sized", _op, params=_Params)
    op = registry.get("sized")
    ctx: Any = None
    assert await op(ctx, NodeSpec(op="sized", params={"size": 3}), {}) == {"size": 3}
    with pytest.raises(ConfigError) as info:
        await op(ctx, NodeSpec(op="sized", params={"size": "big", "colour": 1}), {})
    message = str(info.value)
    assert "params.size = 'big'" in message and "unknown param 'colour'" in message
    assert "Valid params: size (default 1)" in message


def test_inner_resolves_through_the_registry() -> None:
    ops = builtin_ops()
    assert "vote" in ops.strategy_names() and "plan" not in ops.strategy_names()
    with pytest.raises(ConfigError, match="'plan' is an op that is not a strategy"):
        ops.strategy("plan", where="inner")
    params = ops.parse_strategy_params("vote", {"n": 4}, where="inner")
    assert params.n == 4
    with pytest.raises(ConfigError, match=r"params\.inner\.params\.n = 0"):
        ops.parse_strategy_params(
            "debate", {"inner": {"op": "vote", "params": {"n": 0}}}, where="x"
        )


def test_the_schema_describes_each_ops_params() -> None:
    ops = builtin_ops()
    schema = graph_json_schema(ops.params_models())
    variants = schema["$defs"]["NodeSpec"]["oneOf"]
    by_op = {v["properties"]["op"]["const"]: v["properties"]["params"] for v in variants}
    assert set(by_op) == set(ops.names())
    assert by_op["plan"]["properties"]["max_subquestions"]["minimum"] == 1
    assert by_op["vote"]["properties"]["n"]["maximum"] == 256
    assert "input" in by_op["vote"]["properties"]  # what a strategy node reads itself
    json.dumps(schema)  # plain JSON


def test_breadth_schema_prints_the_params_of_each_op(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    ops = {v["properties"]["op"]["const"] for v in schema["$defs"]["NodeSpec"]["oneOf"]}
    assert {"plan", "research", "synthesize", "vote", "debate"} <= ops
