"""The ``tumix`` operator (Tool-Use Mixture) on a scripted model with real tools."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.registry import ToolRegistry, tool

TUMIX = STRATEGIES["tumix"]
QUESTION = "In which year was the Eiffel Tower finished? End with the year."
MESSAGES = [ChatMessage(role="user", content=QUESTION)]
CORPUS = Corpus([Document("eiffel", "Eiffel Tower", "The Eiffel Tower was finished in 1889.")])
AGENTS = {
    "thinker": AgentSpec(),
    "searcher": AgentSpec(tools=["search", "read"], max_steps=3),
    "checker": AgentSpec(tools=["lookup"], max_steps=2),
    "judge": AgentSpec(),
}


def toolbox(*extra: Any) -> ToolRegistry:
    corpus = corpus_tools(CORPUS)
    return ToolRegistry([corpus.get("search"), corpus.get("read"), *extra])


@tool
def lookup(item: str) -> str:
    """Look an item up in the almanac.

    Args:
        item: what to look up.
    """
    return f"almanac: {item} -> 1889"


def is_tool_step(request: GenerateRequest) -> bool:
    return "calls" in (request.json_schema or {}).get("properties", {})


def is_judge(request: GenerateRequest) -> bool:
    return "stop" in (request.json_schema or {}).get("properties", {})


class Script:
    """The text agent says ``text``; a tool agent calls its first tool, then answers from
    the results; the judge says ``stop``. Records every prompt."""

    def __init__(self, text: str = "1887", stop: bool = True) -> None:
        self.text = text
        self.stop = stop
        self.prompts: list[str] = []

    def __call__(self, request: GenerateRequest, index: int) -> str:
        prompt = "\n".join(m.content for m in request.messages)
        self.prompts.append(prompt)
        if is_judge(request):
            return json.dumps({"stop": self.stop, "reason": "checked"})
        if is_tool_step(request):
            calls_spec = request.json_schema["properties"]["calls"]  # type: ignore[index]
            if "Tool results:" in prompt or calls_spec["maxItems"] == 0:
                found = "1889" if "1889" in prompt else "unknown"
                return json.dumps({"thought": "read it", "calls": [], "answer": found})
            first = calls_spec["items"]["anyOf"][0]["properties"]
            name = first["tool"]["enum"][0]
            arg = next(iter(first["args"]["properties"]))
            call = {"tool": name, "args": {arg: "Eiffel Tower"}}
            return json.dumps({"thought": "look it up", "calls": [call], "answer": ""})
        return self.text


async def run(
    ctx: RunContext, branches: Branches | None = None, **raw: Any
) -> tuple[StrategyOutcome, Branches]:
    branches = branches or Branches(ctx, AgentSpec())
    params = parse_params(TUMIX, {"extract": "last_number", **raw}, where="test")
    return await TUMIX.run(branches, params, MESSAGES), branches


def context(model: Any, tools: ToolRegistry | None = None, **budgets: Any) -> RunContext:
    ctx, _ = make_context(
        model,
        graph=graph_with(AGENTS),
        tools=tools if tools is not None else toolbox(lookup),
        budgets=Budgets(**budgets) if budgets else None,
    )
    return ctx


async def test_text_and_tool_agents_answer_share_answers_and_the_judge_stops() -> None:
    script = Script(text="1887")
    model = ScriptedModel(script)
    ctx = context(model)
    outcome, branches = await run(
        ctx, agents=["thinker", "searcher", "checker"], rounds=3, min_rounds=2, judge="judge"
    )
    details = outcome.details
    assert details["with_tools"] == [False, True, True]
    assert details["rounds"][0]["answers"] == ["1887", "1889", "1889"]
    assert details["rounds_run"] == 2 and details["stopped_because"] == "judge"
    assert details["rounds"][1]["judge_stop"] is True
    assert outcome.answer == "1889" and details["counts"] == {"1889": 2, "1887": 1}
    assert details["tool_calls"] == 4  # two tool agents, one call each, two rounds
    # The search tool's real result came back to the tool agent.
    assert any("[eiffel] Eiffel Tower" in p for p in script.prompts)
    assert any("almanac: Eiffel Tower -> 1889" in p for p in script.prompts)
    # From round 2 every agent sees every agent's previous answer.
    round_two = [p for p in script.prompts if "Other agents" in p]
    assert round_two and all("Response 3:" in p for p in round_two)
    assert branches.usage.total_tokens == ctx.budget.usage.total_tokens > 0


async def test_agreement_ends_the_rounds_without_asking_the_judge() -> None:
    model = ScriptedModel(Script(text="1889"))
    ctx = context(model)
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=4, min_rounds=1)
    assert outcome.details["stopped_because"] == "agreement"
    assert outcome.details["rounds_run"] == 1
    assert not any(is_judge(r) for r in model.calls)


async def test_without_early_stop_every_round_runs() -> None:
    model = ScriptedModel(Script(text="1887"))
    ctx = context(model)
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=3, early_stop=False)
    assert outcome.details["rounds_run"] == 3 and outcome.details["stopped_because"] == "rounds"
    assert not any(is_judge(r) for r in model.calls)


async def test_the_judge_saying_go_on_keeps_refining() -> None:
    model = ScriptedModel(Script(text="1887", stop=False))
    ctx = context(model)
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=3, min_rounds=1)
    assert outcome.details["rounds_run"] == 3
    assert [r.get("judge_stop") for r in outcome.details["rounds"]] == [False, False, None]


async def test_the_agents_of_a_round_run_concurrently() -> None:
    rendezvous = Rendezvous(3)
    gate = Gated(
        ScriptedModel(Script()),
        rendezvous,
        lambda r: rendezvous.groups == 0 and "Tool results:" not in str(r.messages),
    )
    ctx = context(gate)
    await asyncio.wait_for(
        run(ctx, agents=["thinker", "searcher", "checker"], rounds=1), timeout=30
    )
    assert rendezvous.groups == 1


async def test_the_tool_calls_of_a_step_run_concurrently_and_any_tool_works() -> None:
    rendezvous = Rendezvous(2)

    @tool
    async def almanac(item: str) -> str:
        """Look an item up, slowly.

        Args:
            item: what to look up.
        """
        await rendezvous.arrive()
        return f"{item}: 1889"

    def reply(request: GenerateRequest, index: int) -> str:
        if is_tool_step(request) and "Tool results:" not in str(request.messages):
            calls = [{"tool": "almanac", "args": {"item": x}} for x in ("tower", "year")]
            return json.dumps({"thought": "two lookups", "calls": calls, "answer": ""})
        return Script(text="1889")(request, index)

    agents = {**AGENTS, "clerk": AgentSpec(tools=["almanac"])}
    ctx, _ = make_context(
        ScriptedModel(reply), graph=graph_with(agents), tools=ToolRegistry([almanac])
    )
    outcome, _ = await asyncio.wait_for(
        run(ctx, agents=["thinker", "clerk"], rounds=1, max_calls=2), timeout=30
    )
    assert rendezvous.groups == 1
    assert outcome.details["tool_calls"] == 2 and outcome.answer == "1889"


async def test_a_failing_tool_call_goes_back_to_the_agent_as_an_error() -> None:
    script = Script()

    def reply(request: GenerateRequest, index: int) -> str:
        if is_tool_step(request) and "Tool results:" not in str(request.messages):
            call = {"tool": "read", "args": {"doc_id": "no-such-doc"}}
            return json.dumps({"thought": "read", "calls": [call], "answer": ""})
        return script(request, index)

    ctx = context(ScriptedModel(reply))
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=1)
    assert any("error: tool 'read' failed: no document" in p for p in script.prompts)
    assert outcome.details["rounds"][0]["answers"][1] is None  # "unknown" has no number


async def test_the_last_step_must_answer_and_an_unreadable_step_is_the_answer() -> None:
    def looping(request: GenerateRequest, index: int) -> str:
        if is_tool_step(request):
            spec = request.json_schema["properties"]["calls"]  # type: ignore[index]
            if spec["maxItems"] == 0:
                return "plain text: 1889"
            call = {"tool": "search", "args": {"query": "Eiffel"}}
            return json.dumps({"thought": "again", "calls": [call], "answer": ""})
        return "1889"

    model = ScriptedModel(looping)
    ctx = context(model)
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=1)
    steps = [r for r in model.calls if is_tool_step(r)]
    assert len(steps) == AGENTS["searcher"].max_steps
    assert outcome.candidates[1] == "plain text: 1889"
    assert outcome.details["tool_calls"] == 2


async def test_without_agents_the_node_agent_runs_without_and_with_the_jobs_tools() -> None:
    script = Script(text="1887", stop=True)
    ctx = context(ScriptedModel(script), tools=toolbox())
    outcome, _ = await run(ctx, rounds=1)
    assert outcome.details["agents"] == ["text", "tools"]
    assert outcome.details["with_tools"] == [False, True]
    ctx = context(ScriptedModel(script), tools=ToolRegistry())
    outcome, _ = await run(ctx, rounds=1, copies=2)
    assert outcome.details["with_tools"] == [False, False, False, False]


async def test_an_agent_listing_a_missing_tool_is_a_config_error() -> None:
    ctx = context(ScriptedModel(Script()), tools=toolbox())
    with pytest.raises(ConfigError, match=r"'checker' lists tools \['lookup'\]"):
        await run(ctx, agents=["thinker", "checker"])
    with pytest.raises(ConfigError, match="not defined"):
        await run(ctx, agents=["thinker", "ghost"])


async def test_a_budget_stop_votes_over_the_latest_answers() -> None:
    script = Script(text="1887")

    def reply(request: GenerateRequest, index: int) -> str:
        text = script(request, index)
        return text + " " + "word " * 300 if "Other agents" in last_user(request) else text

    ctx = context(ScriptedModel(reply), max_tokens=2500)
    outcome, _ = await run(ctx, agents=["thinker", "searcher"], rounds=3, early_stop=False)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.details["stopped_because"] == "budget"
    assert outcome.answer in ("1887", "1889")


async def test_text_agents_compose_with_an_inner_strategy() -> None:
    model = ScriptedModel(Script(text="1889"))
    ctx = context(model)
    await run(
        ctx, agents=["thinker", "searcher"], rounds=1, inner={"op": "vote", "params": {"n": 3}}
    )
    assert [r.n for r in model.calls if not is_tool_step(r)] == [3]


def test_bad_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="min_rounds"):
        parse_params(TUMIX, {"rounds": 2, "min_rounds": 3}, where="test")
    with pytest.raises(ConfigError, match="only used with early_stop"):
        parse_params(TUMIX, {"early_stop": False, "judge": "j"}, where="test")
    with pytest.raises(ConfigError, match="agents"):
        parse_params(TUMIX, {"agents": ["only-one"]}, where="test")
    parse_params(TUMIX, {"rounds": 2, "min_rounds": 2}, where="test")
