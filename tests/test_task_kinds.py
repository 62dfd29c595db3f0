"""Task handlers by kind: a planned DAG mixing research, tool and operator tasks.

The planner (on the scripted model) plans all three kinds; the research op hands the plan
to the scheduler, which runs each task by its kind's handler: a researcher subagent, one
tool call whose argument names an earlier result, and a vote from the op registry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.task_args import ReferenceError, resolve_references
from orchestrator.errors import PlanError
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.plan import TaskPlan, TaskSpec
from orchestrator.testing import ScriptedModel
from tests.support import make_context
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.registry import ToolRegistry, tool

CORPUS = Corpus(
    [
        Document("gc", "The gc module", "The cyclic garbage collector frees reference cycles."),
        Document("ints", "Integers", "Python integers have arbitrary precision."),
    ]
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number.
        b: the second number.
    """
    return a + b


@tool
def double(number: str) -> str:
    """Double a number given as text.

    Args:
        number: a whole number, e.g. "21".
    """
    return str(2 * int(number))


def toolbox() -> ToolRegistry:
    tools = corpus_tools(CORPUS)
    tools.register(add)
    tools.register(double)
    return tools


PLAN = [
    {"id": "facts", "question": "How big can Python integers get?", "kind": "research"},
    {
        "id": "sum",
        "question": "What is 2 plus 3?",
        "kind": "tool",
        "tool": "add",
        "arguments": {"a": 2, "b": 3},
    },
    {
        "id": "twice",
        "question": "What is twice the sum?",
        "kind": "tool",
        "tool": "double",
        "arguments": {"number": "$sum"},
        "depends_on": ["sum"],
    },
    {
        "id": "check",
        "question": "Is ten the right total?",
        "kind": "operator",
        "op": "vote",
        "depends_on": ["twice", "facts"],
    },
]


def script(request: GenerateRequest, index: int) -> str:
    schema = request.json_schema
    if schema is not None and schema.get("title") == "ResearchPlan":
        return json.dumps({"subquestions": PLAN})
    if schema is not None and schema.get("title") == "ResearchStep":
        finding = {"claim": "Python integers have arbitrary precision.", "source_ids": ["ints"]}
        return json.dumps({"thought": "ok", "tool_calls": [], "findings": [finding], "done": True})
    # The vote's samples, which see the dependencies' findings.
    assert "double(number='5') → 10" in request.messages[-1].content
    return "Yes: the answer is 10"


def graph() -> GraphSpec:
    return GraphSpec(
        name="kinds",
        agents={"lead": AgentSpec(), "researcher": AgentSpec(tools=["search", "read"])},
        nodes={"plan": NodeSpec(op="plan"), "research": NodeSpec(op="research")},
    )


async def test_a_planned_dag_of_research_tool_and_operator_tasks_runs_each_by_its_kind() -> None:
    model = ScriptedModel(script)
    ctx, log = make_context(model, graph=graph(), tools=toolbox())
    plan_node = NodeSpec(
        op="plan",
        agent="lead",
        params={
            "max_subquestions": 4,
            "tools": ["add", "double"],
            "operators": [{"op": "vote", "params": {"n": 3, "extract": "last_number"}}],
        },
    )
    state: dict[str, Any] = {"question": "How do Python numbers add up?"}
    state |= await ctx.ops.get("plan")(ctx, plan_node, state)
    planned = {t["id"]: t["kind"] for t in state["plan"]["tasks"]}
    assert planned == {"facts": "research", "sum": "tool", "twice": "tool", "check": "operator"}
    plan_schema = model.calls[0].json_schema
    assert plan_schema is not None
    item = plan_schema["$defs"]["SubQuestion"]["properties"]
    assert {"kind", "tool", "arguments", "op"} <= set(item)

    research_node = NodeSpec(op="research", agent="researcher")
    state |= await ctx.ops.get("research")(ctx, research_node, state)
    results = state["results"]
    assert {tid: r["status"] for tid, r in results.items()} == dict.fromkeys(planned, "done")
    assert results["sum"]["text"] == "5"
    assert results["twice"]["text"] == "10"
    assert results["twice"]["output"]["arguments"] == {"number": "5"}
    assert results["check"]["output"]["op"] == "vote"
    assert results["check"]["text"] == "10"
    assert results["facts"]["sources"] == ["ints"]
    kinds = {e.task_id: e.data["kind"] for e in log.of_type("task_started")}
    assert kinds == planned
    # Every model call of every task went through the job's budget.
    assert ctx.budget.usage.total_tokens == sum(
        r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in results.values()
    ) + sum(e.data["prompt_tokens"] + e.data["completion_tokens"] for e in plan_tokens(log))


def plan_tokens(log: Any) -> list[Any]:
    return [e for e in log.of_type("tokens") if e.task_id is None]


async def test_a_failing_tool_task_fails_with_the_tools_message_and_skips_its_dependents() -> None:
    ctx, _ = make_context(ScriptedModel([]), graph=graph(), tools=toolbox())
    plan = TaskPlan(
        tasks=[
            TaskSpec(id="bad", kind="tool", params={"tool": "add", "arguments": {"a": "x"}}),
            TaskSpec(
                id="after",
                kind="tool",
                depends_on=("bad",),
                params={"tool": "double", "arguments": {"number": "$bad"}},
            ),
        ]
    )
    outcome = await ctx.run_tasks(plan)
    assert outcome.results["bad"].status == "failed"
    error = outcome.results["bad"].error or ""
    assert "tool 'add' got bad arguments" in error and "'a'" in error
    assert outcome.results["after"].status == "skipped"


async def test_an_unknown_kind_is_rejected_with_the_known_ones() -> None:
    ctx, _ = make_context(ScriptedModel([]), graph=graph(), tools=toolbox())
    with pytest.raises(PlanError, match=r"unknown kind 'dance'.*operator, research, tool"):
        await ctx.run_tasks(TaskPlan(tasks=[TaskSpec(id="a", kind="dance")]))


def test_references_are_replaced_by_the_dependencies_results() -> None:
    texts = {"sum": "5", "name": "gc"}
    assert resolve_references({"n": "$sum", "m": "${sum}"}, texts) == {"n": "5", "m": "5"}
    assert resolve_references("read ${name} twice", texts) == "read gc twice"
    assert resolve_references(["$name", 3, {"k": "$sum"}], texts) == ["gc", 3, {"k": "5"}]
    assert resolve_references("costs $5", texts) == "costs $5"
    with pytest.raises(ReferenceError, match=r"\$other names no dependency.*\$sum, \$name"):
        resolve_references({"x": "$other"}, texts)
