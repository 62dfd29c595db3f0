"""The researcher subagent: concurrent tool calls, errors fed back, bounded steps, real sources."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from agents.researcher import Notebook, research, step_model
from orchestrator.budget import Budgets
from orchestrator.errors import BudgetExceeded, ConfigError, ToolError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.plan import TaskResult, TaskSpec
from orchestrator.testing import ScriptedModel
from tests.support import make_context
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.registry import ToolRegistry, tool

TASK = TaskSpec(id="refs", params={"question": "How are cycles found?"})

CORPUS = Corpus(
    [
        Document("gc", "Garbage collection", "The cyclic garbage collector finds cycles."),
        Document("with", "The with statement", "A with statement calls __exit__."),
    ]
)


def step(
    calls: list[dict[str, Any]] | None = None,
    findings: list[dict[str, Any]] | None = None,
    done: bool = False,
) -> str:
    return json.dumps(
        {"thought": "next", "tool_calls": calls or [], "findings": findings or [], "done": done}
    )


def steps(*texts: str) -> Callable[[GenerateRequest, int], str]:
    queue = list(texts)

    def script(request: GenerateRequest, _: int) -> str:
        assert request.json_schema is not None and request.json_schema["title"] == "ResearchStep"
        return queue.pop(0)

    return script


def waiting_tools() -> ToolRegistry:
    """search and read that each wait for the other to start: they only finish concurrently."""
    searching, reading = asyncio.Event(), asyncio.Event()

    async def meet(mine: asyncio.Event, other: asyncio.Event, name: str) -> None:
        mine.set()
        try:
            await asyncio.wait_for(other.wait(), timeout=10)
        except TimeoutError:
            raise ToolError(f"{name} ran alone: the calls were not concurrent") from None

    @tool
    async def search(query: str) -> str:
        await meet(searching, reading, "search")
        return f"[gc] Garbage collection — about {query}\n[with] The with statement — other"

    @tool
    async def read(doc_id: str, offset: int = 0) -> str:
        await meet(reading, searching, "read")
        return f"[{doc_id}] Garbage collection (characters 0-40 of 40)\n\nCycles are found."

    return ToolRegistry([search, read])


async def test_tool_calls_of_one_turn_run_concurrently() -> None:
    model = ScriptedModel(
        steps(
            step([{"tool": "search", "query": "cycles"}, {"tool": "read", "doc_id": "gc"}]),
            step(
                findings=[{"claim": "The collector finds cycles.", "source_ids": ["gc"]}], done=True
            ),
        )
    )
    ctx, log = make_context(model, tools=waiting_tools())
    result = await research(ctx, AgentSpec(), TASK, {}, first_search=False)
    assert result.status == "done"
    second = model.calls[1].messages[-1].content
    assert "ran alone" not in second and "Cycles are found." in second
    assert result.output["findings"] == [
        {"claim": "The collector finds cycles.", "source_ids": ["gc"]}
    ]
    assert result.sources == ["gc"]
    assert result.output["titles"] == {"gc": "Garbage collection"}
    assert result.text == "- The collector finds cycles. [gc]"
    # Every call's tokens are recorded under the task.
    tokens = log.of_type("tokens")
    assert len(tokens) == 2 and {e.task_id for e in tokens} == {"refs"}
    assert result.usage == ctx.budget.usage


async def test_tool_errors_are_fed_back_to_the_model() -> None:
    model = ScriptedModel(
        steps(
            step([{"tool": "read", "doc_id": "missing"}]),
            step([{"tool": "search", "query": "garbage cycles"}]),
            step(findings=[{"claim": "Cycles are collected.", "source_ids": ["gc"]}], done=True),
        )
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(), TASK, {}, first_search=False)
    fed_back = model.calls[1].messages[-1].content
    assert "read(doc_id='missing', offset=0):\nerror:" in fed_back
    assert "no document with id 'missing'" in fed_back
    assert result.sources == ["gc"]


async def test_steps_are_bounded_and_the_last_one_allows_no_tool_calls() -> None:
    search_again = step([{"tool": "search", "query": "garbage"}])

    def script(request: GenerateRequest, _: int) -> str:
        assert request.json_schema is not None
        if request.json_schema["properties"]["tool_calls"]["maxItems"] == 0:
            return step(
                findings=[{"claim": "The cyclic collector finds cycles.", "source_ids": ["gc"]}]
            )
        return search_again

    model = ScriptedModel(script)
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(max_steps=3), TASK, {})
    assert len(model.calls) == 3
    assert "last step" in model.calls[-1].messages[-1].content
    assert result.output["steps"] == 3
    assert result.output["findings"] == [
        {"claim": "The cyclic collector finds cycles.", "source_ids": ["gc"]}
    ]


async def test_only_ids_seen_in_tool_results_can_be_cited() -> None:
    invented = step(
        findings=[{"claim": "Made up from nowhere.", "source_ids": ["nowhere"]}], done=True
    )
    model = ScriptedModel(
        steps(
            step([{"tool": "search", "query": "cyclic garbage collector"}]),
            invented,
            step(
                findings=[{"claim": "The garbage collector finds cycles.", "source_ids": ["gc"]}],
                done=True,
            ),
        )
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(), TASK, {}, first_search=False)
    schema = model.calls[1].json_schema
    assert schema is not None
    items = schema["$defs"]["Finding"]["properties"]["source_ids"]["items"]
    assert items.get("enum", [items.get("const")]) == ["gc"]
    # The invented id does not follow the schema: the model is told and tries again.
    assert "nowhere" in model.calls[2].messages[-2].content
    assert result.sources == ["gc"]


def test_the_notebook_drops_unseen_ids_and_repeated_claims() -> None:
    notebook = Notebook(titles={"gc": "Garbage collection"})
    notebook.add_findings([{"claim": "A  claim.", "source_ids": ["gc", "made-up", "gc"]}])
    notebook.add_findings([{"claim": "a claim.", "source_ids": []}])
    assert notebook.findings == [{"claim": "A claim.", "source_ids": ["gc"]}]


def test_first_step_schema_cites_nothing_before_any_tool_result() -> None:
    schema = step_model(["search", "read"], []).model_json_schema()
    assert schema["$defs"]["Finding"]["properties"]["source_ids"]["maxItems"] == 0
    assert schema["properties"]["tool_calls"]["maxItems"] == 3


async def test_the_sub_question_is_searched_before_the_first_step() -> None:
    model = ScriptedModel(
        steps(step(findings=[{"claim": "The collector finds cycles.", "source_ids": ["gc"]}]))
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(), TASK, {})
    first = model.calls[0]
    assert "Search results for the sub-question:\n[gc] Garbage collection — " in (
        first.messages[1].content
    )
    assert first.json_schema is not None
    items = first.json_schema["$defs"]["Finding"]["properties"]["source_ids"]["items"]
    assert items.get("enum", [items.get("const")]) == ["gc"]
    # No tool call in the reply: the researcher stops after one step.
    assert len(model.calls) == 1 and result.sources == ["gc"]


async def test_dependency_findings_are_context_and_citable() -> None:
    dep = TaskResult(
        task_id="basics",
        status="done",
        output={
            "findings": [{"claim": "Refcounts free most objects.", "source_ids": ["gc"]}],
            "titles": {"gc": "Garbage collection"},
        },
        sources=["gc"],
    )
    model = ScriptedModel(
        steps(
            step(
                findings=[
                    {"claim": "Cyclic garbage is found by the collector.", "source_ids": ["gc"]}
                ],
                done=True,
            )
        )
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(), TASK, {"basics": dep})
    assert "(basics) Refcounts free most objects. [gc]" in model.calls[0].messages[1].content
    assert result.sources == ["gc"] and result.output["titles"] == {"gc": "Garbage collection"}


async def test_a_spent_budget_before_any_finding_raises() -> None:
    model = ScriptedModel(steps())
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=1), tools=corpus_tools(CORPUS))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"prompt_tokens": 5})
    with pytest.raises(BudgetExceeded):
        await research(ctx, AgentSpec(), TASK, {})
    assert model.calls == []


async def test_tools_the_job_lacks_are_a_config_error() -> None:
    ctx, _ = make_context(ScriptedModel(steps()), tools=corpus_tools(CORPUS))
    with pytest.raises(ConfigError, match=r"\['python'\] are not available.*search, read"):
        await research(ctx, AgentSpec(tools=["search", "python"]), TASK, {})


async def test_a_model_that_stops_without_findings_is_asked_for_them_once_more() -> None:
    model = ScriptedModel(
        steps(
            step(done=True),
            step(findings=[{"claim": "The collector finds cycles.", "source_ids": ["gc"]}]),
        )
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(max_steps=4), TASK, {})
    assert len(model.calls) == 2
    schema = model.calls[1].json_schema
    assert schema is not None
    assert schema["properties"]["findings"]["minItems"] == 1
    assert schema["properties"]["tool_calls"]["maxItems"] == 0
    assert "last step" in model.calls[1].messages[-1].content
    assert result.sources == ["gc"] and result.output["steps"] == 2


async def test_a_budget_spent_mid_loop_keeps_the_findings_so_far() -> None:
    first = step(
        [{"tool": "search", "query": "garbage"}],
        findings=[{"claim": "The collector finds cycles.", "source_ids": ["gc"]}],
    )
    model = ScriptedModel(steps(first))
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=10), tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(max_steps=4), TASK, {})
    # The first call spends the budget: no second call, the finding is kept.
    assert len(model.calls) == 1
    assert result.output["stopped_by"] == "max_tokens"
    assert result.output["findings"][0]["source_ids"] == ["gc"]


async def test_a_claim_cites_the_seen_document_that_holds_its_words() -> None:
    # The model cites "with" for a claim about the garbage collector: the citation moves to
    # the document the first search showed that holds the claim's words.
    model = ScriptedModel(
        steps(
            step(
                findings=[
                    {"claim": "The cyclic garbage collector finds cycles.", "source_ids": ["with"]},
                    {"claim": "Lists are sorted with timsort.", "source_ids": ["gc"]},
                ],
                done=True,
            )
        )
    )
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    task = TaskSpec(id="t", params={"question": "What do the garbage collector and with do?"})
    result = await research(ctx, AgentSpec(), task, {})
    assert result.output["findings"] == [
        {"claim": "The cyclic garbage collector finds cycles.", "source_ids": ["gc"]},
    ]
    assert result.output["extracted"] is False


async def test_without_a_supported_finding_the_seen_documents_are_quoted() -> None:
    garbage = step(
        findings=[{"claim": "Zq 1f833b442f2c172f2f7f8c5d46d1328d62c13b4645", "source_ids": ["gc"]}],
        done=True,
    )
    model = ScriptedModel(steps(garbage, garbage))
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(max_steps=2), TASK, {})
    assert result.output["extracted"] is True
    assert result.output["findings"] == [
        {"claim": "The cyclic garbage collector finds cycles.", "source_ids": ["gc"]}
    ]
    assert result.sources == ["gc"]


async def test_a_sub_question_naming_nothing_quotes_by_the_job_question() -> None:
    garbage = step(
        calls=[{"tool": "search", "args": {"query": "cyclic garbage collector"}}],
        findings=[{"claim": "Zq 1f833b442f2c172f2f7f8c5d46d1328d62c13b4645", "source_ids": ["gc"]}],
        done=True,
    )
    model = ScriptedModel(steps(garbage, garbage))
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    ctx.question = "How are cycles found?"
    vague = TaskSpec(id="vague", params={"question": "What about alpha 32?"})
    result = await research(ctx, AgentSpec(max_steps=2), vague, {})
    assert result.output["extracted"] is True
    assert result.output["findings"] == [
        {"claim": "The cyclic garbage collector finds cycles.", "source_ids": ["gc"]}
    ]


async def test_a_model_that_never_replies_in_format_still_yields_the_quoted_documents() -> None:
    model = ScriptedModel(steps("not json", "not json", "not json", "not json"))
    ctx, _ = make_context(model, tools=corpus_tools(CORPUS))
    result = await research(ctx, AgentSpec(max_steps=2), TASK, {})
    assert result.output["extracted"] is True and result.sources == ["gc"]
