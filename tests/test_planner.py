"""The lead planner: structured plans, validation fed back to the model, bounded retries."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest

from agents.planner import plan_research, slug
from orchestrator.errors import PlanError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.testing import ScriptedModel
from tests.support import make_context

QUESTION = "How does Python free memory?"


def plan_json(*subs: tuple[str, str, Sequence[str]]) -> str:
    items = [{"id": i, "question": q, "depends_on": list(d)} for i, q, d in subs]
    return json.dumps({"subquestions": items})


GOOD = plan_json(
    (" Refcount ", "How does reference counting work?", []),
    ("GC cycles", "How are reference cycles collected?", ["refcount", "Refcount"]),
)
CYCLIC = plan_json(
    ("a", "First part of the question?", ["b"]),
    ("b", "Second part of the question?", ["a"]),
)


def replies(*texts: str) -> Callable[[GenerateRequest, int], str]:
    """A script that answers in order and checks that each request asks for a plan."""
    queue = list(texts)

    def script(request: GenerateRequest, _: int) -> str:
        assert request.json_schema is not None
        assert request.json_schema["title"] == "ResearchPlan"
        return queue.pop(0)

    return script


async def test_a_valid_plan_becomes_research_tasks() -> None:
    model = ScriptedModel(replies(GOOD))
    ctx, log = make_context(model)
    plan, usage = await plan_research(ctx, AgentSpec(), QUESTION, max_subquestions=3)
    assert [t.id for t in plan.tasks] == ["refcount", "gc-cycles"]
    assert plan.tasks[1].depends_on == ("refcount",)
    assert {t.kind for t in plan.tasks} == {"research"}
    assert plan.tasks[0].params == {"question": "How does reference counting work?"}
    assert usage.total_tokens > 0
    assert ctx.budget.usage == usage
    assert len(log.of_type("tokens")) == 1
    schema = model.calls[0].json_schema
    assert schema is not None and schema["properties"]["subquestions"]["maxItems"] == 3
    assert QUESTION in model.calls[0].messages[-1].content


async def test_a_cyclic_plan_is_fed_back_with_the_cycle_and_fixed() -> None:
    model = ScriptedModel(replies(CYCLIC, GOOD))
    ctx, _ = make_context(model)
    plan, _ = await plan_research(ctx, AgentSpec(), QUESTION, max_subquestions=4)
    assert [t.id for t in plan.tasks] == ["refcount", "gc-cycles"]
    retry = model.calls[1].messages
    assert retry[-2].role == "assistant" and '"depends_on":["b"]' in retry[-2].content
    assert "cycle a → b → a" in retry[-1].content
    assert len(model.calls) == 2
    assert ctx.budget.usage.total_tokens > 0


async def test_garbage_output_is_fed_back_and_then_fixed() -> None:
    model = ScriptedModel(replies("sure! here is a plan: step one...", GOOD))
    ctx, _ = make_context(model)
    plan, usage = await plan_research(ctx, AgentSpec(), QUESTION, max_subquestions=4)
    assert len(plan.tasks) == 2
    retry = model.calls[1].messages
    assert retry[-2].content.startswith("sure! here is a plan")
    assert "not JSON" in retry[-1].content
    # The failed attempt's tokens count too.
    assert usage == ctx.budget.usage
    assert usage.completion_tokens > len(GOOD) // 4


async def test_an_always_invalid_plan_raises_plan_error_with_the_last_output() -> None:
    unknown = plan_json(("x", "Part one of it?", ["nowhere"]))
    model = ScriptedModel(replies(CYCLIC, "{broken", unknown))
    ctx, _ = make_context(model)
    with pytest.raises(PlanError) as raised:
        await plan_research(ctx, AgentSpec(), QUESTION, max_subquestions=4, attempts=3)
    error = raised.value
    assert len(model.calls) == 3
    assert "nowhere" in error.last_output and "nowhere" in str(error)
    # The last attempt asked for independent sub-questions: depends_on is not allowed.
    assert any("depends_on: Extra inputs are not permitted" in p for p in error.problems)


async def test_a_single_attempt_reports_the_plans_problems() -> None:
    model = ScriptedModel(replies(CYCLIC))
    ctx, _ = make_context(model)
    with pytest.raises(PlanError, match="cycle a → b → a") as raised:
        await plan_research(ctx, AgentSpec(), QUESTION, max_subquestions=4, attempts=1)
    assert raised.value.last_output == json.dumps(json.loads(CYCLIC), separators=(",", ":"))


async def test_retries_run_hotter_and_the_last_asks_for_independent_subquestions() -> None:
    flat = json.dumps(
        {
            "subquestions": [
                {"id": "part", "question": "First part of the question?"},
                {"id": "Part", "question": "Second part of the question?"},
            ]
        }
    )
    model = ScriptedModel(replies(CYCLIC, CYCLIC, flat))
    ctx, _ = make_context(model)
    agent = AgentSpec(temperature=0.2)
    plan, _ = await plan_research(ctx, agent, QUESTION, max_subquestions=4, attempts=3)
    assert [t.id for t in plan.tasks] == ["part", "part-2"]
    assert all(t.depends_on == () for t in plan.tasks)
    temperatures = [call.temperature for call in model.calls]
    assert temperatures == pytest.approx([0.2, 0.5, 0.8])
    first, last = model.calls[0].json_schema, model.calls[2].json_schema
    assert first is not None and "depends_on" in first["$defs"]["SubQuestion"]["properties"]
    assert last is not None and "SubQuestion" not in last["$defs"]
    assert "do not depend on each other" in model.calls[2].messages[-1].content
    assert "cycle a → b → a" in model.calls[2].messages[-1].content


async def test_the_agent_system_prompt_and_settings_are_used() -> None:
    model = ScriptedModel(replies(GOOD))
    ctx, _ = make_context(model)
    agent = AgentSpec(system="Plan tersely.", temperature=0.0, max_tokens=900)
    await plan_research(ctx, agent, QUESTION, max_subquestions=2)
    request = model.calls[0]
    assert request.messages[0].content == "Plan tersely."
    assert request.temperature == 0.0 and request.max_tokens == 900


def test_slug_normalizes_ids() -> None:
    assert slug("  Step 1: Background!  ") == "step-1-background"
    assert slug("***") == ""
    assert len(slug("x" * 100)) == 64
