"""The ``probe`` operator (Parallel-Probe) on scripted models."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.operators.probe import PROBE_PROMPT
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from orchestrator.usage import TokenUsage
from tests.support import Gated, Rendezvous, last_user, make_context

PROBE = STRATEGIES["probe"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]
NAMES = "ABCDEFGH"


def own_text(request: GenerateRequest) -> str | None:
    return next((m.content for m in request.messages if m.role == "assistant"), None)


def branch_script(
    final: dict[str, str], probed: dict[str, str], words: int = 30
) -> Callable[[GenerateRequest, int], str]:
    """Branch X streams 'brX think ... answer F'; a probe of X answers probed[X]."""
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        own = own_text(request)
        if own is None:
            name = NAMES[next(counter)]
            return f"br{name} " + "think " * words + f"answer {final[name]}"
        name = own.split()[0].removeprefix("br")
        if last_user(request) == PROBE_PROMPT:
            return f"answer {probed[name]}"
        return "think " * words + f"answer {final[name]}"

    return script


async def run(
    model: ScriptedModel | Gated, budgets: Budgets | None = None, **raw: object
) -> StrategyOutcome:
    ctx, _ = make_context(model, budgets=budgets)  # type: ignore[arg-type]
    params = parse_params(PROBE, {"extract": "last_number", **raw}, where="test")
    return await PROBE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_a_stable_majority_stops_every_branch_early() -> None:
    model = ScriptedModel(branch_script(dict.fromkeys("ABC", "9"), dict.fromkeys("ABC", "4")))
    outcome = await run(model, n=3, interval=5, patience=2, max_probes=6)
    assert outcome.answer == "4"
    assert outcome.details["consensus"] is True
    assert outcome.details["probes"] == 2
    # Each branch wrote two segments of 5 tokens and was stopped there.
    assert outcome.details["branch_tokens"] == [10, 10, 10]
    assert outcome.details["matrix"] == [dict.fromkeys("123", "4")] * 2
    probes = [c for c in model.calls if last_user(c) == PROBE_PROMPT]
    assert len(probes) == 6
    assert all(c.max_tokens == 24 and c.temperature == 0.0 for c in probes)


async def test_branches_write_and_are_probed_concurrently() -> None:
    rendezvous = Rendezvous(3)
    scripted = ScriptedModel(branch_script(dict.fromkeys("ABC", "4"), dict.fromkeys("ABC", "4")))

    def first_segment_or_probe(request: GenerateRequest) -> bool:
        return own_text(request) is None or last_user(request) == PROBE_PROMPT

    model = Gated(scripted, rendezvous, first_segment_or_probe)
    outcome = await run(model, n=3, interval=4, patience=1)
    assert outcome.answer == "4"
    # Three first segments met, then three probes met: neither could complete one by one.
    assert rendezvous.groups == 2


async def test_a_deviating_branch_is_pruned_and_stops_writing() -> None:
    final = {"A": "4", "B": "4", "C": "7"}
    model = ScriptedModel(branch_script(final, {"A": "4", "B": "4", "C": "7"}))
    outcome = await run(
        model, n=3, interval=5, patience=9, warmup=0, deviation=1, min_branches=2, max_probes=2
    )
    assert outcome.details["pruned"] == [3]
    assert outcome.details["live"] == [1, 2]
    assert outcome.answer == "4"
    pruned_tokens = outcome.details["branch_tokens"][2]
    assert pruned_tokens == 5
    assert all(t > 5 for t in outcome.details["branch_tokens"][:2])


async def test_without_consensus_the_survivors_finish_and_vote() -> None:
    final = {"A": "4", "B": "4", "C": "5"}
    model = ScriptedModel(branch_script(final, {"A": "1", "B": "2", "C": "3"}))
    outcome = await run(model, n=3, interval=5, max_probes=2, prune=False)
    assert outcome.details["consensus"] is False
    assert outcome.details["probes"] == 2
    assert outcome.answer == "4"
    assert outcome.details["counts"] == {"4": 2, "5": 1}


async def test_branches_that_finish_first_answer_without_a_probe() -> None:
    model = ScriptedModel(branch_script(dict.fromkeys("ABC", "6"), {}, words=2))
    outcome = await run(model, n=3, interval=50, patience=1)
    assert outcome.answer == "6"
    assert not any(last_user(c) == PROBE_PROMPT for c in model.calls)


async def test_a_spent_budget_answers_from_the_latest_probes() -> None:
    final = dict.fromkeys("ABCD", "9")
    model = ScriptedModel(branch_script(final, {"A": "4", "B": "4", "C": "5", "D": "4"}))
    outcome = await run(
        model, budgets=Budgets(max_tokens=110), n=4, interval=5, patience=5, prune=False
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "4"


async def test_a_budget_spent_before_anything_is_raised() -> None:
    model = ScriptedModel(branch_script(dict.fromkeys("AB", "9"), {}))
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=1))
    ctx.budget.record(TokenUsage(prompt_tokens=5, completion_tokens=5))
    params = parse_params(PROBE, {"n": 2}, where="test")
    with pytest.raises(BudgetExceeded, match="max_tokens"):
        await PROBE.run(Branches(ctx, AgentSpec()), params, QUESTION)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"n": 1}, "n"),
        ({"n": 2, "min_branches": 3}, "min_branches"),
        ({"interval": 0}, "interval"),
        ({"extract": "regex"}, "pattern"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(PROBE, raw, where="node 'probe'")
    assert named in str(info.value)


async def test_probe_composes_as_the_inner_strategy_of_another_operator() -> None:
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        if last_user(request) == PROBE_PROMPT:
            return "answer 4"
        if own_text(request) is not None:
            return "think " * 10 + "answer 4"
        return f"br{next(counter)} " + "think " * 10 + "answer 4"

    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    debate = STRATEGIES["debate"]
    inner = {
        "op": "probe",
        "params": {"n": 2, "interval": 3, "patience": 1, "extract": "last_number"},
    }
    params = parse_params(debate, {"agents": 2, "rounds": 1, "inner": inner}, where="test")
    outcome = await debate.run(Branches(ctx, AgentSpec()), params, QUESTION)
    assert outcome.answer == "4"
    # Each of the two debaters ran a probe of two streamed branches, each probed once.
    assert sum(last_user(c) == PROBE_PROMPT for c in model.calls) == 4
