"""The ``spawn_join`` operator: fork a streamed parallel block's paths, join, continue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from orchestrator.usage import TokenUsage
from tests.support import make_context, within

SPAWN = STRATEGIES["spawn_join"]
QUESTION = [ChatMessage(role="user", content="Which is larger, alpha or beta?")]

BLOCK = (
    "Let me check both.\n<Parallel>\n<Goal>compare</Goal>\n"
    "<Path>check alpha</Path>\n<Path>check beta</Path>\n</Parallel>\nnever seen"
)
CONCLUSION = "Beta is larger.\n</Conclusion>\n</Parallel>\nThe answer is beta."


def is_question(request: GenerateRequest) -> bool:
    return request.messages[-1].content == QUESTION[-1].content


def is_continue(request: GenerateRequest) -> bool:
    return "Continue exactly" in request.messages[-1].content


def is_fork(request: GenerateRequest) -> bool:
    return not is_question(request) and not is_continue(request)


def script_for(
    first: str, paths: Mapping[str, str], then: str = CONCLUSION
) -> Callable[[GenerateRequest, int], str]:
    """The question gets ``first``, a continuation ``then``, a fork naming a key its value."""

    def script(request: GenerateRequest, _: int) -> str:
        if is_question(request):
            return first
        if is_continue(request):
            return then
        task = request.messages[-1].content
        return next(reply for key, reply in paths.items() if key in task)

    return script


def replies(first: str, paths: Mapping[str, str], then: str = CONCLUSION) -> ScriptedModel:
    return ScriptedModel(script_for(first, paths, then))


PATHS = {"check alpha": "alpha is 3", "check beta": "beta is 4"}


class HookedModel(ScriptedModel):
    """A scripted model that awaits ``hooks[key]()`` before answering a request whose last
    message contains ``key`` (for concurrency handshakes)."""

    def __init__(
        self,
        script: Callable[[GenerateRequest, int], str],
        hooks: Mapping[str, Callable[[], Awaitable[None]]],
    ) -> None:
        super().__init__(script)
        self.hooks = hooks

    async def generate(self, request: GenerateRequest) -> Completion:
        for key, hook in self.hooks.items():
            if key in request.messages[-1].content:
                await hook()
        return await super().generate(request)


async def run(
    model: ScriptedModel, budgets: Budgets | None = None, **raw: Any
) -> tuple[StrategyOutcome, ScriptedModel]:
    ctx, _ = make_context(model, budgets=budgets)
    params = parse_params(SPAWN, raw, where="test")
    return await SPAWN.run(Branches(ctx, AgentSpec()), params, QUESTION), model


async def test_paths_run_concurrently() -> None:
    started = {"alpha": asyncio.Event(), "beta": asyncio.Event()}

    def handshake(me: str, other: str) -> Callable[[], Awaitable[None]]:
        async def hook() -> None:
            started[me].set()
            # Each path waits for the other to have started: serial forks would deadlock.
            await within(started[other].wait(), f"path {other!r} to start while {me!r} runs")

        return hook

    model = HookedModel(
        script_for(BLOCK, PATHS),
        {"check alpha": handshake("alpha", "beta"), "check beta": handshake("beta", "alpha")},
    )
    outcome, _ = await run(model)
    assert outcome.candidates == ["alpha is 3", "beta is 4"]


async def test_forks_share_the_leading_messages_and_prefix() -> None:
    _, model = await run(replies(BLOCK, PATHS))
    forks = [r for r in model.calls if is_fork(r)]
    assert len(forks) == 2
    assert forks[0].messages[:-1] == forks[1].messages[:-1]
    assert forks[0].prefix_key() == forks[1].prefix_key()
    head = forks[0].messages[-2]
    assert head.role == "assistant"
    assert head.content == "Let me check both.\n<Parallel>\n<Goal>\ncompare\n</Goal>\n"
    assert forks[0].messages[:2] == model.calls[0].messages[:2]
    assert "check alpha" in forks[0].messages[-1].content
    assert "check beta" in forks[1].messages[-1].content


async def test_joined_context_holds_every_result_in_order_and_is_continued() -> None:
    outcome, model = await run(replies(BLOCK, PATHS))
    (continued,) = [r for r in model.calls if is_continue(r)]
    joined = continued.messages[-2]
    assert joined.role == "assistant"
    alpha = joined.content.index("<Path>\ncheck alpha\nalpha is 3\n</Path>")
    beta = joined.content.index("<Path>\ncheck beta\nbeta is 4\n</Path>")
    assert alpha < beta
    assert joined.content.endswith("<Conclusion>\n")
    assert outcome.answer == (joined.content + CONCLUSION).strip()
    assert "never seen" not in outcome.answer
    assert outcome.details["continuations"] == 1
    assert outcome.details["blocks_forked"] == 1
    assert outcome.details["blocks"][0]["results"] == ["alpha is 3", "beta is 4"]


async def test_a_model_that_writes_no_block_just_answers() -> None:
    model = ScriptedModel(["Beta is larger."])
    outcome, _ = await run(model)
    assert outcome.answer == "Beta is larger."
    assert len(model.calls) == 1
    assert outcome.details["blocks_forked"] == 0


async def test_the_system_prompt_explains_the_format_unless_overridden() -> None:
    _, model = await run(ScriptedModel(["plain"]), max_paths=3)
    system = model.calls[0].messages[0]
    assert system.role == "system"
    assert "<Parallel>" in system.content and "at most 3 paths" in system.content
    _, spawning = await run(ScriptedModel(["plain"]), styles=["spawn"])
    assert "spawn([" in spawning.calls[0].messages[0].content
    override = ScriptedModel(["plain"])
    ctx, _ = make_context(override)
    node = NodeSpec(op="spawn_join", params={"system": "Be brief."})
    update = await builtin_ops().get(SPAWN.name)(ctx, node, {"question": "Why?"})
    assert update["answer"] == "plain"
    assert [m.content for m in override.calls[0].messages] == ["Be brief.", "Why?"]


async def test_max_paths_is_enforced() -> None:
    three = BLOCK.replace("</Parallel>", "<Path>check gamma</Path>\n</Parallel>")
    outcome, model = await run(replies(three, {**PATHS, "check gamma": "gamma is 1"}), max_paths=2)
    assert len([r for r in model.calls if is_fork(r)]) == 2
    assert outcome.details["blocks"][0]["dropped_paths"] == 1
    assert "gamma" not in outcome.answer


async def test_spawn_style_joins_child_results() -> None:
    first = "Split it.\nspawn(['check alpha', 'check beta'])\nignored"
    then = "So beta is larger."
    outcome, model = await run(replies(first, PATHS, then))
    forks = [r for r in model.calls if is_fork(r)]
    assert [f.messages[-2].content for f in forks] == ["Split it.\n", "Split it.\n"]
    (continued,) = [r for r in model.calls if "spawned threads" in r.messages[-1].content]
    assert continued.messages[-2].content.endswith('join(["alpha is 3", "beta is 4"])\n')
    assert outcome.answer.endswith("So beta is larger.")


async def test_max_blocks_bounds_nested_and_sequential_blocks() -> None:
    nested = "<Parallel><Path>check gamma</Path><Path>check delta</Path></Parallel>"
    paths = {**PATHS, "check beta": nested, "check gamma": "gamma is 1", "check delta": "0"}
    # One block allowed: the fork's own block is left as the model wrote it.
    outcome, model = await run(replies(BLOCK, paths), max_blocks=1)
    assert len([r for r in model.calls if is_fork(r)]) == 2
    assert outcome.details["blocks_forked"] == 1
    assert nested in outcome.answer
    # Two allowed: the nested block forks its paths too, then the fork continues.
    outcome, model = await run(replies(BLOCK, paths), max_blocks=2)
    nested_forks = [r for r in model.calls if "check delta" in r.messages[-1].content]
    assert len(nested_forks) == 1
    assert nested_forks[0].messages[-2].content.startswith("<Parallel>\n")
    assert [b["depth"] for b in outcome.details["blocks"]] == [0, 1]
    assert outcome.details["continuations"] == 2
    assert "<Path>\ncheck gamma\ngamma is 1\n</Path>" in outcome.answer


async def test_paths_can_be_answered_by_an_inner_strategy() -> None:
    outcome, model = await run(
        replies(BLOCK, PATHS), inner={"op": "vote", "params": {"n": 3, "extract": "last_line"}}
    )
    forks = [r for r in model.calls if is_fork(r)]
    assert [f.n for f in forks] == [3, 3]
    assert outcome.candidates == ["alpha is 3", "beta is 4"]


async def test_budget_stop_keeps_the_text_so_far() -> None:
    outcome, model = await run(replies(BLOCK, PATHS), Budgets(max_tokens=1))
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer.startswith("Let me check both.")
    assert "budget ran out" in outcome.answer
    assert len(model.calls) == 1


async def test_budget_spent_before_any_text_raises() -> None:
    ctx, _ = make_context(ScriptedModel(["x"]), budgets=Budgets(max_tokens=1))
    ctx.budget.record(TokenUsage(prompt_tokens=5))
    params = parse_params(SPAWN, {}, where="test")
    with pytest.raises(BudgetExceeded):
        await SPAWN.run(Branches(ctx, AgentSpec()), params, QUESTION)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"max_paths": 0}, "max_paths"),
        ({"max_blocks": 9}, "max_blocks"),
        ({"styles": []}, "styles"),
        ({"styles": ["xml"]}, "styles"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named_with_the_valid_range(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(SPAWN, raw, where="node 'spawn_join'")
    assert named in str(info.value) and "Valid params" in str(info.value)


async def test_the_op_counts_tokens_and_writes_a_report() -> None:
    model = replies(BLOCK, PATHS)
    ctx, log = make_context(model)
    state = {"question": QUESTION[-1].content}
    update = await builtin_ops().get(SPAWN.name)(ctx, NodeSpec(op="spawn_join"), state)
    assert update["answer"].endswith("The answer is beta.")
    assert update["strategy"]["blocks_forked"] == 1
    assert update["strategy"]["samples"] == 4
    assert ctx.budget.usage.total_tokens > 0 and log.of_type("tokens")
