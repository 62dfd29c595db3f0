"""Every tool call through the engine's ObservedToolbox: per-tool concurrency limits,
timeouts, one execute_tool event per call, errors back to the caller as results; and a
researcher calling tools through call schemas built from their JSON schemas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agents.researcher import research, step_model
from agents.tool_schema import call_model
from orchestrator.errors import ToolError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.plan import TaskSpec
from orchestrator.testing import ScriptedModel
from orchestrator.tool_calls import ObservedToolbox, ToolLimit
from tests.support import EventLog, make_context
from tools.calculator import calculator_tool
from tools.registry import ToolRegistry, make_tool

pytestmark = pytest.mark.timeout(20)


def counting_tool(limit: int, running: list[int], peak: list[int], gate: asyncio.Event):  # type: ignore[no-untyped-def]
    async def slow(n: int) -> str:
        """Wait for the gate, counting how many run at once."""
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await gate.wait()
        running[0] -= 1
        return str(n)

    return make_tool(slow, concurrency=limit)


async def test_calls_beyond_a_tools_concurrency_limit_wait_their_turn() -> None:
    running, peak, gate = [0], [0], asyncio.Event()
    box = ObservedToolbox(
        ToolRegistry([counting_tool(2, running, peak, gate)]), events=None, job_id="j"
    )
    calls = asyncio.ensure_future(box.call_many([("slow", {"n": i}) for i in range(5)]))
    while running[0] < 2:
        await asyncio.sleep(0)
    for _ in range(20):
        await asyncio.sleep(0)
    assert running[0] == 2  # the other three wait for a slot
    gate.set()
    assert await calls == ["0", "1", "2", "3", "4"]
    assert peak[0] == 2


async def test_a_call_past_its_timeout_is_a_tool_error_and_an_event() -> None:
    async def stuck() -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return ""

    log = EventLog()
    box = ObservedToolbox(
        ToolRegistry([make_tool(stuck)]),
        events=log,
        job_id="j",
        overrides={"stuck": ToolLimit(concurrency=1, timeout_s=0.2)},
    )
    [result] = await box.call_many([("stuck", {})])
    assert isinstance(result, ToolError) and "longer than 0.2 s" in str(result)
    [event] = log.of_type("execute_tool")
    assert event.data["status"] == "error" and "longer than 0.2 s" in event.data["error"]


async def test_every_call_is_an_execute_tool_event_with_its_outcome() -> None:
    log = EventLog()
    box = ObservedToolbox(ToolRegistry([calculator_tool()]), events=log, job_id="j")
    results = await box.call_many(
        [("calculator", {"expression": "6*7"}), ("calculator", {"expression": "9**9**9"})]
    )
    assert results[0] == "42" and isinstance(results[1], ToolError)
    events = log.of_type("execute_tool")
    assert [e.data["status"] for e in events] == ["ok", "error"]
    assert json.loads(events[0].data["arguments"]) == {"expression": "6*7"}
    assert events[0].data["result_chars"] == 2 and events[0].data["duration_s"] >= 0
    # The wrapped tools are what get() returns too.
    assert await box.get("calculator").call({"expression": "1+1"}) == "2"
    assert len(log.of_type("execute_tool")) == 3


def test_a_call_model_follows_the_tools_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"url": {"type": "string"}, "offset": {"type": "integer", "minimum": 0}},
        "required": ["url"],
    }
    model = call_model("fetch", schema)
    produced = model.model_json_schema()
    assert produced["properties"]["url"]["type"] == "string"
    assert produced["properties"]["offset"]["minimum"] == 0
    assert produced["required"] == ["tool", "url"]
    assert model.model_validate({"tool": "fetch", "url": "https://x.org"}).model_dump()["url"]
    with pytest.raises(ValueError):
        model.model_validate({"tool": "fetch", "url": "x", "bogus": 1})


async def test_a_researcher_calls_any_tool_it_lists_and_reads_the_result() -> None:
    replies = [
        {
            "thought": "compute",
            "tool_calls": [{"tool": "calculator", "expression": "2**10"}],
            "findings": [],
            "done": False,
        },
        {
            "thought": "done",
            "tool_calls": [],
            "findings": [{"claim": "Two to the tenth is 1024 exactly.", "source_ids": []}],
            "done": True,
        },
    ]
    seen: list[str] = []

    def script(request: GenerateRequest, index: int) -> str:
        schema = request.json_schema or {}
        seen.append(json.dumps(schema))
        seen.append(request.messages[-1].content)
        return json.dumps(replies.pop(0))

    tools = ToolRegistry([calculator_tool()])
    ctx, _ = make_context(ScriptedModel(script), tools=tools)
    agent = AgentSpec(tools=["calculator"], max_steps=3)
    result = await research(ctx, agent, TaskSpec(id="t", params={"question": "2^10?"}), {})
    assert result.output["findings"][0]["claim"].startswith("Two to the tenth")
    assert '"const": "calculator"' in seen[0] or '"enum": ["calculator"]' in seen[0]
    assert "calculator(expression='2**10'):\n1024" in seen[3]
    assert "More tools" in ctx.models["default"].calls[0].messages[0].content  # type: ignore[attr-defined]


def test_search_and_read_keep_their_hand_made_call_schemas() -> None:
    schema: dict[str, Any] = step_model(["search", "read"], ["gc"]).model_json_schema()
    assert {"SearchCall", "ReadCall"} <= set(schema["$defs"])
