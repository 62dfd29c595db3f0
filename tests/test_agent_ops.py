"""The built-in ops in sequence: plan → research → synthesize over a tiny corpus, on Redis;
and draft → judge → revise."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from agents import register_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.ops import JobState, OpRegistry
from orchestrator.store.redis_store import RedisStore
from orchestrator.testing import ScriptedModel
from tests.support import graph_with, make_context
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document

QUESTION = "How does Python reclaim memory held by reference cycles?"
CORPUS = Corpus(
    [
        Document(
            "gc-module",
            "The gc module",
            "The cyclic garbage collector detects reference cycles and frees them.",
        ),
        Document("with-stmt", "The with statement", "A with statement calls __exit__."),
        Document("refcount", "Reference counting", "Objects are freed when refcounts hit zero."),
    ]
)


def allowed_ids(schema: dict[str, Any], model: str) -> list[str]:
    items = schema["$defs"][model]["properties"]["source_ids"]["items"]
    return list(items.get("enum") or ([items["const"]] if "const" in items else []))


def research_script(request: GenerateRequest, _: int) -> str:
    """A model that plans two sub-questions, searches once, then cites what it found."""
    schema = request.json_schema
    assert schema is not None
    if schema["title"] == "ResearchPlan":
        subquestions = [
            {"id": "cycles", "question": "What collects reference cycles?"},
            {"id": "summary", "question": "How do they work together?", "depends_on": ["cycles"]},
        ]
        limit = schema["properties"]["subquestions"]["maxItems"]
        return json.dumps({"subquestions": subquestions[:limit]})
    if schema["title"] == "ResearchStep":
        seen = allowed_ids(schema, "Finding")
        if not seen:
            calls = [{"tool": "search", "query": "garbage collector reference cycles"}]
            return json.dumps(
                {"thought": "search", "tool_calls": calls, "findings": [], "done": False}
            )
        finding = {"claim": "The cyclic garbage collector frees cycles.", "source_ids": seen[:1]}
        return json.dumps({"thought": "ok", "tool_calls": [], "findings": [finding], "done": True})
    assert schema["title"] == "ResearchReport"
    cite = allowed_ids(schema, "Paragraph")[:1]
    paragraph = {"text": "A cycle collector reclaims them.", "source_ids": cite}
    return json.dumps(
        {
            "title": "Reclaiming cycles",
            "sections": [{"heading": "Answer", "paragraphs": [paragraph]}],
        }
    )


@pytest.fixture
def ops() -> OpRegistry:
    registry = OpRegistry()
    register_ops(registry)
    return registry


async def run_nodes(
    ops: OpRegistry, ctx: RunContext, state: JobState, *nodes: NodeSpec
) -> JobState:
    for node in nodes:
        state = {**state, **await ops.get(node.op)(ctx, node, state)}
    return state


@pytest.mark.redis
async def test_plan_research_synthesize_writes_a_cited_report(
    ops: OpRegistry, redis_client: aioredis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_client, namespace)
    model = ScriptedModel(research_script)
    ctx, log = make_context(model, store=store, tools=corpus_tools(CORPUS))
    ctx.question = QUESTION
    state = await run_nodes(
        ops,
        ctx,
        {"question": QUESTION},
        NodeSpec(op="plan", params={"max_subquestions": 3}),
        NodeSpec(op="research"),
        NodeSpec(op="synthesize"),
    )
    assert [t["id"] for t in state["plan"]["tasks"]] == ["cycles", "summary"]
    assert state["stopped_by"] is None
    assert {r["status"] for r in state["results"].values()} == {"done"}
    report = state["report"]
    assert report.startswith("# Reclaiming cycles\n")
    assert "A cycle collector reclaims them. [1]" in report
    assert "## Sources\n\n- [1] gc-module — The gc module\n" in report
    # Results and the plan are in Redis; the run's events were emitted.
    stored = await store.list_results(ctx.job_id)
    assert {r.task_id for r in stored.values()} == {"cycles", "summary"}
    assert await store.get_artifact(ctx.job_id, "plan") is not None
    assert log.of_type("plan_ready")[0].data["tasks"] == 2
    assert len(log.of_type("task_finished")) == 2
    assert ctx.budget.usage.total_tokens > 0

    # Resumed: the stored plan and results are reused, with no model call.
    calls = len(model.calls)
    resumed_ctx, resumed_log = make_context(model, store=store, tools=corpus_tools(CORPUS))
    resumed = await run_nodes(
        ops, resumed_ctx, {"question": QUESTION}, NodeSpec(op="plan"), NodeSpec(op="research")
    )
    assert len(model.calls) == calls
    assert resumed_log.of_type("plan_ready")[0].data["reused"] is True
    assert resumed["results"] == state["results"]


async def test_research_stops_early_and_the_report_says_so(ops: OpRegistry) -> None:
    model = ScriptedModel(research_script)
    ctx, log = make_context(
        model, budgets=Budgets(max_tasks=1, concurrency=1), tools=corpus_tools(CORPUS)
    )
    state = await run_nodes(
        ops,
        ctx,
        {"question": QUESTION},
        NodeSpec(op="plan", params={"max_subquestions": 2}),
    )
    # The plan is cut to the task budget: a plan of one sub-question was asked for.
    schema = model.calls[0].json_schema
    assert schema is not None and schema["properties"]["subquestions"]["maxItems"] == 1
    state["plan"]["tasks"].append(
        {"id": "more", "description": "More?", "params": {"question": "More?"}}
    )
    state = await run_nodes(ops, ctx, state, NodeSpec(op="research"), NodeSpec(op="synthesize"))
    assert state["stopped_by"] == "max_tasks"
    assert (
        "> The job stopped early: its 'max_tasks' budget was reached with 1 of 2" in state["report"]
    )
    assert "[1]" in state["report"]
    assert log.of_type("budget_reached")


async def test_draft_judge_revise(ops: OpRegistry) -> None:
    def script(request: GenerateRequest, _: int) -> str:
        if request.json_schema is not None:
            assert request.temperature == 0.0
            return json.dumps({"feedback": "Mention the gc module.", "accepted": False})
        if "feedback" in request.messages[-1].content:
            assert "Mention the gc module." in request.messages[-1].content
            return "Cycles are freed by the gc module."
        return "Cycles are freed."

    ctx, _ = make_context(ScriptedModel(script))
    state = await run_nodes(
        ops,
        ctx,
        {"question": QUESTION},
        NodeSpec(op="draft"),
        NodeSpec(op="judge"),
        NodeSpec(op="revise"),
    )
    assert state["verdict"] == {"accepted": False, "feedback": "Mention the gc module."}
    assert state["draft"] == "Cycles are freed by the gc module."
    assert state["report"] == f"# {QUESTION}\n\nCycles are freed by the gc module.\n"
    assert state["revisions"] == 1


async def test_agent_settings_override_the_judges_default_temperature(ops: OpRegistry) -> None:
    model = ScriptedModel(lambda r, _: json.dumps({"feedback": "", "accepted": True}))
    graph = graph_with(agents={"critic": AgentSpec(temperature=0.5, system="Be fair.")})
    ctx, _ = make_context(model, graph=graph)
    state = await run_nodes(
        ops, ctx, {"question": QUESTION, "draft": "x"}, NodeSpec(op="judge", agent="critic")
    )
    assert state["verdict"]["accepted"] is True
    assert model.calls[0].temperature == 0.5
    assert model.calls[0].messages[0].content == "Be fair."


@pytest.mark.parametrize(
    ("node", "match"),
    [
        (NodeSpec(op="plan", params={"max_subquestions": 0}), r"max_subquestions = 0.*<= 20"),
        (NodeSpec(op="plan", params={"max_subqs": 3}), r"unknown param 'max_subqs'"),
        (NodeSpec(op="synthesize", params={"max_sections": 99}), r"max_sections.*<= 8"),
        (NodeSpec(op="research"), r"state\['plan'\].*put a 'plan' node before it"),
        (NodeSpec(op="synthesize"), r"put a 'research' node before it"),
        (NodeSpec(op="judge"), r"state\['draft'\].*put a 'draft' node before it"),
    ],
)
async def test_bad_params_and_missing_state_are_config_errors(
    ops: OpRegistry, node: NodeSpec, match: str
) -> None:
    ctx, _ = make_context(ScriptedModel([]), tools=corpus_tools(CORPUS))
    with pytest.raises(ConfigError, match=match):
        await ops.get(node.op)(ctx, node, {"question": QUESTION})


def test_register_builtin_ops_names_every_op() -> None:
    registry = OpRegistry()
    register_ops(registry)
    names = set(registry.names())
    assert {"plan", "research", "synthesize", "draft", "judge", "revise"} <= names
    assert registry.doc("plan")


@pytest.mark.redis
async def test_research_tasks_can_be_answered_by_a_strategy(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    registry = OpRegistry()
    register_ops(registry)  # with the strategy ops: answer_with names one

    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is not None:
            return research_script(request, index)
        # The vote's samples: two agree, one does not.
        assert "Answer the question in two or three sentences" in request.messages[-1].content
        return "Cycles are found by the collector." if index == 1 else "The collector frees them."

    ctx, _ = make_context(
        ScriptedModel(script), store=RedisStore(redis_client, namespace), tools=corpus_tools(CORPUS)
    )
    ctx.question = QUESTION
    answer_with = {"op": "vote", "params": {"n": 3, "extract": "last_line"}}
    state = await run_nodes(
        registry,
        ctx,
        {"question": QUESTION},
        NodeSpec(op="plan", params={"max_subquestions": 1}),
        NodeSpec(op="research", params={"answer_with": answer_with}),
    )
    (result,) = state["results"].values()
    first = result["output"]["findings"][0]
    assert first["claim"] == "the collector frees them"
    assert first["source_ids"] == ["gc-module"]
    assert result["output"]["answered_with"] == {"op": "vote", "samples": 3}
