"""The ``cumulative`` operator (Cumulative Reasoning) on scripted models."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context

CUMULATIVE = STRATEGIES["cumulative"]
QUESTION = [ChatMessage(role="user", content="Is every A a C?")]


def role(request: GenerateRequest) -> str:
    props = (request.json_schema or {}).get("properties", {})
    if "proposition" in props:
        return "propose"
    if "valid" in props:
        return "verify"
    if "ready" in props:
        return "report"
    return "answer"


def cr_script(
    proposals: list[list[str]],
    valid: Callable[[str], bool],
    ready_after: int,
    answer: str = "yes",
) -> Callable[[GenerateRequest, int], str]:
    """Round r proposes proposals[r]; the verifier accepts what ``valid`` says; the
    reporter is ready once ``ready_after`` propositions are verified."""
    rounds = itertools.count()
    batch: list[str] = []

    def script(request: GenerateRequest, index: int) -> str:
        kind = role(request)
        prompt = last_user(request)
        if kind == "propose":
            if index == 0:
                batch[:] = proposals[min(next(rounds), len(proposals) - 1)]
            return json.dumps({"proposition": batch[index % len(batch)], "from": [0]})
        if kind == "verify":
            checked = prompt.rsplit("New proposition: ", 1)[1]
            return json.dumps({"reason": "checked", "valid": valid(checked)})
        if kind == "report":
            verified = prompt.count("(from ")
            ready = verified >= ready_after
            return json.dumps({"reason": "r", "ready": ready, "answer": answer if ready else ""})
        return f"final from propositions: {answer}"

    return script


async def run(
    model: ScriptedModel | Gated, budgets: Budgets | None = None, **raw: object
) -> StrategyOutcome:
    graph = graph_with({"solver": AgentSpec(), "checker": AgentSpec()})
    ctx, _ = make_context(model, budgets=budgets, graph=graph)  # type: ignore[arg-type]
    params = parse_params(CUMULATIVE, raw, where="test")
    return await CUMULATIVE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_verified_propositions_accumulate_until_the_reporter_answers() -> None:
    proposals = [["All A are B.", "Some A is not C."], ["All B are C.", "All A are C."]]
    model = ScriptedModel(cr_script(proposals, lambda p: "not" not in p, ready_after=3))
    outcome = await run(model, proposals=2, rounds=4)
    assert outcome.answer == "yes"
    assert outcome.details["rounds"] == [
        {"proposed": 2, "accepted": 1, "ready": False},
        {"proposed": 2, "accepted": 2, "ready": True},
    ]
    assert outcome.candidates == ["All A are B.", "All B are C.", "All A are C."]
    assert outcome.details["rejected"] == 1
    # The rejected proposition is shown to later proposers so they do not repeat it.
    second = [c for c in model.calls if role(c) == "propose"][1]
    assert "Some A is not C." in last_user(second)
    assert all(c.n == 2 for c in model.calls if role(c) == "propose")


async def test_every_proposal_of_a_round_is_verified_concurrently() -> None:
    rendezvous = Rendezvous(3)
    scripted = ScriptedModel(cr_script([["p1", "p2", "p3"]], lambda _: True, ready_after=1))
    model = Gated(scripted, rendezvous, lambda r: role(r) == "verify")
    outcome = await run(model, proposals=3, rounds=1)
    assert rendezvous.groups == 1
    assert len(outcome.candidates) == 3


async def test_verifier_votes_need_a_strict_majority() -> None:
    votes = itertools.cycle([True, False, True])

    def script(request: GenerateRequest, index: int) -> str:
        if role(request) == "verify":
            return json.dumps({"reason": "v", "valid": next(votes)})
        return cr_script([["p1"]], lambda _: True, ready_after=1)(request, index)

    model = ScriptedModel(script)
    outcome = await run(model, proposals=1, votes=3, rounds=1)
    assert outcome.candidates == ["p1"]
    verify = [c for c in model.calls if role(c) == "verify"]
    assert [c.n for c in verify] == [3]


async def test_without_a_ready_reporter_the_last_prompt_answers() -> None:
    model = ScriptedModel(cr_script([["p1"], ["p2"]], lambda _: True, ready_after=99))
    outcome = await run(model, proposals=1, rounds=2)
    assert outcome.answer == "final from propositions: yes"
    final = model.calls[-1]
    assert role(final) == "answer" and "p1" in last_user(final) and "p2" in last_user(final)


async def test_inner_strategy_writes_the_final_answer() -> None:
    model = ScriptedModel(cr_script([["p1"]], lambda _: True, ready_after=1))
    inner = {"op": "vote", "params": {"n": 3, "extract": "last_line"}}
    outcome = await run(model, proposals=1, rounds=1, inner=inner)
    assert outcome.answer == "final from propositions: yes"
    assert model.calls[-1].n == 3


async def test_duplicates_and_known_propositions_are_not_verified_again() -> None:
    proposals = [["same", "Same"], ["same", "new"]]
    model = ScriptedModel(cr_script(proposals, lambda _: True, ready_after=2))
    outcome = await run(model, proposals=2, rounds=3)
    assert outcome.candidates == ["same", "new"]
    assert sum(role(c) == "verify" for c in model.calls) == 2


async def test_the_dag_stops_growing_at_max_propositions() -> None:
    model = ScriptedModel(cr_script([["a", "b", "c"]], lambda _: True, ready_after=99))
    outcome = await run(model, proposals=3, rounds=5, max_propositions=2)
    assert outcome.candidates == ["a", "b"]
    assert outcome.details["rounds_run"] == 1


async def test_verifier_and_reporter_may_be_other_agents() -> None:
    models = {"default": ScriptedModel(cr_script([["p1"]], lambda _: True, ready_after=1))}
    outcome = await run(models["default"], proposals=1, verifier="checker", reporter="checker")
    assert outcome.answer == "yes"
    with pytest.raises(ConfigError, match="'nobody' is not defined"):
        await run(models["default"], reporter="nobody")


async def test_a_spent_budget_answers_with_the_newest_verified_proposition() -> None:
    model = ScriptedModel(cr_script([["p1"], ["p2"]], lambda _: True, ready_after=99))
    outcome = await run(model, budgets=Budgets(max_tokens=150), proposals=1, rounds=5)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer in outcome.candidates


async def test_nothing_verified_and_no_answer_is_a_model_output_error() -> None:
    def script(request: GenerateRequest, _: int) -> str:
        return '{"nothing": 1}' if role(request) == "propose" else ""

    with pytest.raises(ModelOutputError, match="no proposition was verified"):
        await run(ScriptedModel(script), proposals=1, rounds=1)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"proposals": 0}, "proposals"),
        ({"votes": 10}, "votes"),
        ({"rounds": 0}, "rounds"),
        ({"max_propositions": 0}, "max_propositions"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(CUMULATIVE, raw, where="node 'cumulative'")
    assert named in str(info.value)
