"""The ``vote`` operator: self-consistency, weighted, adaptive and online-pruned."""

from __future__ import annotations

import itertools

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.testing import ScriptedModel, ScriptedReply
from tests.support import graph_with, make_context

VOTE = STRATEGIES["vote"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]


def cycling(replies: list[str | ScriptedReply]) -> ScriptedModel:
    counter = itertools.count()

    def script(_: GenerateRequest, __: int) -> str | ScriptedReply:
        return replies[next(counter) % len(replies)]

    return ScriptedModel(script)


async def run(model: ScriptedModel, budgets: Budgets | None = None, **raw: object):
    ctx, _ = make_context(model, budgets=budgets)
    branches = Branches(ctx, AgentSpec())
    params = parse_params(VOTE, raw, where="test")
    return await VOTE.run(branches, params, QUESTION), ctx, branches


async def test_majority_wins_and_samples_share_one_request() -> None:
    model = cycling(["so it is 4", "4.", "5", "The answer: 4", "7"])
    outcome, ctx, _ = await run(model, n=5, extract="last_number")
    assert outcome.answer == "4"
    assert outcome.details["counts"] == {"4": 3, "5": 1, "7": 1}
    assert len(model.calls) == 1 and model.calls[0].n == 5
    assert ctx.budget.usage.completion_tokens > 0


async def test_confidence_weighting_can_overturn_the_count() -> None:
    sure, unsure = -0.01, -3.0
    replies: list[str | ScriptedReply] = [
        ScriptedReply("4", logprob=unsure),
        ScriptedReply("4", logprob=unsure),
        ScriptedReply("4", logprob=unsure),
        ScriptedReply("5", logprob=sure),
        ScriptedReply("5", logprob=sure),
    ]
    model = cycling(replies)
    plain, _, _ = await run(cycling(replies), n=5, extract="last_number")
    weighted, _, _ = await run(model, n=5, extract="last_number", weight="mean")
    assert plain.answer == "4"
    assert weighted.answer == "5"
    assert model.calls[0].logprobs


async def test_keep_fraction_drops_the_least_confident_traces() -> None:
    replies = [ScriptedReply("9", logprob=-4.0)] * 3 + [ScriptedReply("4", logprob=-0.1)] * 2
    outcome, _, _ = await run(cycling(replies), n=5, extract="last_number", keep_fraction=0.4)
    assert outcome.answer == "4"
    assert outcome.details["abstained"] == 3


async def test_adaptive_stops_early_when_the_leader_cannot_lose() -> None:
    model = cycling(["4"])
    outcome, _, branches = await run(
        model, n=16, extract="last_number", adaptive=True, first_wave=4, min_samples=3
    )
    assert outcome.answer == "4"
    assert branches.samples < 16
    assert outcome.details["waves"] == 1


async def test_adaptive_keeps_sampling_while_split() -> None:
    model = cycling(["4", "5"])
    _, _, branches = await run(model, n=16, extract="last_number", adaptive=True, first_wave=4)
    assert branches.samples == 16


async def test_online_pruning_closes_low_confidence_streams() -> None:
    high = [ScriptedReply("step " * 10 + "4", logprob=-0.05)] * 4
    low = [ScriptedReply("hmm " * 10 + "9", logprob=-5.0)]
    model = cycling(high + low * 4)
    outcome, _, _ = await run(
        model, n=8, extract="last_number", prune=True, warmup=4, window=4, keep_percent=90
    )
    assert outcome.answer == "4"
    assert outcome.details["pruned"] == 4
    assert outcome.details["counts"] == {"4": 4}


async def test_extractor_agent_reads_the_final_answer() -> None:
    def script(request: GenerateRequest, _: int) -> str:
        if request.json_schema is not None:
            return '{"answer": "42"}'
        return "a long argument that ends somewhere"

    ctx, _ = make_context(ScriptedModel(script), graph=graph_with(agents={"reader": AgentSpec()}))
    params = parse_params(VOTE, {"n": 3, "extractor": "reader"}, where="test")
    outcome = await VOTE.run(Branches(ctx, AgentSpec()), params, QUESTION)
    assert outcome.answer == "42"


async def test_token_budget_stops_adaptive_voting_with_an_answer() -> None:
    model = cycling(["4 " * 20, "5 " * 20])
    outcome, _, branches = await run(
        model,
        budgets=Budgets(max_tokens=60),
        n=32,
        extract="last_number",
        adaptive=True,
        first_wave=2,
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer in {"4", "5"}
    assert branches.samples < 32


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"n": 0}, "n"),
        ({"n": 300}, "n"),
        ({"extract": "regex"}, "pattern"),
        ({"prune": True, "adaptive": True}, "adaptive"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named_with_the_valid_range(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(VOTE, raw, where="node 'vote'")
    assert named in str(info.value)
    assert "Valid params" in str(info.value)


async def test_unknown_extractor_agent_lists_the_defined_agents() -> None:
    ctx, _ = make_context(cycling(["4"]))
    params = parse_params(VOTE, {"n": 2, "extractor": "nobody"}, where="test")
    with pytest.raises(ConfigError, match="'nobody' is not defined"):
        await VOTE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_the_op_writes_answer_report_and_costs() -> None:
    ctx, log = make_context(cycling(["4", "4", "5"]))
    op = builtin_ops().get(VOTE.name)
    update = await op(
        ctx, NodeSpec(op="vote", params={"n": 3, "extract": "last_number"}), {"question": "2+2?"}
    )
    assert update["answer"] == "4"
    assert "2+2?" in update["report"] and "vote" in update["report"]
    assert update["strategy"]["samples"] == 3
    assert update["strategy"]["total_tokens"] == ctx.budget.usage.total_tokens > 0
    assert log.of_type("tokens")
