"""The ``mcts`` operator on scripted models."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.operators.mcts import read_node_value
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context

MCTS = STRATEGIES["mcts"]
QUESTION = [ChatMessage(role="user", content="Make 24 from 4 4 6 8.")]
STEP = re.compile(r"step (\d+) of")


def search_script(values: dict[str, str]) -> Callable[[GenerateRequest, int], str]:
    """Proposals are 'good-<d>-<i>' / 'bad-<d>-<i>' (alternating); the evaluator labels a
    partial solution by its last step's kind (values maps 'good'/'bad' to a label)."""
    counter = itertools.count()

    def script(request: GenerateRequest, index: int) -> str:
        prompt = last_user(request)
        if request.json_schema is not None:
            last = prompt.split("Partial solution:\n", 1)[1].split("\n\nEvaluate", 1)[0]
            kind = "good" if last.splitlines()[-1].split(": ", 1)[1].startswith("good") else "bad"
            return json.dumps({"reason": "r", "value": values[kind]})
        step = STEP.search(prompt)
        if step is not None:
            kind = "good" if index % 2 == 0 else "bad"
            return f"{kind}-{step.group(1)}-{next(counter)}"
        return "The answer is 24."

    return script


async def run(
    model: ScriptedModel | Gated, budgets: Budgets | None = None, **raw: object
) -> tuple[StrategyOutcome, ScriptedModel | Gated]:
    graph = graph_with({"solver": AgentSpec(), "critic": AgentSpec()})
    ctx, _ = make_context(model, budgets=budgets, graph=graph)  # type: ignore[arg-type]
    params = parse_params(MCTS, raw, where="test")
    return await MCTS.run(Branches(ctx, AgentSpec()), params, QUESTION), model


async def test_the_search_follows_the_steps_valued_sure() -> None:
    model = ScriptedModel(search_script({"good": "sure", "bad": "impossible"}))
    outcome, _ = await run(model, iterations=6, parallel=1, k=2, depth=2, max_nodes=40)
    assert outcome.answer == "The answer is 24."
    assert all(step.startswith("good") for step in outcome.details["best_path"])
    assert len(outcome.details["best_path"]) == 2
    proposals = [c for c in model.calls if c.json_schema is None and STEP.search(last_user(c))]
    assert all(c.n == 2 for c in proposals)
    final = model.calls[-1]
    assert "Reasoning steps:" in last_user(final) and "good-2" in last_user(final)


async def test_rollouts_of_one_iteration_run_in_parallel_under_virtual_loss() -> None:
    # After the root's expansion (iteration 1), iteration 2 selects both children at once:
    # their two step-2 proposals meet at the rendezvous.
    rendezvous = Rendezvous(2)
    scripted = ScriptedModel(search_script({"good": "likely", "bad": "likely"}))

    def step_two(request: GenerateRequest) -> bool:
        return request.json_schema is None and "(step 2 of" in last_user(request)

    model = Gated(scripted, rendezvous, step_two)
    outcome, _ = await run(model, iterations=2, parallel=2, k=2, depth=3)
    assert rendezvous.groups == 1
    assert outcome.details["rollouts"] == 3


async def test_the_children_of_an_expansion_are_valued_concurrently() -> None:
    rendezvous = Rendezvous(3)
    scripted = ScriptedModel(search_script({"good": "sure", "bad": "likely"}))
    model = Gated(scripted, rendezvous, lambda r: r.json_schema is not None)
    await run(model, iterations=1, parallel=1, k=3, depth=2)
    assert rendezvous.groups == 1


async def test_the_node_budget_caps_the_tree() -> None:
    model = ScriptedModel(search_script({"good": "sure", "bad": "likely"}))
    outcome, _ = await run(model, iterations=20, parallel=2, k=3, depth=4, max_nodes=6)
    assert outcome.details["nodes"] <= 6
    assert outcome.details["iterations"] < 20


async def test_score_evaluation_and_another_evaluator_agent() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is not None:
            good = "good" in last_user(request).rsplit("Step", 1)[-1]
            return json.dumps({"reason": "r", "score": 9 if good else 2})
        return search_script({})(request, index)

    model = ScriptedModel(script)
    outcome, _ = await run(
        model, iterations=4, parallel=1, k=2, depth=2, evaluate="score", evaluator="critic"
    )
    assert all(step.startswith("good") for step in outcome.details["best_path"])


async def test_inner_strategy_writes_the_final_answer() -> None:
    model = ScriptedModel(search_script({"good": "sure", "bad": "impossible"}))
    inner = {"op": "vote", "params": {"n": 3, "extract": "last_number"}}
    outcome, _ = await run(model, iterations=2, parallel=1, k=2, depth=1, inner=inner)
    assert outcome.answer == "24"
    assert model.calls[-1].n == 3


async def test_unreadable_values_count_as_dead_ends() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is not None:
            return "no idea"
        return search_script({})(request, index)

    model = ScriptedModel(script)
    outcome, _ = await run(model, iterations=2, parallel=1, k=2, depth=2)
    assert outcome.details["unreadable_evaluations"] >= 2


async def test_a_spent_budget_answers_with_the_best_steps_so_far() -> None:
    model = ScriptedModel(search_script({"good": "sure", "bad": "impossible"}))
    outcome, _ = await run(
        model, budgets=Budgets(max_tokens=250), iterations=30, parallel=1, k=2, depth=4
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer.startswith("Step 1: ")


async def test_no_usable_step_is_a_model_output_error() -> None:
    with pytest.raises(ModelOutputError, match="no usable step"):
        await run(ScriptedModel({"*": "  "}), iterations=2, k=2)


@pytest.mark.parametrize(
    ("text", "evaluate", "value"),
    [
        ('{"reason": "it is impossible", "value": "sure"}', "label", 1.0),
        ('{"value": "Likely "}', "label", 0.5),
        ('{"value": 3}', "label", None),
        ("this looks impossible", "label", 0.0),
        ('{"reason": "r", "score": 7}', "score", 0.7),
        ("nothing", "score", None),
    ],
)
def test_read_node_value(text: str, evaluate: str, value: float | None) -> None:
    assert read_node_value(text, evaluate) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"iterations": 0}, "iterations"),
        ({"parallel": 17}, "parallel"),
        ({"k": 0}, "k"),
        ({"max_nodes": 1}, "max_nodes"),
        ({"exploration": -1}, "exploration"),
        ({"evaluate": "vote"}, "evaluate"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(MCTS, raw, where="node 'mcts'")
    assert named in str(info.value)
