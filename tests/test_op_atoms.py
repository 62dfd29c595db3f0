"""The ``atoms`` operator (Atom of Thoughts) on a scripted model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest, StreamChunk
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, last_user, make_context

ATOMS = STRATEGIES["atoms"]
QUESTION = "Ann has 2 apples and gets 3 more. How many apples? Answer with a number."
MESSAGES = [ChatMessage(role="user", content=QUESTION)]


def decomposition(*items: tuple[str, list[int]]) -> str:
    return json.dumps({"subquestions": [{"question": q, "depends_on": d} for q, d in items]})


TWO_FREE_ONE_BOUND = decomposition(
    ("How many apples at first?", []), ("How many more?", []), ("What is the sum?", [1, 2])
)


class Script:
    """Replies by what a request asks; records the last user message of each request."""

    def __init__(
        self,
        decompositions: list[str],
        *,
        direct: str = "5",
        final: str = "5",
        choice: int = 2,
    ) -> None:
        self.decompositions = list(decompositions)
        self.direct = direct
        self.final = final
        self.choice = choice
        self.asked: list[str] = []

    def __call__(self, request: GenerateRequest, index: int) -> str:
        last = last_user(request)
        self.asked.append(last)
        schema = request.json_schema or {}
        if "subquestions" in schema.get("properties", {}):
            return self.decompositions.pop(0) if self.decompositions else decomposition()
        if "choice" in schema.get("properties", {}):
            return json.dumps({"choice": self.choice, "reason": "checked"})
        if "Answer only this sub-question" in last:
            return "2" if "first" in last else "3"
        if "Rewrite the problem" in last:
            return "Question: What is 2 + 3?"
        if last == QUESTION:
            return self.direct
        return self.final


async def run(ctx: RunContext, **raw: Any) -> tuple[StrategyOutcome, Branches]:
    branches = Branches(ctx, AgentSpec())
    params = parse_params(ATOMS, raw, where="test")
    return await ATOMS.run(branches, params, MESSAGES), branches


async def test_free_atoms_are_solved_then_the_question_is_contracted_and_answered() -> None:
    script = Script([TWO_FREE_ONE_BOUND, decomposition(("What is 2 + 3?", []))])
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, branches = await run(ctx, ensemble=False, max_rounds=3)
    assert outcome.answer == "5"
    details = outcome.details
    first = details["rounds"][0]
    assert [a["answer"] for a in first["atoms"]] == ["2", "3", None]
    assert first["atoms"][2]["depends_on"] == [1, 2]
    assert first["contracted"] == "What is 2 + 3?"
    # The first DAG is two atoms deep: two rounds at most, the second found it atomic.
    assert details["round_limit"] == 2 and details["rounds_run"] == 2
    assert details["final_question"] == "What is 2 + 3?"
    assert script.asked[-1] == "What is 2 + 3?"  # Markov: the last state is the question
    assert details["chosen"] == "atoms" and details["direct_answer"] is None
    assert branches.usage.total_tokens == ctx.budget.usage.total_tokens > 0
    assert branches.samples == len(model.calls) == 6


async def test_the_round_limit_is_the_smaller_of_max_rounds_and_the_dag_depth() -> None:
    deep = decomposition(("a?", []), ("b?", [1]), ("c?", [2]))
    script = Script([deep, deep, deep, deep])
    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, ensemble=False, max_rounds=2)
    assert outcome.details["round_limit"] == 2 and outcome.details["rounds_run"] == 2
    script = Script([deep, deep, deep, deep])
    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, ensemble=False, max_rounds=6)
    assert outcome.details["round_limit"] == 3 and outcome.details["rounds_run"] == 3


async def test_an_atomic_question_is_answered_without_atoms() -> None:
    script = Script([decomposition((QUESTION, []))])
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, ensemble=False)
    assert outcome.details["rounds"][0]["atoms"][0]["answer"] is None
    assert "contracted" not in outcome.details["rounds"][0]
    assert len(model.calls) == 2 and outcome.answer == "5"


async def test_when_every_atom_is_free_one_round_solves_them_all() -> None:
    script = Script([decomposition(("first?", []), ("second?", []))])
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, ensemble=False, max_rounds=4)
    assert outcome.details["rounds_run"] == 1
    # decompose, 2 atoms, contract, final answer
    assert len(model.calls) == 5


async def test_free_atoms_are_solved_concurrently() -> None:
    script = Script([TWO_FREE_ONE_BOUND, decomposition(("x?", []))])
    rendezvous = Rendezvous(2)
    gated = Gated(
        ScriptedModel(script), rendezvous, lambda r: "Answer only this sub-question" in last_user(r)
    )
    ctx, _ = make_context(gated)
    outcome, _ = await asyncio.wait_for(run(ctx, ensemble=False), timeout=30)
    assert rendezvous.groups == 1
    assert outcome.answer == "5"


async def test_the_direct_answer_runs_concurrently_with_the_decomposition() -> None:
    script = Script([decomposition(("x?", []))])
    rendezvous = Rendezvous(2)

    def gate(request: GenerateRequest) -> bool:
        schema = request.json_schema or {}
        first = rendezvous.groups == 0
        return first and (
            last_user(request) == QUESTION or "subquestions" in schema.get("properties", {})
        )

    ctx, _ = make_context(Gated(ScriptedModel(script), rendezvous, gate))
    outcome, _ = await asyncio.wait_for(run(ctx), timeout=30)
    assert rendezvous.groups == 1
    assert outcome.details["direct_answer"] == "5"


async def test_differing_answers_go_to_the_judge_and_equal_ones_do_not() -> None:
    free = decomposition(("first?", []), ("second?", []))
    script = Script([free], direct="6", final="5", choice=1)
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, extract="last_number")
    assert outcome.answer == "6" and outcome.details["chosen"] == "direct"
    assert outcome.details["judged"] is True
    assert sum(1 for r in model.calls if r.json_schema and "choice" in str(r.json_schema)) == 1

    script = Script([free], direct="6", final="5", choice=2)
    ctx, _ = make_context(ScriptedModel(script))
    outcome, _ = await run(ctx, extract="last_number")
    assert outcome.answer == "5" and outcome.details["chosen"] == "atoms"

    script = Script([free], direct="It is 5", final="5")
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(ctx, extract="last_number")
    assert "judged" not in outcome.details
    assert not any(r.json_schema and "choice" in str(r.json_schema) for r in model.calls)


class DirectFirst:
    """A replica that holds the decomposition until the (long) direct answer is back."""

    def __init__(self, inner: ScriptedModel) -> None:
        self.name = inner.name
        self.inner = inner
        self.direct_done = asyncio.Event()

    async def generate(self, request: GenerateRequest) -> Completion:
        if last_user(request) == QUESTION:
            completion = await self.inner.generate(request)
            self.direct_done.set()
            return completion
        await asyncio.wait_for(self.direct_done.wait(), timeout=10)
        return await self.inner.generate(request)

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        return None


async def test_a_spent_budget_answers_with_what_finished() -> None:
    script = Script([TWO_FREE_ONE_BOUND])

    def reply(request: GenerateRequest, index: int) -> str:
        text = script(request, index)
        # The direct answer is long: it spends the budget before the rounds finish.
        return f"{text} " + "so " * 400 if last_user(request) == QUESTION else text

    ctx, _ = make_context(DirectFirst(ScriptedModel(reply)), budgets=Budgets(max_tokens=150))
    outcome, _ = await run(ctx)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.details["chosen"] == "direct"
    assert outcome.details["atomic_answer"] is None
    assert outcome.answer.startswith("5 so")


async def test_a_budget_spent_before_any_answer_raises() -> None:
    ctx, _ = make_context(ScriptedModel(Script([])), budgets=Budgets(max_tokens=1))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"prompt_tokens": 5})
    with pytest.raises(BudgetExceeded):
        await run(ctx)


async def test_atoms_and_the_last_question_compose_with_an_inner_strategy() -> None:
    script = Script([TWO_FREE_ONE_BOUND, decomposition(("x?", []))])
    model = ScriptedModel(script)
    ctx, _ = make_context(model)
    outcome, _ = await run(
        ctx, ensemble=False, inner={"op": "vote", "params": {"n": 3, "extract": "last_number"}}
    )
    assert outcome.answer == "5"
    # decompose, contract and the second decomposition: 1 sample each; two atoms and the
    # last question: 3 samples each (the second round found the question atomic).
    assert sorted(r.n for r in model.calls) == [1, 1, 1, 3, 3, 3]


def test_bad_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="max_atoms"):
        parse_params(ATOMS, {"max_atoms": 1}, where="test")
    with pytest.raises(ConfigError, match="only used with ensemble"):
        parse_params(ATOMS, {"ensemble": False, "judge": "solver"}, where="test")
    with pytest.raises(ConfigError, match="pattern"):
        parse_params(ATOMS, {"extract": "regex"}, where="test")
