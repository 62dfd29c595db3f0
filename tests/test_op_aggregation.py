"""The ``aggregate`` (recursive self-aggregation) and ``moa`` (Mixture-of-Agents) operators."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context

AGGREGATE = STRATEGIES["aggregate"]
MOA = STRATEGIES["moa"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]
CANDIDATE = re.compile(r"Candidate \d+:\n(\S+)")


def system_of(request: GenerateRequest) -> str:
    return "\n".join(m.content for m in request.messages if m.role == "system")


async def run(ctx: RunContext, name: str, **raw: Any) -> tuple[StrategyOutcome, Branches]:
    defn = STRATEGIES[name]
    branches = Branches(ctx, AgentSpec())
    params = parse_params(defn, raw, where="test")
    return await defn.run(branches, params, QUESTION), branches


def rsa_script() -> Callable[[GenerateRequest, int], str]:
    """Population members are ``cand-i``; an aggregation names the candidates it merged."""
    fresh = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        seen = CANDIDATE.findall(last_user(request))
        if seen:
            return "merged(" + "+".join(seen) + f")#{next(fresh)}"
        return f"cand-{next(fresh)}"

    return script


async def test_plain_aggregation_merges_one_shared_request_of_candidates() -> None:
    model = ScriptedModel(rsa_script())
    ctx, _ = make_context(model)
    outcome, branches = await run(ctx, "aggregate", population=4)
    assert [c.n for c in model.calls] == [4, 1]
    assert outcome.candidates == ["cand-0", "cand-1", "cand-2", "cand-3"]
    assert outcome.answer == "merged(cand-0+cand-1+cand-2+cand-3)#4"
    assert outcome.details["mode"] == "aggregate" and outcome.details["rounds_run"] == 0
    assert branches.samples == 5
    assert ctx.budget.usage.total_tokens == branches.usage.total_tokens > 0


async def test_rsa_rounds_aggregate_random_subsets_concurrently() -> None:
    population, subset, rounds = 4, 2, 3
    rendezvous = Rendezvous(population)
    scripted = ScriptedModel(rsa_script())
    # Aggregations of a round show k candidates; the final one shows the whole population.
    model = Gated(scripted, rendezvous, lambda r: len(CANDIDATE.findall(last_user(r))) == subset)
    ctx, _ = make_context(model)
    outcome, _ = await run(
        ctx, "aggregate", population=population, subset=subset, rounds=rounds, seed=7
    )
    assert rendezvous.groups == rounds
    subsets = outcome.details["subsets"]
    assert len(subsets) == rounds
    assert all(len(drawn) == population for drawn in subsets)
    assert all(len(set(s)) == subset for drawn in subsets for s in drawn)
    calls = scripted.calls
    assert [c.n for c in calls] == [population] + [1] * (population * rounds + 1)
    # Round one's aggregations merged exactly the drawn subsets of the first population.
    first = [f"cand-{i}" for i in range(population)]
    merged = sorted(sorted(CANDIDATE.findall(last_user(c))) for c in calls[1 : 1 + population])
    assert merged == sorted(sorted(first[i] for i in s) for s in subsets[0])
    # Round two aggregates round one's outputs, not the first population.
    assert all("merged(" in last_user(c) for c in calls[1 + population : 1 + 2 * population])
    assert outcome.details["rounds_run"] == rounds
    assert outcome.answer.startswith("merged(merged(merged(")
    assert len(outcome.candidates) == population


async def test_the_seed_fixes_the_subsets() -> None:
    async def subsets(seed: int) -> list[list[list[int]]]:
        ctx, _ = make_context(ScriptedModel(rsa_script()))
        outcome, _ = await run(ctx, "aggregate", population=5, subset=3, rounds=2, seed=seed)
        return cast(list[list[list[int]]], outcome.details["subsets"])

    assert await subsets(1) == await subsets(1)
    assert await subsets(1) != await subsets(2)


async def test_final_vote_counts_the_last_population_without_a_final_aggregation() -> None:
    answers = itertools.cycle(["so 4", "so 4", "so 5"])
    model = ScriptedModel(lambda r, i: next(answers))
    ctx, _ = make_context(model)
    outcome, _ = await run(
        ctx, "aggregate", population=3, subset=2, rounds=1, final="vote", extract="last_number"
    )
    assert outcome.answer == "4"
    assert outcome.details["counts"] == {"4": 2, "5": 1}
    assert len(model.calls) == 1 + 3


async def test_aggregator_agent_on_another_model() -> None:
    solver = ScriptedModel(lambda r, i: f"draft {i}")
    merger = ScriptedModel(lambda r, i: "merged by the big model")
    graph = graph_with(
        agents={"merger": AgentSpec(model="big")}, models={"big": ModelSpec(max_tokens=64)}
    )
    ctx, _ = make_context({"default": solver, "big": merger}, graph=graph)
    outcome, _ = await run(ctx, "aggregate", population=2, aggregator="merger")
    assert outcome.answer == "merged by the big model"
    assert len(solver.calls) == 1 and len(merger.calls) == 1
    assert "draft 0" in last_user(merger.calls[0]) and "draft 1" in last_user(merger.calls[0])


async def test_token_budget_stops_rsa_with_an_answer() -> None:
    model = ScriptedModel(lambda r, i: "the answer is 4 " * 10)
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=50))
    outcome, _ = await run(
        ctx, "aggregate", population=4, subset=2, rounds=3, extract="last_number"
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "4"
    assert outcome.details["rounds_run"] == 0 and outcome.details["final"] == "vote"
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"population": 0}, "population"),
        ({"rounds": 2, "population": 3, "subset": 4}, "subset"),
        ({"rounds": 17}, "rounds"),
        ({"final": "judge"}, "final"),
        ({"extract": "regex"}, "pattern"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_aggregate_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(AGGREGATE, raw, where="node 'aggregate'")
    assert named in str(info.value)
    assert "Valid params" in str(info.value)


async def test_unknown_aggregator_lists_the_defined_agents() -> None:
    model = ScriptedModel(lambda r, i: "4")
    ctx, _ = make_context(model)
    with pytest.raises(ConfigError, match=r"'nobody' is not defined.*solver"):
        await run(ctx, "aggregate", aggregator="nobody")
    assert model.calls == []


def layered_script(request: GenerateRequest, index: int) -> str:
    """A proposer's reply names its layer: one past the latest layer it saw."""
    seen = [int(layer) for layer in re.findall(r"L(\d+)-", system_of(request))]
    return f"L{max(seen, default=0) + 1}-{index}"


async def test_moa_layers_see_the_previous_layers_outputs() -> None:
    model = ScriptedModel(layered_script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, "moa", layers=3, width=2)
    calls = model.calls
    assert [c.n for c in calls] == [2, 2, 2, 1]
    assert system_of(calls[0]) == ""
    assert "L1-0" in system_of(calls[1]) and "L1-1" in system_of(calls[1])
    assert "L2-0" in system_of(calls[2]) and "L1-" not in system_of(calls[2])
    assert "L3-0" in system_of(calls[3]) and "L3-1" in system_of(calls[3])
    assert outcome.answer == "L4-0"
    assert outcome.candidates == ["L3-0", "L3-1"]
    assert outcome.details["references_per_layer"] == [0, 2, 2]


async def test_moa_proposers_on_different_models_run_concurrently() -> None:
    rendezvous = Rendezvous(2)
    small = ScriptedModel(lambda r, i: f"small-{i}")
    big = ScriptedModel(lambda r, i: "big")

    def first_layer(request: GenerateRequest) -> bool:
        return system_of(request) == ""

    graph = graph_with(
        agents={"a": AgentSpec(), "b": AgentSpec(model="big"), "boss": AgentSpec(model="big")},
        models={"big": ModelSpec()},
    )
    models: Mapping[str, Any] = {
        "default": Gated(small, rendezvous, first_layer),
        "big": Gated(big, rendezvous, first_layer),
    }
    ctx, _ = make_context(models, graph=graph)
    outcome, _ = await run(ctx, "moa", layers=1, proposers=["a", "b", "a"], aggregator="boss")
    assert rendezvous.groups == 1
    assert [c.n for c in small.calls] == [2]
    assert [c.n for c in big.calls] == [1, 1]
    final = system_of(big.calls[1])
    assert final.index("small-0") < final.index("big") < final.index("small-1")
    assert outcome.candidates == ["small-0", "big", "small-1"]
    assert outcome.answer == "big"


async def test_moa_proposers_keep_their_own_system_prompt_beside_the_references() -> None:
    model = ScriptedModel(layered_script)
    graph = graph_with(agents={"plain": AgentSpec(), "critic": AgentSpec(system="Be critical.")})
    ctx, _ = make_context(model, graph=graph)
    await run(ctx, "moa", layers=2, proposers=["plain", "critic"])
    systems = [system_of(c) for c in model.calls]
    assert systems[:2] == ["", "Be critical."]
    assert systems[3].startswith("Be critical.") and "L1-0" in systems[3]
    assert "Be critical." not in systems[2] and "L1-0" in systems[2]


async def test_moa_budget_stop_answers_with_the_last_full_layer() -> None:
    model = ScriptedModel(layered_script)
    ctx, _ = make_context(model, budgets=Budgets(max_tokens=5))
    outcome, _ = await run(ctx, "moa", layers=3, width=2)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "L1-0"
    assert outcome.details["layers_run"] == 1 and outcome.details["aggregated"] is False


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"layers": 0}, "layers"),
        ({"proposers": []}, "proposers"),
        ({"proposers": ["a"], "width": 2}, "width"),
        ({"width": 17}, "width"),
    ],
)
def test_bad_moa_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(MOA, raw, where="node 'moa'")
    assert named in str(info.value)


async def test_unknown_proposer_is_named() -> None:
    ctx, _ = make_context(ScriptedModel(lambda r, i: "x"))
    with pytest.raises(ConfigError, match="proposers: agent 'ghost' is not defined"):
        await run(ctx, "moa", proposers=["solver", "ghost"])


@pytest.mark.parametrize(
    ("name", "params"),
    [("aggregate", {"population": 3, "rounds": 1, "subset": 2}), ("moa", {"layers": 2})],
)
async def test_the_ops_write_answer_report_and_costs(name: str, params: dict[str, Any]) -> None:
    ctx, log = make_context(ScriptedModel(lambda r, i: f"reply {i}"))
    update = await builtin_ops().get(name)(
        ctx, NodeSpec(op=name, params=params), {"question": "2+2?"}
    )
    assert update["answer"] == "reply 0"
    assert "2+2?" in update["report"] and f"`{name}`" in update["report"]
    assert update["strategy"]["total_tokens"] == ctx.budget.usage.total_tokens > 0
    assert log.of_type("tokens")
