"""The ``smoa`` operator (Sparse Mixture-of-Agents) on a scripted model."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from agents.strategies.smoa_selection import ROLES
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, make_context

SMOA = STRATEGIES["smoa"]
QUESTION = [ChatMessage(role="user", content="Name a prime number.")]
_REF = re.compile(r"Response \d+:\n(\S+)")


def system_of(request: GenerateRequest) -> str:
    return next((m.content for m in request.messages if m.role == "system"), "")


def kind(request: GenerateRequest) -> str:
    props = (request.json_schema or {}).get("properties", {})
    if "selected" in props:
        return "judge"
    if "stop" in props:
        return "moderator"
    if "synthesize" in system_of(request) and not any(r in system_of(request) for r in ROLES):
        return "aggregator"
    return "proposer"


class Script:
    """Proposers answer P<layer>.<role>; the judge picks ``picks``; the moderator ``stops``."""

    def __init__(self, picks: str = '{"selected": [2, 4]}', stops: bool = False) -> None:
        self.picks = picks
        self.stops = stops
        self.references: list[list[str]] = []

    def __call__(self, request: GenerateRequest, index: int) -> str:
        role = kind(request)
        if role == "judge":
            return self.picks
        if role == "moderator":
            return json.dumps({"stop": self.stops, "reason": "x"})
        refs = _REF.findall(system_of(request))
        if role == "aggregator":
            return "final from " + ",".join(refs)
        self.references.append(refs)
        layer = 1 + max((int(r[1]) for r in refs), default=0)
        seat = next((i for i, r in enumerate(ROLES) if r in system_of(request)), index)
        return f"P{layer}.{seat}"


async def run(ctx: RunContext, **raw: Any) -> tuple[StrategyOutcome, Branches]:
    branches = Branches(ctx, AgentSpec())
    params = parse_params(SMOA, raw, where="test")
    return await SMOA.run(branches, params, QUESTION), branches


async def test_only_the_selected_responses_reach_the_next_layer_and_the_aggregator() -> None:
    script = Script()
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, branches = await run(ctx, layers=3, width=4, select=2, early_stop=False)
    # Layer 1 sees nothing; layers 2 and 3 see the judge's picks 2 and 4 of the layer before.
    assert script.references[:4] == [[]] * 4
    assert all(refs == ["P1.1", "P1.3"] for refs in script.references[4:8])
    assert all(refs == ["P2.1", "P2.3"] for refs in script.references[8:12])
    assert outcome.answer == "final from P3.1,P3.3"
    assert outcome.details["layers_run"] == 3 and not outcome.details["stopped_early"]
    assert [layer["selected"] for layer in outcome.details["layers"]] == [[2, 4]] * 3
    # 12 proposers, 3 judges, 1 aggregator; roles make every proposer prompt differ.
    assert len(model.calls) == 16
    assert len({system_of(r) for r in model.calls if kind(r) == "proposer"}) == 12
    assert branches.usage.total_tokens == ctx.budget.usage.total_tokens > 0


async def test_a_layers_proposers_and_then_its_judge_and_moderator_run_concurrently() -> None:
    proposers = Rendezvous(4)
    ctx, _ = make_context(
        Gated(ScriptedModel(Script()), proposers, lambda r: kind(r) == "proposer")
    )
    await asyncio.wait_for(run(ctx, layers=2, width=4), timeout=30)
    assert proposers.groups == 2

    pair = Rendezvous(2)
    ctx, _ = make_context(
        Gated(
            ScriptedModel(Script()),
            pair,
            # After layer 1; the last layer's judge has no moderator beside it.
            lambda r: kind(r) in ("judge", "moderator") and pair.groups == 0,
        )
    )
    outcome, _ = await asyncio.wait_for(run(ctx, layers=2, width=4), timeout=30)
    assert pair.groups == 1
    assert outcome.details["layers"][0]["moderator_stop"] is False


async def test_the_moderator_stops_the_layers_early() -> None:
    model = ScriptedModel(Script(stops=True))
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, layers=4, width=3, select=1)
    assert outcome.details["layers_run"] == 1 and outcome.details["stopped_early"] is True
    assert outcome.answer == "final from P1.1"


async def test_an_unreadable_selection_forwards_the_first_responses() -> None:
    script = Script(picks="I like them all")
    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, layers=2, width=3, select=2, early_stop=False)
    assert outcome.details["layers"][0]["selected"] == [1, 2]
    assert outcome.details["layers"][0]["judge_read"] is False
    assert script.references[3] == ["P1.0", "P1.1"]


async def test_final_select_answers_with_the_judges_top_pick() -> None:
    model = ScriptedModel(Script(picks='{"selected": [3]}'))
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, layers=1, width=3, select=1, final="select")
    assert outcome.answer == "P1.2"
    assert not any(kind(r) == "aggregator" for r in model.calls)


async def test_without_roles_one_agents_proposers_share_one_request() -> None:
    model = ScriptedModel(Script())
    ctx, _ = make_context(model)
    await run(ctx, layers=1, width=4, select=2, roles=False)
    assert [r.n for r in model.calls if kind(r) == "proposer"] == [4]


async def test_proposer_agents_keep_their_own_system_prompts() -> None:
    agents = {
        "solver": AgentSpec(),
        "a": AgentSpec(system="You are agent A."),
        "b": AgentSpec(system="You are agent B."),
    }
    seen: list[str] = []

    def reply(request: GenerateRequest, index: int) -> str:
        if kind(request) == "proposer":
            seen.append(system_of(request).split("\n")[0])
        return Script()(request, index)

    ctx, _ = make_context(ScriptedModel(reply), graph=graph_with(agents))
    await run(ctx, layers=1, proposers=["a", "b", "solver"], select=1)
    assert sorted(seen) == sorted(["You are agent A.", "You are agent B.", ROLES[2]])


async def test_a_budget_stop_answers_with_the_last_forwarded_response() -> None:
    def reply(request: GenerateRequest, index: int) -> str:
        text = Script()(request, index)
        return text + " long" * 200 if text.startswith("P2") else text

    ctx, _ = make_context(ScriptedModel(reply), budgets=Budgets(max_tokens=1200))
    outcome, _ = await run(ctx, layers=3, width=4, select=2, early_stop=False)
    assert outcome.stopped_by == "max_tokens"
    # The budget ran out during layer 2: the answer is layer 1's top forwarded response.
    assert outcome.details["layers_run"] == 2
    assert outcome.details["layers"][1]["responses"] < 4
    assert outcome.answer == "P1.1" and outcome.candidates == ["P1.1", "P1.3"]


async def test_proposers_compose_with_an_inner_strategy() -> None:
    model = ScriptedModel(Script())
    ctx, _ = make_context(model)
    await run(ctx, layers=1, width=2, select=1, inner={"op": "vote", "params": {"n": 3}})
    assert sorted(r.n for r in model.calls if kind(r) == "proposer") == [3, 3]


def test_bad_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="select"):
        parse_params(SMOA, {"width": 3, "select": 3}, where="test")
    with pytest.raises(ConfigError, match="only used with early_stop"):
        parse_params(SMOA, {"early_stop": False, "moderator": "x"}, where="test")
    with pytest.raises(ConfigError, match="not both"):
        parse_params(SMOA, {"proposers": ["a", "b"], "width": 2}, where="test")
    with pytest.raises(ConfigError, match="layers"):
        parse_params(SMOA, {"layers": 0}, where="test")
    parse_params(SMOA, {"width": 3, "select": 2}, where="test")
