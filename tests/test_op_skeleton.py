"""The ``skeleton`` operator: Skeleton-of-Thought."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.operators.skeleton import points_schema
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import Script, ScriptedModel
from tests.support import make_context, within

SKELETON = STRATEGIES["skeleton"]
QUESTION = [
    ChatMessage(role="system", content="You are concise."),
    ChatMessage(role="user", content="How do I make a web service faster?"),
]
SKELETON_REPLY = " Measure first\n2. Cache responses\n3. Batch queries"


def point_of(request: GenerateRequest) -> int | None:
    """The 1-based point an expansion request asks for, None for the skeleton request."""
    found = re.search(r"writing of point (\d+)\.", request.messages[-1].content)
    return int(found.group(1)) if found else None


def script_with(skeleton: str) -> Script:
    def script(request: GenerateRequest, _: int) -> str:
        point = point_of(request)
        return skeleton if point is None else f"Expansion of point {point}."

    return script


async def run(
    model: ScriptedModel, budgets: Budgets | None = None, **raw: Any
) -> tuple[StrategyOutcome, Any]:
    ctx, _ = make_context(model, budgets=budgets)
    params = parse_params(SKELETON, raw, where="test")
    return await SKELETON.run(Branches(ctx, AgentSpec()), params, QUESTION), ctx


class OutOfOrder(ScriptedModel):
    """Expansions that finish last point first: point i waits until point i + 1 is done."""

    def __init__(self, script: Script, points: int) -> None:
        super().__init__(script)
        self.done = {i: asyncio.Event() for i in range(1, points + 1)}
        self.finished: list[int] = []

    async def generate(self, request: GenerateRequest) -> Completion:
        point = point_of(request)
        if point is not None and point + 1 in self.done:
            # Expanding points one after another would wait here forever.
            await within(
                self.done[point + 1].wait(), f"point {point + 1} to finish while {point} runs"
            )
        completion = await super().generate(request)
        if point is not None:
            self.finished.append(point)
            self.done[point].set()
        return completion


async def test_points_expand_concurrently_and_assemble_in_skeleton_order() -> None:
    model = OutOfOrder(script_with(SKELETON_REPLY), points=3)
    outcome, ctx = await run(model, max_points=5)
    assert model.finished == [3, 2, 1]
    assert outcome.answer == (
        "1. Measure first Expansion of point 1.\n"
        "2. Cache responses Expansion of point 2.\n"
        "3. Batch queries Expansion of point 3."
    )
    assert outcome.details["skeleton"] == ["Measure first", "Cache responses", "Batch queries"]
    assert outcome.details["expanded"] == 3
    assert outcome.stopped_by is None
    assert ctx.budget.usage.total_tokens > 0


async def test_expansions_share_the_question_and_skeleton_as_leading_messages() -> None:
    model = ScriptedModel(script_with(SKELETON_REPLY))
    await run(model)
    skeleton_call, *expansions = model.calls
    assert len(expansions) == 3
    leading = expansions[0].messages[:-1]
    assert all(r.messages[:-1] == leading for r in expansions)
    assert len({r.prefix_key() for r in expansions}) == 1
    assert leading[: len(skeleton_call.messages)] == skeleton_call.messages
    assert leading[0].content == "You are concise."
    assert leading[-1].role == "assistant"
    assert leading[-1].content == "1. Measure first\n2. Cache responses\n3. Batch queries"
    assert [point_of(r) for r in expansions] == [1, 2, 3]
    assert expansions[1].messages[-1].content.endswith("2. Cache responses")


async def test_max_points_bounds_the_skeleton() -> None:
    model = ScriptedModel(script_with("1. a\n2. b\n3. c\n4. d"))
    outcome, _ = await run(model, max_points=2)
    assert outcome.details["skeleton"] == ["a", "b"]
    assert len(model.calls) == 3
    assert "at most 2 points" in model.calls[0].messages[-1].content


async def test_json_skeleton_is_asked_with_its_schema() -> None:
    model = ScriptedModel(script_with(json.dumps({"points": ["Profile", "Cache"]})))
    outcome, _ = await run(model, skeleton_format="json", max_points=4, expand_max_tokens=64)
    schema = model.calls[0].json_schema
    assert schema is not None and schema["properties"]["points"]["maxItems"] == 4
    assert outcome.details["skeleton"] == ["Profile", "Cache"]
    assert all(r.max_tokens == 64 for r in model.calls[1:])
    assert all(r.json_schema is None for r in model.calls[1:])


async def test_budget_spent_on_the_skeleton_keeps_the_points_as_lines() -> None:
    model = ScriptedModel(script_with(SKELETON_REPLY))
    outcome, _ = await run(model, budgets=Budgets(max_tokens=20))
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "1. Measure first\n2. Cache responses\n3. Batch queries"
    assert outcome.details["expanded"] == 0
    assert len(model.calls) == 1


async def test_unreadable_skeleton_is_a_model_output_error() -> None:
    model = ScriptedModel(script_with(""))
    with pytest.raises(ModelOutputError, match="no points") as info:
        await run(model)
    assert info.value.output == ""
    # Asked twice, the second time hotter.
    assert [r.temperature for r in model.calls] == [0.7, 1.0]


async def test_a_skeleton_without_points_is_asked_for_once_more() -> None:
    replies = iter(["", SKELETON_REPLY])

    def script(request: GenerateRequest, _: int) -> str:
        point = point_of(request)
        return next(replies) if point is None else f"Expansion of point {point}."

    model = ScriptedModel(script)
    outcome, _ = await run(model, temperature=0.2)
    assert outcome.details["points"] == 3
    assert [r.temperature for r in model.calls[:2]] == [0.2, pytest.approx(0.5)]


def test_json_points_must_start_with_a_letter_or_digit() -> None:
    pattern = re.compile(points_schema(4)["properties"]["points"]["items"]["pattern"])
    assert pattern.match("Cache responses")
    assert pattern.match("2 caches")
    for bad in ["...", ". cache", 'say "hi"', "a\\b", "one\ntwo", "ab"]:
        assert not pattern.match(bad), bad


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"max_points": 0}, "max_points"),
        ({"max_points": 50}, "max_points"),
        ({"skeleton_format": "yaml"}, "skeleton_format"),
        ({"expand_max_tokens": 1}, "expand_max_tokens"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(SKELETON, raw, where="node 'skeleton'")
    assert named in str(info.value)
    assert "Valid params" in str(info.value)


async def test_skeleton_runs_as_an_op() -> None:
    ctx, log = make_context(ScriptedModel(script_with(SKELETON_REPLY)))
    update = await builtin_ops().get(SKELETON.name)(
        ctx, NodeSpec(op="skeleton", params={"max_points": 3}), {"question": "Faster?"}
    )
    assert update["answer"].startswith("1. Measure first Expansion of point 1.")
    assert update["strategy"]["samples"] == 4
    assert update["strategy"]["total_tokens"] == ctx.budget.usage.total_tokens > 0
    assert "skeleton" in update["report"]
    assert log.of_type("tokens")
