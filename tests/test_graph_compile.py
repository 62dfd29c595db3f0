"""Agent graphs on LangGraph: nodes run their ops, edges route on the state, loops are bounded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from orchestrator.context import RunContext
from orchestrator.errors import BudgetExceeded, ConfigError, GraphRunError
from orchestrator.graph.compile import compile_graph, run_graph
from orchestrator.graph.loader import load_graph
from orchestrator.graph.routing import VISITS_KEY
from orchestrator.graph.spec import GraphSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import JobState, OpRegistry
from orchestrator.testing import ScriptedModel
from tests.support import EventLog, make_context

LINEAR = """\
name: linear
nodes:
  first: {op: append, params: {word: one}}
  second: {op: append, params: {word: two}}
  third: {op: append, params: {word: three}}
edges:
  - {from: START, to: first}
  - {from: first, to: second}
  - {from: second, to: third}
  - {from: third, to: END}
"""

LOOP = """\
name: loop
nodes:
  draft: {op: draft}
  judge: {op: judge, max_visits: 3}
  revise: {op: revise, max_visits: 2}
edges:
  - {from: START, to: draft}
  - {from: draft, to: judge}
  - {from: judge, to: END, when: {field: verdict.accepted, truthy: true}}
  - {from: judge, to: revise}
  - {from: revise, to: judge}
"""


async def append(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    return {"words": [*state.get("words", []), node.params["word"]]}


async def draft(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    return {"answer": f"draft of {state['question']}", "revisions": 0}


async def revise(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    return {"answer": state["answer"] + " (revised)", "revisions": state["revisions"] + 1}


async def model_judge(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
    """Asks the default model whether the answer is acceptable ("yes"/"no")."""
    request = GenerateRequest(messages=[ChatMessage(role="user", content=state["answer"])])
    completion = await ctx.model("default").generate(request)
    return {"verdict": {"accepted": completion.text.strip() == "yes"}}


class WordParams(BaseModel):
    """The params of these test ops: a word to append, at most."""

    model_config = ConfigDict(extra="forbid")

    word: str = ""


TestOp = Callable[[RunContext, NodeSpec, JobState], Awaitable[JobState]]


def registry(**ops: TestOp) -> OpRegistry:
    """A registry of test ops (which read ``node.params`` themselves)."""
    registry = OpRegistry()
    for name, op in ops.items():

        async def fn(
            ctx: RunContext, node: NodeSpec, params: WordParams, state: JobState, op: TestOp = op
        ) -> JobState:
            return await op(ctx, node, state)

        registry.register(name, fn, params=WordParams)
    return registry


def spec_of(tmp_path: Path, text: str, ops: OpRegistry) -> GraphSpec:
    path = tmp_path / "graph.yaml"
    path.write_text(text)
    return load_graph(path, known_ops=ops.names())


def context(spec: GraphSpec, replies: list[str] | None = None) -> tuple[RunContext, EventLog]:
    return make_context(ScriptedModel(list(replies or [])), graph=spec)


async def test_a_linear_graph_runs_every_node_in_order(tmp_path: Path) -> None:
    ops = registry(append=append)
    spec = spec_of(tmp_path, LINEAR, ops)
    ctx, log = context(spec)
    final = await run_graph(spec, ops, ctx, {"question": "q"})
    assert final["words"] == ["one", "two", "three"]
    assert final["question"] == "q"
    assert final[VISITS_KEY] == {"first": 1, "second": 1, "third": 1}
    started = [(e.data["node"], e.data["op"], e.data["visit"]) for e in log.of_type("node_started")]
    assert started == [("first", "append", 1), ("second", "append", 1), ("third", "append", 1)]
    finished = log.of_type("node_finished")
    assert [e.data["node"] for e in finished] == ["first", "second", "third"]
    assert finished[0].data["updated"] == ["words"]
    assert all(e.job_id == "job-test" for e in log.events)


async def test_the_loop_stops_when_the_judge_accepts(tmp_path: Path) -> None:
    ops = registry(draft=draft, judge=model_judge, revise=revise)
    spec = spec_of(tmp_path, LOOP, ops)
    ctx, log = context(spec, ["no", "yes"])
    final = await run_graph(spec, ops, ctx, {"question": "q"})
    assert final["answer"] == "draft of q (revised)"
    assert final["verdict"] == {"accepted": True}
    assert final[VISITS_KEY] == {"draft": 1, "judge": 2, "revise": 1}
    nodes = [e.data["node"] for e in log.of_type("node_started")]
    assert nodes == ["draft", "judge", "revise", "judge"]
    assert not log.of_type("log")


async def test_max_visits_ends_a_loop_that_never_converges(tmp_path: Path) -> None:
    ops = registry(draft=draft, judge=model_judge, revise=revise)
    spec = spec_of(tmp_path, LOOP, ops)
    ctx, log = context(spec, ["no", "no", "no", "no"])
    final = await run_graph(spec, ops, ctx, {"question": "q"})
    # judge may run 3 times and revise twice: the job ends after the third verdict.
    assert final[VISITS_KEY] == {"draft": 1, "judge": 3, "revise": 2}
    assert final["revisions"] == 2 and final["verdict"] == {"accepted": False}
    [note] = log.of_type("log")
    assert note.data["node"] == "judge" and "max_visits" in note.data["message"]
    assert [e.data["visit"] for e in log.of_type("node_started") if e.data["node"] == "judge"] == [
        1,
        2,
        3,
    ]


async def test_an_exhausted_target_falls_through_to_the_next_edge(tmp_path: Path) -> None:
    text = """\
name: fallthrough
nodes:
  work: {op: append, params: {word: w}, max_visits: 2}
  done: {op: append, params: {word: done}}
edges:
  - {from: START, to: work}
  - {from: work, to: work, when: {field: words, truthy: true}}
  - {from: work, to: done}
  - {from: done, to: END}
"""
    ops = registry(append=append)
    spec = spec_of(tmp_path, text, ops)
    ctx, _ = context(spec)
    final = await run_graph(spec, ops, ctx, {"question": "q"})
    assert final["words"] == ["w", "w", "done"]


async def test_op_errors_propagate_unchanged(tmp_path: Path) -> None:
    failure = BudgetExceeded("max_tokens", 10, 12)

    async def failing(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
        raise failure

    ops = registry(append=failing)
    spec = spec_of(tmp_path, LINEAR, ops)
    ctx, log = context(spec)
    with pytest.raises(BudgetExceeded) as caught:
        await run_graph(spec, ops, ctx, {"question": "q"})
    assert caught.value is failure
    assert [e.data["node"] for e in log.of_type("node_started")] == ["first"]
    assert not log.of_type("node_finished")


async def test_an_op_missing_from_the_registry_fails_at_compile_time(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, LINEAR, registry(append=append))
    ctx, _ = context(spec)
    with pytest.raises(ConfigError, match="unknown op 'append'"):
        compile_graph(spec, registry(other=append), ctx)


async def test_an_update_that_is_not_plain_data_is_refused(tmp_path: Path) -> None:
    async def leaky(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
        return {"words": {"a", "b"}}

    ops = registry(append=leaky)
    spec = spec_of(tmp_path, LINEAR, ops)
    ctx, _ = context(spec)
    with pytest.raises(TypeError, match=r"node 'first'.*update\.words is a set"):
        await run_graph(spec, ops, ctx, {"question": "q"})


async def test_running_past_the_step_limit_is_a_clear_error(tmp_path: Path) -> None:
    ops = registry(append=append)
    spec = spec_of(tmp_path, LINEAR, ops)
    ctx, _ = context(spec)
    with pytest.raises(GraphRunError, match=r"'linear' ran 2 node steps without reaching END"):
        await run_graph(spec, ops, ctx, {"question": "q"}, max_steps=2)


async def test_ops_see_the_state_but_cannot_change_it_in_place(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def meddling(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
        seen.append(dict(state))
        state["question"] = "changed"
        return {"words": [node.params["word"]]}

    ops = registry(append=meddling)
    spec = spec_of(tmp_path, LINEAR, ops)
    ctx, _ = context(spec)
    final = await run_graph(spec, ops, ctx, {"question": "q"})
    assert final["question"] == "q"
    assert seen[1]["words"] == ["one"] and seen[1][VISITS_KEY] == {"first": 1}
