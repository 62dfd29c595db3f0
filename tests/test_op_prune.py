"""The ``prune`` operator (DeepPrune) on scripted models."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, graph_with, last_user, make_context

PRUNE = STRATEGIES["prune"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]
TRACE = re.compile(r"Trace (A|B):\n(\w+)")


def traces_script(
    openings: list[str], finals: list[str], words: int = 20
) -> Callable[[GenerateRequest, int], str]:
    """Trace i opens with openings[i] (its early lean), then thinks, then states finals[i].

    A judge (a JSON-schema request) says 'same' when both traces open with the same word.
    """
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        if request.json_schema is not None:
            shown = dict(TRACE.findall(last_user(request)))
            same = shown["A"].rstrip("0123456789") == shown["B"].rstrip("0123456789")
            return json.dumps({"reason": "compared", "same": same})
        i = next(counter)
        return f"{openings[i]} leaning " + "think " * words + f"answer {finals[i]}"

    return script


async def run(
    model: ScriptedModel | Gated, budgets: Budgets | None = None, **raw: object
) -> StrategyOutcome:
    ctx, _ = make_context(model, budgets=budgets, graph=graph_with({"solver": AgentSpec()}))  # type: ignore[arg-type]
    params = parse_params(PRUNE, {"extract": "last_number", **raw}, where="test")
    return await PRUNE.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_redundant_traces_are_stopped_and_survivors_vote_weighted() -> None:
    openings = ["four1", "four2", "four3", "five1"]
    model = ScriptedModel(traces_script(openings, ["4", "4", "4", "5"]))
    outcome = await run(model, n=4, prefix_tokens=3)
    assert outcome.answer == "4"
    assert sorted(len(c) for c in outcome.details["clusters"]) == [1, 3]
    assert len(outcome.details["pruned"]) == 2
    tokens = outcome.details["branch_tokens"]
    # Pruned traces stopped at the prefix; survivors ran to the end (24 words).
    assert sorted(tokens) == [3, 3, 24, 24]
    assert outcome.details["weights"] == {"4": 3.0, "5": 1.0}


async def test_the_traces_stream_concurrently() -> None:
    rendezvous = Rendezvous(3)
    scripted = ScriptedModel(traces_script(["a1", "b1", "c1"], ["1", "2", "3"]))
    model = Gated(scripted, rendezvous, lambda r: r.json_schema is None)
    outcome = await run(model, n=3, prefix_tokens=3)
    assert rendezvous.groups == 1
    assert outcome.details["pruned"] == []


async def test_one_arrivals_comparisons_with_the_clusters_run_concurrently() -> None:
    # Three different openings: the third trace is compared with two clusters at once.
    rendezvous = Rendezvous(2)
    scripted = ScriptedModel(traces_script(["alpha", "beta", "gamma"], ["1", "2", "3"]))

    def third_arrival(request: GenerateRequest) -> bool:
        return request.json_schema is not None and "Trace A:\ngamma" in last_user(request)

    model = Gated(scripted, rendezvous, third_arrival)
    outcome = await run(model, n=3, prefix_tokens=3)
    assert rendezvous.groups == 1
    assert outcome.details["comparisons"] == 3
    assert len(outcome.details["clusters"]) == 3


async def test_keep_per_cluster_lets_more_members_finish() -> None:
    model = ScriptedModel(traces_script(["x1", "x2", "x3"], ["4", "5", "5"]))
    outcome = await run(model, n=3, prefix_tokens=3, keep_per_cluster=2)
    assert outcome.details["pruned"] == [3]
    # The two runners share their cluster's three votes: 1.5 each, split 4 and 5 (the
    # pruned third trace would have said 5, but it was predicted to agree).
    assert outcome.details["weights"] == {"4": 1.5, "5": 1.5}
    assert outcome.answer == "4"


async def test_answer_similarity_needs_no_judge_call() -> None:
    model = ScriptedModel(traces_script(["7", "7", "8"], ["7", "7", "8"]))
    outcome = await run(model, n=3, prefix_tokens=2, similarity="answer")
    assert not any(c.json_schema is not None for c in model.calls)
    assert outcome.answer == "7"
    assert len(outcome.details["pruned"]) == 1


async def test_text_similarity_prunes_look_alike_prefixes() -> None:
    model = ScriptedModel(traces_script(["same", "same", "other"], ["1", "1", "2"]))
    outcome = await run(model, n=3, prefix_tokens=3, similarity="text", text_similarity=0.9)
    assert len(outcome.details["pruned"]) == 1
    assert outcome.answer == "1"


async def test_traces_that_end_before_the_prefix_are_placed_but_not_stopped() -> None:
    model = ScriptedModel(traces_script(["s1", "s2"], ["3", "3"], words=1))
    outcome = await run(model, n=2, prefix_tokens=50)
    assert outcome.details["pruned"] == []
    assert len(outcome.details["clusters"]) == 1
    assert outcome.answer == "3"


async def test_a_spent_budget_keeps_the_traces_that_ran() -> None:
    model = ScriptedModel(traces_script(["a1", "b1", "c1"], ["4", "5", "6"]))
    outcome = await run(model, budgets=Budgets(max_tokens=20), n=3, prefix_tokens=3)
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer in {"4", "5", "6"}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"n": 1}, "n"),
        ({"prefix_tokens": 0}, "prefix_tokens"),
        ({"similarity": "answer", "judge": "solver"}, "judge"),
        ({"keep_per_cluster": 0}, "keep_per_cluster"),
        ({"text_similarity": 0}, "text_similarity"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(PRUNE, raw, where="node 'prune'")
    assert named in str(info.value)


async def test_an_unknown_judge_agent_is_named() -> None:
    model = ScriptedModel(traces_script(["a"], ["1"]))
    with pytest.raises(ConfigError, match="'nobody' is not defined"):
        await run(model, n=2, judge="nobody")
