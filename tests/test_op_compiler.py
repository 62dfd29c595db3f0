"""The ``compile`` operator: LLMCompiler plans streamed into a task fetching unit, a joiner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from agents.strategies.compiler_plan import plan_json_schema
from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.errors import BudgetExceeded, ConfigError, ModelOutputError, ToolError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest, StreamChunk
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from orchestrator.usage import TokenUsage
from tests.support import graph_with, make_context, within
from tools.registry import ToolRegistry, tool

COMPILE = STRATEGIES["compile"]
QUESTION = [ChatMessage(role="user", content="How do alpha and beta compare?")]

Piece = str | asyncio.Event


def verdict(action: str, answer: str, thought: str = "ok") -> str:
    return json.dumps({"thought": thought, "action": action, "answer": answer})


class PlanModel(ScriptedModel):
    """Streams plan i (pieces of text, each ``Event`` a gate to wait for) for the i-th plan
    request; answers joiner requests (those with a JSON schema) from ``joiner``."""

    def __init__(
        self, plans: Sequence[Sequence[Piece]], joiner: Callable[[GenerateRequest, int], str]
    ) -> None:
        super().__init__(joiner)
        self.plans = plans
        self.plan_requests: list[GenerateRequest] = []
        self.consumed: list[str] = []

    @property
    def joiner_requests(self) -> list[GenerateRequest]:
        return [r for r in self.calls if r.json_schema is not None]

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        self.plan_requests.append(request)
        for piece in self.plans[min(len(self.plan_requests), len(self.plans)) - 1]:
            if isinstance(piece, asyncio.Event):
                await within(piece.wait(), "the plan stream's next piece to be released")
            else:
                self.consumed.append(piece)
                yield StreamChunk(delta=piece)
        yield StreamChunk(usage=TokenUsage(prompt_tokens=50, completion_tokens=20))


def registry(log: list[str], **hooks: Any) -> ToolRegistry:
    """search/read tools that log their calls; ``hooks`` map a query/doc to an async hook."""

    @tool
    async def search(query: str) -> str:
        """Search the corpus."""
        log.append(f"search {query}")
        if query in hooks:
            await hooks[query]()
        return f"doc-{query}"

    @tool
    async def read(doc_id: str) -> str:
        """Read a document."""
        log.append(f"read {doc_id}")
        if doc_id == "missing":
            raise ToolError(f"no document {doc_id!r}")
        return f"text of {doc_id}"

    return ToolRegistry([search, read])


async def run(
    model: ScriptedModel, tools: ToolRegistry | None, budgets: Budgets | None = None, **raw: Any
) -> StrategyOutcome:
    ctx, _ = make_context(model, tools=tools, budgets=budgets)
    params = parse_params(COMPILE, raw, where="test")
    return await COMPILE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_a_call_starts_while_the_plan_is_still_streaming() -> None:
    search_started = asyncio.Event()

    async def mark() -> None:
        search_started.set()

    plan: list[Piece] = [
        "Thought: look both up.\n",
        '1. search(query="alpha")\n',
        # The stream goes on only once call 1 runs: it must start mid-plan.
        search_started,
        '2. search(query="beta")\n',
        "3. join()\n",
        "<END_OF_PLAN>\n",
        '4. search(query="never")\n',
    ]
    model = PlanModel([plan], lambda r, i: verdict("answer", "alpha beats beta"))
    log: list[str] = []
    outcome = await run(model, registry(log, alpha=mark))
    assert outcome.answer == "alpha beats beta"
    assert log == ["search alpha", "search beta"]
    # The stream was closed at join(): the line after it was never generated.
    assert '4. search(query="never")\n' not in model.consumed
    (joiner,) = model.joiner_requests
    prompt = joiner.messages[-1].content
    assert "doc-alpha" in prompt and "doc-beta" in prompt
    (round_,) = outcome.details["rounds"]
    assert round_["order"].index("start 1") < round_["order"].index("start 2")
    assert "join()" in round_["plan"]
    assert outcome.details["replans"] == 0
    assert outcome.candidates == ["doc-alpha", "doc-beta"]


async def test_reference_waits_for_its_call_and_gets_its_result() -> None:
    release = asyncio.Event()

    async def hold() -> None:
        # Call 1 finishes only after call 3 (independent of it) has started.
        await within(release.wait(), "call 3 to start while call 1 runs")

    async def free() -> None:
        release.set()

    plan: list[Piece] = [
        '1. search(query="alpha")\n2. read(doc_id=$1)\n3. search(query="beta")\n4. join()\n'
    ]
    model = PlanModel([plan], lambda r, i: verdict("answer", "done"))
    log: list[str] = []
    tools = registry(log, alpha=hold, beta=free)
    outcome = await run(model, tools)
    reads = [line for line in log if line.startswith("read")]
    assert reads == ["read doc-alpha"]
    order = outcome.details["rounds"][0]["order"]
    assert order.index("start 3") < order.index("finish 1") < order.index("start 2")
    calls = outcome.details["rounds"][0]["calls"]
    assert calls[1]["call"] == "read(doc_id='$1')"
    assert calls[1]["result"] == "text of doc-alpha"


async def test_tool_error_reaches_the_joiner_and_the_calls_that_depend_on_it() -> None:
    plan: list[Piece] = [
        '1. read(doc_id="missing")\n2. search(query=$1)\n3. search(query="beta")\n4. join()\n'
    ]
    model = PlanModel([plan], lambda r, i: verdict("answer", "only beta is known"))
    log: list[str] = []
    outcome = await run(model, registry(log))
    assert log == ["read missing", "search beta"]
    calls = outcome.details["rounds"][0]["calls"]
    assert calls[0]["error"] and "no document 'missing'" in calls[0]["result"]
    assert calls[1]["error"] and calls[1]["result"].startswith("error: not run because call 1")
    assert not calls[2]["error"]
    assert outcome.details["failed_calls"] == 2
    prompt = model.joiner_requests[0].messages[-1].content
    assert "error: tool 'read' failed: no document 'missing'" in prompt
    assert "error: not run because call 1 failed" in prompt


async def test_replanning_is_bounded_and_the_replanner_sees_earlier_results() -> None:
    plans: list[list[Piece]] = [
        ['1. search(query="alpha")\n2. join()\n'],
        ['1. search(query="beta")\n2. join()\n'],
    ]
    model = PlanModel(plans, lambda r, i: verdict("replan", "maybe alpha", "need beta"))
    outcome = await run(model, registry([]), max_replans=2)
    assert len(model.plan_requests) == 3
    assert len(model.joiner_requests) == 3
    assert outcome.details["replans"] == 2
    replan_prompt = model.plan_requests[1].messages[-1].content
    assert "doc-alpha" in replan_prompt and "need beta" in replan_prompt
    # The last joiner may only answer; its replan is taken as its answer so far.
    schemas = [r.json_schema for r in model.joiner_requests]
    assert [s["properties"]["action"]["enum"] for s in schemas if s] == [
        ["answer", "replan"],
        ["answer", "replan"],
        ["answer"],
    ]
    assert outcome.answer == "maybe alpha"


async def test_joiner_that_never_answers_raises_with_its_output() -> None:
    model = PlanModel([['1. search(query="a")\n2. join()\n']], lambda r, i: "")
    with pytest.raises(ModelOutputError, match="no answer after 2 plan"):
        await run(model, registry([]), max_replans=1)


async def test_plain_text_joiner_reply_is_taken_as_the_answer() -> None:
    model = PlanModel([['1. search(query="a")\n2. join()\n']], lambda r, i: "Alpha is older.")
    outcome = await run(model, registry([]))
    assert outcome.answer == "Alpha is older."


async def test_json_plan_format_for_small_models() -> None:
    plan = {
        "calls": [
            {"idx": 1, "tool": "search", "args": {"query": "alpha"}},
            {"idx": 2, "tool": "read", "args": {"doc_id": "$1"}},
            {"idx": 3, "tool": "join", "args": {}},
        ]
    }

    def script(request: GenerateRequest, _: int) -> str:
        assert request.json_schema is not None
        if "calls" in request.json_schema.get("properties", {}):
            return json.dumps(plan)
        return verdict("answer", "read it")

    model = ScriptedModel(script)
    log: list[str] = []
    outcome = await run(model, registry(log), plan_format="json")
    assert model.calls[0].json_schema == plan_json_schema()
    assert "JSON" in model.calls[0].messages[0].content
    assert log == ["search alpha", "read doc-alpha"]
    assert outcome.answer == "read it"


async def test_calls_over_max_calls_fail_and_the_stream_is_cut() -> None:
    plan: list[Piece] = [
        '1. search(query="a")\n',
        '2. search(query="b")\n',
        '3. search(query="c")\n',
        '4. search(query="d")\n5. join()\n',
    ]
    model = PlanModel([plan], lambda r, i: verdict("answer", "enough"))
    log: list[str] = []
    outcome = await run(model, registry(log), max_calls=2)
    assert sorted(log) == ["search a", "search b"]
    calls = outcome.details["rounds"][0]["calls"]
    assert [c["idx"] for c in calls] == [1, 2, 3]
    assert "max_calls" in calls[2]["result"]
    assert '4. search(query="d")\n5. join()\n' not in model.consumed


async def test_budget_stop_answers_with_the_best_answer_so_far() -> None:
    def model() -> PlanModel:
        return PlanModel(
            [['1. search(query="a")\n2. join()\n']],
            lambda r, i: verdict("replan", "partial", "more"),
        )

    ctx, _ = make_context(model(), tools=registry([]))
    params = parse_params(COMPILE, {"max_replans": 0}, where="test")
    await COMPILE.run(Branches(ctx, AgentSpec()), params, QUESTION)
    one_round = ctx.budget.usage.total_tokens
    # The budget is spent by the first plan and join: the second plan is never asked for.
    limited = model()
    outcome = await run(limited, registry([]), Budgets(max_tokens=one_round), max_replans=3)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "partial"
    assert len(limited.plan_requests) == 1


async def test_budget_spent_before_any_answer_raises() -> None:
    ctx, _ = make_context(ScriptedModel(["x"]), tools=registry([]), budgets=Budgets(max_tokens=1))
    ctx.budget.record(TokenUsage(prompt_tokens=5))
    params = parse_params(COMPILE, {}, where="test")
    with pytest.raises(BudgetExceeded):
        await COMPILE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_without_tools_the_op_says_it_needs_them() -> None:
    with pytest.raises(ConfigError, match="needs tools"):
        await run(ScriptedModel(["x"]), None)


async def test_agent_tools_missing_from_the_job_are_named() -> None:
    ctx, _ = make_context(ScriptedModel(["x"]), tools=registry([]))
    params = parse_params(COMPILE, {}, where="test")
    with pytest.raises(ConfigError, match=r"\['fetch'\] are not available"):
        await COMPILE.run(Branches(ctx, AgentSpec(tools=["fetch"])), params, QUESTION)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"max_calls": 0}, "max_calls"),
        ({"max_replans": 6}, "max_replans"),
        ({"plan_format": "yaml"}, "plan_format"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named_with_the_valid_range(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(COMPILE, raw, where="node 'compile'")
    assert named in str(info.value) and "Valid params" in str(info.value)


async def test_unknown_joiner_agent_lists_the_defined_agents() -> None:
    model = PlanModel([["1. join()\n"]], lambda r, i: verdict("answer", "x"))
    with pytest.raises(ConfigError, match="'nobody' is not defined"):
        await run(model, registry([]), joiner="nobody")


async def test_the_op_uses_the_agent_tools_and_writes_answer_and_report() -> None:
    model = PlanModel(
        [['1. search(query="alpha")\n2. join()\n']], lambda r, i: verdict("answer", "Alpha.")
    )
    graph = graph_with(agents={"planner": AgentSpec(tools=["search"])})
    ctx, log = make_context(model, graph=graph, tools=registry([]))
    op = builtin_ops().get(COMPILE.name)
    node = NodeSpec(op="compile", agent="planner", params={"max_calls": 4})
    update = await op(ctx, node, {"question": "Tell me about alpha."})
    assert update["answer"] == "Alpha."
    assert "Tell me about alpha." in update["report"] and "compile" in update["report"]
    prompt = model.plan_requests[0].messages[-1].content
    assert "- search(query: string)" in prompt and "read(" not in prompt
    assert update["strategy"]["tool_calls"] == 1
    assert ctx.budget.usage.total_tokens > 0
    assert any("call 1 started" in e.data.get("message", "") for e in log.of_type("log"))
