"""The ``tree_search`` (Tree-of-Thoughts) and ``got`` (Graph-of-Thoughts) operators."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.errors import BudgetExceeded, ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import Script, ScriptedModel
from orchestrator.usage import TokenUsage
from tests.support import graph_with, make_context, within

TREE = STRATEGIES["tree_search"]
GOT = STRATEGIES["got"]
QUESTION = [ChatMessage(role="user", content="Use 4 4 6 8 to make 24.")]


class Handshake:
    """Parties that each announce themselves, then wait until all have: all in flight at once."""

    def __init__(self, parties: Iterable[str]) -> None:
        self.events = {party: asyncio.Event() for party in parties}

    async def meet(self, party: str) -> None:
        self.events[party].set()
        # Sequential calls would wait here forever; the timeout only turns that into a failure.
        await within(
            asyncio.gather(*(event.wait() for event in self.events.values())),
            f"{sorted(self.events)} all in flight together",
        )


class Gated(ScriptedModel):
    """A scripted model that awaits ``gate(request)`` before answering."""

    def __init__(self, script: Script, gate: Callable[[GenerateRequest], Awaitable[None]]) -> None:
        super().__init__(script)
        self.gate = gate

    async def generate(self, request: GenerateRequest) -> Completion:
        await self.gate(request)
        return await super().generate(request)


def last(request: GenerateRequest) -> str:
    return request.messages[-1].content


def kind(request: GenerateRequest) -> str:
    """Which ToT prompt a request is: propose, value, vote or answer."""
    schema = request.json_schema or {}
    props = schema.get("properties", {})
    if "value" in props or "score" in props:
        return "value"
    if "best" in props:
        return "vote"
    if "Reasoning steps:" in last(request):
        return "answer"
    return "propose"


def state_of(request: GenerateRequest) -> str:
    """The name of the state a propose or value request is about ('' for the root)."""
    found = re.search(r"(?:Steps so far|Partial solution):\n(.*?)\n\n", last(request), re.S)
    assert found is not None, last(request)
    steps = found.group(1)
    return "" if steps == "(none yet)" else steps.splitlines()[-1]


def label(word: str) -> str:
    return json.dumps({"reason": "checked", "value": word})


def tot_script(values: dict[str, str], answer: str = "the answer is 24") -> Script:
    """States are named by their path ('A', 'A1', ...); values maps a state to its label."""

    def script(request: GenerateRequest, index: int) -> str:
        what = kind(request)
        if what == "propose":
            parent = state_of(request)
            return "ABC"[index] if not parent else f"{parent}{index + 1}"
        if what == "value":
            return label(values.get(state_of(request), "impossible"))
        return answer

    return script


async def run(
    defn: Any,
    model: ScriptedModel,
    *,
    budgets: Budgets | None = None,
    agents: dict[str, AgentSpec] | None = None,
    **raw: Any,
) -> tuple[StrategyOutcome, Any]:
    graph = graph_with(agents=agents, budgets=budgets) if agents else None
    ctx, _ = make_context(model, graph=graph, budgets=budgets)
    params = parse_params(defn, raw, where="test")
    return await defn.run(Branches(ctx, AgentSpec()), params, QUESTION), ctx


# -- tree_search -------------------------------------------------------------------------


async def test_bfs_keeps_the_best_b_per_level_and_answers_from_the_best_leaf() -> None:
    values = {"A": "impossible", "B": "sure", "C": "likely", "B2": "sure", "C1": "likely"}
    model = ScriptedModel(tot_script(values))
    outcome, ctx = await run(TREE, model, k=3, beam=2, depth=2)
    proposed = [state_of(r) for r in model.calls if kind(r) == "propose"]
    # The root, then only the two kept states B and C: A was valued impossible.
    assert proposed[0] == "" and sorted(proposed[1:]) == ["B", "C"]
    assert all(r.n == 3 for r in model.calls if kind(r) == "propose")
    assert outcome.details["best_path"] == ["B", "B2"]
    assert outcome.details["best_score"] == 1.0
    kept = [[tree_id for tree_id, _ in level["kept"]] for level in outcome.details["levels"]]
    assert [len(level) for level in kept] == [2, 2]
    answer_prompt = last(next(r for r in model.calls if kind(r) == "answer"))
    assert "B\nB2" in answer_prompt
    assert outcome.answer == "the answer is 24"
    assert outcome.stopped_by is None
    assert ctx.budget.usage.total_tokens > 0


async def test_a_levels_expansions_and_evaluations_run_concurrently() -> None:
    level_one = Handshake(["A", "B", "C"])
    level_two = Handshake(["B", "C"])

    async def gate(request: GenerateRequest) -> None:
        if kind(request) == "value" and len(state_of(request)) == 1:
            await level_one.meet(state_of(request))
        elif kind(request) == "propose" and state_of(request):
            await level_two.meet(state_of(request))

    values = {"A": "impossible", "B": "sure", "C": "likely"}
    model = Gated(tot_script(values), gate)
    outcome, _ = await run(TREE, model, k=3, beam=2, depth=2)
    assert outcome.details["best_path"][0] == "B"


async def test_dfs_backtracks_from_a_branch_whose_leaves_are_all_low() -> None:
    # B looks best, but both its children are impossible: DFS backtracks to A.
    values = {"A": "likely", "B": "sure", "B1": "impossible", "B2": "impossible", "A2": "sure"}
    model = ScriptedModel(tot_script(values))
    outcome, _ = await run(TREE, model, k=2, depth=2, search="dfs", value_threshold=0.5)
    proposed = [state_of(r) for r in model.calls if kind(r) == "propose"]
    assert proposed == ["", "B", "A"]
    assert outcome.details["best_path"] == ["A", "A2"]
    assert outcome.details["backtracks"] == 1
    assert outcome.details["expansions"] == 3
    assert outcome.details["pruned"] == 3  # B1, B2 and A1
    assert outcome.answer == "the answer is 24"


async def test_dfs_never_expands_a_state_below_the_threshold() -> None:
    values = {"A": "impossible", "B": "likely", "B1": "sure"}
    model = ScriptedModel(tot_script(values))
    outcome, _ = await run(TREE, model, k=2, depth=2, search="dfs", value_threshold=0.4)
    assert [state_of(r) for r in model.calls if kind(r) == "propose"] == ["", "B"]
    assert outcome.details["best_path"] == ["B", "B1"]


async def test_vote_evaluation_sends_the_votes_as_one_request() -> None:
    def script(request: GenerateRequest, index: int) -> str:
        what = kind(request)
        if what == "propose":
            return ["x + y", "x * y", "x - y"][index]
        if what == "vote":
            assert "Choice 2:\nx * y" in last(request)
            # Two of three votes for choice 2, one unreadable vote.
            return ['{"reason": "r", "best": 2}', "The best choice is 2", "hmm"][index]
        return "24"

    model = ScriptedModel(script)
    outcome, _ = await run(TREE, model, k=3, beam=1, depth=1, evaluate="vote", votes=3)
    votes = [r for r in model.calls if kind(r) == "vote"]
    assert len(votes) == 1 and votes[0].n == 3
    assert outcome.details["best_path"] == ["x * y"]
    assert outcome.details["best_score"] == 1.0
    assert outcome.details["unreadable_evaluations"] == 1


async def test_list_proposals_and_numeric_scores() -> None:
    def script(request: GenerateRequest, _: int) -> str:
        what = kind(request)
        if what == "propose":
            assert request.n == 1 and request.json_schema is not None
            return json.dumps({"points": ["low road", "high road", "low road"]})
        if what == "value":
            score = 9 if "high" in state_of(request) else 2
            return json.dumps({"reason": "the sure thing is", "score": score})
        return "done"

    model = ScriptedModel(script)
    outcome, _ = await run(TREE, model, k=3, beam=1, depth=1, propose="list", value_format="score")
    assert outcome.details["best_path"] == ["high road"]
    assert outcome.details["best_score"] == pytest.approx(0.9)
    assert outcome.details["thoughts"] == 2  # the repeated proposal is one branch


async def test_an_evaluator_agent_does_the_valuing() -> None:
    solver = ScriptedModel(tot_script({}))
    judge = ScriptedModel(tot_script({"B": "sure"}))
    ctx, _ = make_context(
        {"default": solver, "judge-model": judge},
        graph=graph_with(
            agents={"critic": AgentSpec(model="judge-model")},
            models={"judge-model": ModelSpec()},
        ),
    )
    params = parse_params(TREE, {"k": 3, "depth": 1, "evaluator": "critic"}, where="t")
    outcome = await TREE.run(Branches(ctx, AgentSpec()), params, QUESTION)
    assert {kind(r) for r in judge.calls} == {"value"}
    assert "value" not in {kind(r) for r in solver.calls}
    assert outcome.details["best_path"] == ["B"]


async def test_token_budget_stops_the_search_with_the_best_state_so_far() -> None:
    model = ScriptedModel(tot_script({"A": "sure"}))
    outcome, ctx = await run(TREE, model, budgets=Budgets(max_tokens=30), k=3, depth=3)
    assert outcome.stopped_by == "max_tokens"
    # The proposals arrived, their valuation was refused: the answer is the first state.
    assert outcome.answer == "A"
    assert [kind(r) for r in model.calls] == ["propose"]
    assert ctx.budget.usage.total_tokens >= 30


async def test_a_spent_budget_with_no_state_is_raised() -> None:
    ctx, _ = make_context(ScriptedModel(tot_script({})), budgets=Budgets(max_tokens=10))
    ctx.budget.record(TokenUsage(prompt_tokens=50))
    params = parse_params(TREE, {}, where="t")
    with pytest.raises(BudgetExceeded):
        await TREE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_no_usable_proposal_is_a_model_output_error() -> None:
    model = ScriptedModel(lambda request, _: "" if kind(request) == "propose" else "x")
    with pytest.raises(ModelOutputError, match="no usable thought"):
        await run(TREE, model, k=2, depth=2)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"k": 0}, "k"),
        ({"beam": 0}, "beam"),
        ({"depth": 9}, "depth"),
        ({"search": "astar"}, "search"),
        ({"search": "dfs", "evaluate": "vote"}, "evaluate: value"),
        ({"value_threshold": 1.5}, "value_threshold"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_tree_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(TREE, raw, where="node 'tree_search'")
    assert named in str(info.value)
    assert "Valid params" in str(info.value)


async def test_unknown_evaluator_agent_lists_the_defined_agents() -> None:
    with pytest.raises(ConfigError, match="'nobody' is not defined"):
        await run(TREE, ScriptedModel(tot_script({})), evaluator="nobody")


async def test_tree_search_runs_as_an_op() -> None:
    ctx, log = make_context(ScriptedModel(tot_script({"B": "sure"})))
    update = await builtin_ops().get(TREE.name)(
        ctx, NodeSpec(op="tree_search", params={"k": 3, "depth": 1}), {"question": "24?"}
    )
    assert update["answer"] == "the answer is 24"
    assert update["strategy"]["best_path"] == ["B"]
    assert update["strategy"]["total_tokens"] == ctx.budget.usage.total_tokens > 0
    assert "tree_search" in update["report"]
    assert log.of_type("tokens")


# -- got ---------------------------------------------------------------------------------


def got_kind(request: GenerateRequest) -> str:
    text = last(request)
    if request.json_schema is not None:
        return "score"
    if "Candidate 1" in text:
        return "aggregate"
    if "Improve this answer" in text:
        return "refine"
    if "A previous answer" in text:
        return "generate_from"
    return "generate"


def got_script(scores: dict[str, int]) -> Script:
    def script(request: GenerateRequest, index: int) -> str:
        what = got_kind(request)
        text = last(request)
        if what == "generate":
            return f"draft {index}"
        if what == "score":
            draft = re.search(r"Response:\n(.*?)\n\nRubric", text, re.S)
            assert draft is not None
            return json.dumps({"reason": "ok", "score": scores.get(draft.group(1), 5)})
        if what == "aggregate":
            return "merged of " + ", ".join(re.findall(r"draft \d", text))
        if what == "refine":
            answer = re.search(r"An answer:\n(.*?)\n\n", text, re.S)
            assert answer is not None
            return answer.group(1) + ", refined"
        parent = re.search(r"A previous answer:\n(.*?)\n\n", text, re.S)
        assert parent is not None
        return f"{parent.group(1)}.{index}"

    return script


async def test_got_steps_run_in_order_on_the_working_set() -> None:
    model = ScriptedModel(got_script({"draft 0": 3, "draft 1": 9, "draft 2": 7}))
    steps = [{"generate": 3}, {"score": {}}, {"keep_best": 2}, {"aggregate": 2}, {"refine": 1}]
    outcome, _ = await run(GOT, model, steps=steps)
    assert [got_kind(r) for r in model.calls] == [
        "generate",
        "score",
        "score",
        "score",
        "aggregate",
        "refine",
    ]
    assert model.calls[0].n == 3
    assert outcome.answer == "merged of draft 1, draft 2, refined"
    assert [s["op"] for s in outcome.details["steps"]] == [
        "generate",
        "score",
        "keep_best",
        "aggregate",
        "refine",
    ]
    kept = outcome.details["steps"][2]["thoughts"]
    assert [score for _, score in kept] == [0.9, 0.7]
    merged = next(t for t in outcome.details["tree"] if t["text"].startswith("merged"))
    assert tuple(merged["sources"]) == (2, 3)


async def test_got_generates_and_scores_every_thought_concurrently() -> None:
    generating = Handshake(["draft 0", "draft 1"])
    scoring = Handshake(["draft 0.0", "draft 0.1", "draft 1.0", "draft 1.1"])

    async def gate(request: GenerateRequest) -> None:
        text = last(request)
        if got_kind(request) == "generate_from":
            parent = re.search(r"A previous answer:\n(.*?)\n\n", text, re.S)
            assert parent is not None
            await generating.meet(parent.group(1))
        elif got_kind(request) == "score":
            draft = re.search(r"Response:\n(.*?)\n\nRubric", text, re.S)
            assert draft is not None
            await scoring.meet(draft.group(1))

    model = Gated(got_script({"draft 1.1": 8}), gate)
    steps = [{"generate": 2}, {"generate": 2}, {"score": {}}, {"keep_best": 1}]
    outcome, _ = await run(GOT, model, steps=steps)
    assert outcome.answer == "draft 1.1"
    assert [r.n for r in model.calls if got_kind(r) == "generate_from"] == [2, 2]


async def test_got_step_rubric_overrides_the_default() -> None:
    model = ScriptedModel(got_script({}))
    await run(GOT, model, steps=[{"generate": 1}, {"score": {"rubric": "Brevity wins."}}])
    assert "Rubric: Brevity wins." in last(model.calls[-1])


async def test_got_budget_stop_answers_with_the_best_thought_so_far() -> None:
    model = ScriptedModel(got_script({}))
    steps = [{"generate": 2}, {"score": {}}, {"aggregate": 2}]
    outcome, _ = await run(GOT, model, budgets=Budgets(max_tokens=5), steps=steps)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "draft 0"
    assert [got_kind(r) for r in model.calls] == ["generate"]


@pytest.mark.parametrize(
    ("steps", "named"),
    [
        ([{"generate": 2}, {"explode": 1}], "steps[1] = {'explode': 1}: unknown operation"),
        ([{"generate": 2}, {"keep_best": 0}], "steps[1]"),
        ([{"generate": 2}, {"aggregate": 1}], "merge the m best"),
        ([{"score": {}}], "first step must be generate"),
        ([{"generate": 2}, "score"], "one operation"),
        ([{"generate": 2}, {"score": {"samples": 2}}], "steps[1]"),
        ([], "non-empty list"),
    ],
)
def test_bad_got_steps_are_named_with_the_known_operations(steps: list[object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(GOT, {"steps": steps}, where="node 'got'")
    message = str(info.value)
    assert named in message
    if steps:
        assert all(op in message for op in ("generate", "score", "keep_best", "aggregate"))


async def test_got_runs_as_an_op() -> None:
    ctx, _ = make_context(ScriptedModel(got_script({"draft 1": 9})))
    node = NodeSpec(op="got", params={"steps": [{"generate": 2}, {"score": {}}]})
    update = await builtin_ops().get(GOT.name)(ctx, node, {"question": "Which draft?"})
    assert update["answer"] == "draft 1"
    assert update["strategy"]["best_score"] == 0.9
    assert update["strategy"]["samples"] == 4
