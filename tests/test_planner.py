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


GC_QUESTION = "How does Python's garbage collector handle reference cycles?"
DEGENERATE = plan_json(
    ("q", f"{GC_QUESTION} 1. 1. 1. 2. 1. 3. 2?", []),
    ("q2", GC_QUESTION, []),
    ("refcount", "What is reference counting?", []),
)
WIDE = plan_json(
    ("refcount", "What is reference counting?", []),
    ("cycles", "What is a reference cycle?", []),
    ("gc-module", "How does the gc module find cyclic garbage?", []),
)


async def test_a_degenerate_plan_is_fed_back_and_retried() -> None:
    model = ScriptedModel(replies(DEGENERATE, WIDE))
    ctx, _ = make_context(model)
    plan, _ = await plan_research(
        ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, min_subquestions=3
    )
    assert [t.id for t in plan.tasks] == ["refcount", "cycles", "gc-module"]
    schema = model.calls[0].json_schema
    assert schema is not None and schema["properties"]["subquestions"]["minItems"] == 3
    feedback = model.calls[1].messages[-1].content
    assert "list numbers" in feedback and "repeats the question" in feedback
    assert "1 usable sub-question;" in feedback and "at least 3" in feedback


async def test_without_derive_a_plan_that_stays_degenerate_fails() -> None:
    model = ScriptedModel(replies(DEGENERATE))
    ctx, _ = make_context(model)
    with pytest.raises(PlanError, match="no valid plan in 1 attempt;") as raised:
        await plan_research(ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, attempts=1)
    assert any("list numbers" in problem for problem in raised.value.problems)


async def test_derive_keeps_the_models_usable_subquestions_and_says_what_it_made() -> None:
    two_good = plan_json(
        ("refcount", "What is reference counting?", []),
        ("copy", GC_QUESTION, []),
        ("cycles", "What is a reference cycle?", []),
    )
    # Too short for the schema (three sub-questions at least).
    flat_short = json.dumps(
        {"subquestions": [{"id": "x", "question": "What is reference counting?"}]}
    )
    model = ScriptedModel(replies(DEGENERATE, two_good, flat_short))
    ctx, log = make_context(model)
    plan, usage = await plan_research(
        ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, min_subquestions=3, derive=True
    )
    assert [t.description for t in plan.tasks] == [
        "What is reference counting?",
        "What is a reference cycle?",
        "What is meant by Python's garbage collector?",
    ]
    assert [t.id for t in plan.tasks] == ["q1", "q2", "derived3"]
    assert all(t.depends_on == () and t.params["question"] == t.description for t in plan.tasks)
    [note] = log.of_type("log")
    assert note.data["derived"] == ["derived3"]
    assert "2 usable sub-question(s)" in note.data["message"]
    assert usage == ctx.budget.usage and len(model.calls) == 3


async def test_derive_with_nothing_usable_plans_from_the_question_alone() -> None:
    copies = json.dumps(
        {"subquestions": [{"id": f"q{i}", "question": GC_QUESTION} for i in range(3)]}
    )
    model = ScriptedModel(replies("{broken", DEGENERATE.replace("refcount", "x")[:10], copies))
    ctx, log = make_context(model)
    plan, _ = await plan_research(
        ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, min_subquestions=3, derive=True
    )
    assert len(plan.tasks) == 3
    assert all(t.id.startswith("derived") for t in plan.tasks)
    assert log.of_type("log")[0].data["derived"] == [t.id for t in plan.tasks]


async def test_derive_does_not_hide_a_model_that_never_writes_json() -> None:
    model = ScriptedModel(replies("I am not JSON", "still not JSON"))
    ctx, log = make_context(model)
    with pytest.raises(PlanError, match="no valid plan in 2 attempts"):
        await plan_research(
            ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, attempts=2, derive=True
        )
    assert log.of_type("log") == []


async def test_derive_stops_asking_once_the_replies_hold_enough_usable_subquestions() -> None:
    two_more = plan_json(
        ("copy", GC_QUESTION, []),
        ("cycles", "What is a reference cycle?", []),
        ("gc-module", "How does the gc module find cyclic garbage?", []),
    )
    model = ScriptedModel(replies(DEGENERATE, two_more))
    ctx, log = make_context(model)
    plan, _ = await plan_research(
        ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, min_subquestions=3, derive=True
    )
    assert len(model.calls) == 2
    assert [t.description for t in plan.tasks] == [
        "What is reference counting?",
        "What is a reference cycle?",
        "How does the gc module find cyclic garbage?",
    ]
    assert log.of_type("log")[0].data["derived"] == []


async def test_derive_plans_for_a_model_whose_replies_are_all_cut_short() -> None:
    cut = '{"subquestions": [{"id": "1", "question": "list_tuple_2_2_2_2_2_2_2_2_2_2_2'
    model = ScriptedModel(replies(cut, cut, cut))
    ctx, log = make_context(model)
    plan, _ = await plan_research(
        ctx, AgentSpec(), GC_QUESTION, max_subquestions=3, min_subquestions=3, derive=True
    )
    assert len(plan.tasks) == 3 and len(log.of_type("log")[0].data["derived"]) == 3
