"""The ``debate`` (multi-agent debate) and ``reconcile`` (ReConcile) operators."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context

DEBATE = STRATEGIES["debate"]
RECONCILE = STRATEGIES["reconcile"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]
Script = Callable[[GenerateRequest, int], str]


async def run(ctx: RunContext, name: str, **raw: Any) -> tuple[StrategyOutcome, Branches]:
    defn = STRATEGIES[name]
    branches = Branches(ctx, AgentSpec())
    params = parse_params(defn, raw, where="test")
    return await defn.run(branches, params, QUESTION), branches


def own_answer(request: GenerateRequest) -> str | None:
    """The agent's previous answer in a debate turn (None in the first round)."""
    return next((m.content for m in request.messages if m.role == "assistant"), None)


def stubborn(first: list[str]) -> ScriptedModel:
    """Agents answer ``first[i]`` in round one, then repeat their own answer."""

    def script(request: GenerateRequest, index: int) -> str:
        own = own_answer(request)
        return own if own is not None else first[index]

    return ScriptedModel(script)


async def test_debate_stops_early_when_all_agree() -> None:
    model = ScriptedModel(lambda r, i: "I get 4")
    ctx, _ = make_context(model)
    outcome, branches = await run(ctx, "debate", agents=3, rounds=4, extract="last_number")
    assert [c.n for c in model.calls] == [3]
    assert outcome.answer == "4"
    assert outcome.details["rounds_run"] == 1 and outcome.details["agreed"] is True
    assert branches.samples == 3


async def test_debate_runs_every_round_while_agents_disagree() -> None:
    model = stubborn(["1", "2", "3"])
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, "debate", agents=3, rounds=3, extract="last_number")
    assert [c.n for c in model.calls] == [3] + [1] * 6
    assert outcome.details["rounds_run"] == 3 and outcome.details["agreed"] is False
    assert outcome.details["answers"] == [["1", "2", "3"]] * 3
    assert outcome.answer == "1"
    assert ctx.budget.usage.total_tokens > 0


async def test_debate_agents_convert_and_the_debate_ends() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        if own_answer(request) is None:
            return ["4", "4", "5"][index]
        return "4" if "Agent" in last_user(request) else "5"

    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, "debate", agents=3, rounds=5, extract="last_number")
    assert outcome.details["answers"] == [["4", "4", "5"], ["4", "4", "4"]]
    assert outcome.answer == "4" and outcome.details["rounds_run"] == 2


async def test_debate_turns_of_a_round_run_concurrently() -> None:
    rendezvous = Rendezvous(4)
    scripted = stubborn(["1", "2", "3", "4"])
    model = Gated(scripted, rendezvous, lambda r: own_answer(r) is not None)
    ctx, _ = make_context(model)
    await run(ctx, "debate", agents=4, rounds=3, extract="last_number")
    assert rendezvous.groups == 2


async def test_ring_topology_shows_only_the_neighbours_answers() -> None:
    first = ["ans-a", "ans-b", "ans-c", "ans-d", "ans-e"]
    model = stubborn(first)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, "debate", agents=5, rounds=2, topology="ring", degree=2)
    turns = model.calls[1:]
    assert len(turns) == 5
    for turn in turns:
        own = first.index(own_answer(turn) or "")
        shown = {i for i, text in enumerate(first) if text in last_user(turn)}
        assert shown == {(own + 1) % 5, (own - 1) % 5}
    assert outcome.details["neighbours"]["1"] == [2, 5]


async def test_neighbours_answers_are_capped_to_the_context_limit() -> None:
    model = stubborn(["x" * 5000 + " 1", "y" * 5000 + " 2", "z" * 5000 + " 3"])
    ctx, _ = make_context(model)
    await run(ctx, "debate", agents=3, rounds=2, max_context_chars=1000, extract="last_number")
    for turn in model.calls[1:]:
        prompt = last_user(turn)
        assert len(prompt) < 1400
        assert "[…]" in prompt


async def test_judge_picks_the_final_answer() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is not None:
            assert "Response 2:" in last_user(request)
            return json.dumps({"choice": 2, "reason": "it checks out"})
        own = own_answer(request)
        return own if own is not None else ["it is 5", "it is 4", "it is 6"][index]

    graph = graph_with(agents={"referee": AgentSpec()})
    ctx, _ = make_context(ScriptedModel(script), graph=graph)
    outcome, _ = await run(
        ctx, "debate", agents=3, rounds=2, final="judge", judge="referee", extract="last_number"
    )
    assert outcome.answer == "it is 4"
    assert outcome.details["judge_choice"] == 2 and outcome.details["final"] == "judge"


async def test_a_judge_that_names_no_response_falls_back_to_the_vote() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is not None:
            return "no idea"
        return own_answer(request) or ["5", "4", "4"][index]

    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, "debate", agents=3, rounds=2, final="judge", extract="last_number")
    assert outcome.answer == "4"
    assert outcome.details["judge_choice"] is None and outcome.details["final"] == "vote"


async def test_each_agent_can_answer_with_an_inner_vote() -> None:
    answers = itertools.cycle(["4", "4", "5"])
    model = ScriptedModel(lambda r, i: next(answers))
    ctx, _ = make_context(model)
    outcome, _ = await run(
        ctx,
        "debate",
        agents=2,
        rounds=2,
        extract="last_number",
        inner={"op": "vote", "params": {"n": 3, "extract": "last_number"}},
    )
    assert [c.n for c in model.calls] == [3, 3]
    assert outcome.answer == "4" and outcome.details["rounds_run"] == 1


async def test_token_budget_stops_the_debate_with_an_answer() -> None:
    model = stubborn(["so 4", "so 4", "so 5"])
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=5))
    outcome, _ = await run(ctx, "debate", agents=3, rounds=3, extract="last_number")
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "4"
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"rounds": 0}, "rounds"),
        ({"agents": 1}, "agents"),
        ({"topology": "star"}, "topology"),
        ({"judge": "referee"}, "judge"),
        ({"extract": "json_field"}, "field"),
        ({"inner": {"op": "vote", "n": 3}}, "inner"),
    ],
)
def test_bad_debate_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(DEBATE, raw, where="node 'debate'")
    assert named in str(info.value)


async def test_unknown_judge_agent_fails_before_any_call() -> None:
    model = ScriptedModel(lambda r, i: "4")
    ctx, _ = make_context(model)
    with pytest.raises(ConfigError, match="judge: agent 'referee' is not defined"):
        await run(ctx, "debate", final="judge", judge="referee")
    assert model.calls == []


def stance(answer: str, confidence: float, why: str = "because") -> str:
    return json.dumps({"answer": answer, "explanation": why, "confidence": confidence})


def constant(text: str) -> Script:
    return lambda request, index: text


def table(
    replies: dict[str, str | Script], budgets: Budgets | None = None
) -> tuple[RunContext, dict[str, ScriptedModel]]:
    """A round table with one agent per model; each model answers with a reply or a script."""
    models = {
        name: ScriptedModel(reply if callable(reply) else constant(reply))
        for name, reply in replies.items()
    }
    graph = graph_with(
        agents={name: AgentSpec(model=name) for name in replies},
        models={name: ModelSpec() for name in replies},
        budgets=budgets,
    )
    ctx, _ = make_context(dict(models), graph=graph)
    return ctx, models


async def test_confidence_weighting_changes_the_winner() -> None:
    ctx, models = table(
        {"a": stance("5", 0.5), "b": stance("5", 0.6), "c": stance("4", 1.0, "2 + 2 is 4")}
    )
    outcome, _ = await run(ctx, "reconcile", agents=["a", "b", "c"], rounds=1)
    assert outcome.answer == "4"
    first = outcome.details["rounds"][0]
    assert first["answers"] == ["5", "5", "4"] and first["winner"] == "4"
    assert first["weights"] == {"5": pytest.approx(0.2), "4": pytest.approx(1.0)}
    assert all(m.calls[0].json_schema is not None for m in models.values())


async def test_each_agent_reads_the_others_stances_and_consensus_ends_the_table() -> None:
    def convert(request: GenerateRequest, _: int) -> str:
        if "other agents" in last_user(request):
            return stance("4", 0.9)
        return stance("5", 0.7, "five, I think")

    ctx, models = table(
        {"a": stance("4", 0.95, "two and two"), "b": convert, "c": stance("4", 1.0, "sum")}
    )
    outcome, _ = await run(ctx, "reconcile", agents=["a", "b", "c"], rounds=4)
    assert outcome.details["rounds_run"] == 2 and outcome.details["consensus"] is True
    assert [r["winner"] for r in outcome.details["rounds"]] == ["4", "4"]
    seen_by_b = last_user(models["b"].calls[1])
    others = seen_by_b.split("other agents' answers")[1]
    assert "two and two" in others and "sum" in others and "0.95" in others
    assert "five, I think" not in others and "five, I think" in seen_by_b
    assert len(models["a"].calls) == 2


async def test_a_seat_answers_under_its_own_system_prompt() -> None:
    model = ScriptedModel(lambda r, i: stance("4" if r.messages[0].role == "system" else "5", 0.9))
    graph = graph_with(
        agents={"a": AgentSpec(system="You are a careful checker."), "b": AgentSpec()}
    )
    ctx, _ = make_context(model, graph=graph)
    outcome, _ = await run(ctx, "reconcile", agents=["a", "b"], rounds=2)
    assert outcome.details["rounds"][0]["answers"] == ["4", "5"]
    personas = [c.messages[0].content for c in model.calls if c.messages[0].role == "system"]
    assert personas == ["You are a careful checker."] * 2


async def test_agents_listed_twice_share_one_first_request() -> None:
    ctx, models = table({"a": stance("4", 0.9), "b": stance("4", 0.9)})
    outcome, _ = await run(ctx, "reconcile", agents=["a", "a", "b"])
    assert [c.n for c in models["a"].calls] == [2]
    assert outcome.answer == "4"


async def test_plain_text_replies_fall_back_to_text_parsing() -> None:
    ctx, _ = table(
        {
            "a": "Two and two make 4.\nConfidence: 95%\nAnswer: 4",
            "b": "I say 5\nconfidence 0.5\n5",
        }
    )
    outcome, _ = await run(ctx, "reconcile", agents=["a", "b"], rounds=1, extract="last_number")
    first = outcome.details["rounds"][0]
    assert first["answers"] == ["4", "5"]
    assert first["confidences"] == [pytest.approx(0.95), pytest.approx(0.5)]
    assert outcome.answer == "4"


async def test_no_readable_answer_at_all_is_a_model_output_error() -> None:
    ctx, _ = table({"a": "", "b": "   "})
    with pytest.raises(ModelOutputError, match="none of the agents"):
        await run(ctx, "reconcile", agents=["a", "b"], rounds=2)


async def test_token_budget_stops_the_round_table_with_an_answer() -> None:
    ctx, models = table(
        {"a": stance("4", 0.9), "b": stance("5", 0.6)}, budgets=Budgets(max_tokens=10)
    )
    outcome, _ = await run(ctx, "reconcile", agents=["a", "b"], rounds=3)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "4"
    assert outcome.details["rounds_run"] == 1
    assert all(len(m.calls) <= 1 for m in models.values())


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"agents": ["a"]}, "agents"),
        ({}, "agents"),
        ({"agents": ["a", "b"], "rounds": 0}, "rounds"),
        ({"agents": ["a", "b"], "extract": "regex"}, "pattern"),
    ],
)
def test_bad_reconcile_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(RECONCILE, raw, where="node 'reconcile'")
    assert named in str(info.value)


async def test_unknown_round_table_agent_is_named() -> None:
    ctx, _ = table({"a": stance("4", 0.9)})
    with pytest.raises(ConfigError, match="agents: agent 'ghost' is not defined"):
        await run(ctx, "reconcile", agents=["a", "ghost"])


async def test_the_debate_and_reconcile_ops_write_answer_report_and_costs() -> None:
    ctx, log = make_context(ScriptedModel(lambda r, i: stance("4", 0.9)))
    for name, params in (("debate", {"agents": 2}), ("reconcile", {"agents": ["solver"] * 2})):
        update = await builtin_ops().get(name)(
            ctx, NodeSpec(op=name, params=params), {"question": "2+2?"}
        )
        assert "2+2?" in update["report"] and f"`{name}`" in update["report"]
        assert update["strategy"]["total_tokens"] > 0
    assert update["answer"] == "4"
    assert log.of_type("tokens")
