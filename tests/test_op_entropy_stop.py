"""Semantic-entropy termination of the multi-round operators: aggregate (RSA), debate, moa."""

from __future__ import annotations

import itertools
import math

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import last_user, make_context

QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]


def cycling(first: list[str], later: str = "merged: 4") -> ScriptedModel:
    """The first len(first) samples cycle through ``first``; every later sample is ``later``."""
    counter = itertools.count()

    def script(_: GenerateRequest, __: int) -> str:
        i = next(counter)
        return first[i] if i < len(first) else later

    return ScriptedModel(script)


RSA = {"population": 4, "subset": 2, "extract": "last_number"}


async def run(op: str, model: ScriptedModel, **raw: object) -> StrategyOutcome:
    ctx, _ = make_context(model)
    defn = STRATEGIES[op]
    params = parse_params(defn, raw, where="test")
    return await defn.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_rsa_skips_its_rounds_once_the_population_agrees() -> None:
    model = cycling(["so 4", "it is 4", "4", "4."])
    outcome = await run("aggregate", model, **RSA, rounds=3, stop_entropy=0.3)
    assert outcome.details["entropy"] == [0.0]
    assert outcome.details["stopped_by_entropy"] is True
    assert outcome.details["rounds_run"] == 0
    # The population, then the final aggregation: no round was run.
    assert len(model.calls) == 2


@pytest.mark.parametrize(("threshold", "rounds_run"), [(0.5, 1), (0.51, 0)])
async def test_rsa_stops_strictly_below_the_threshold(threshold: float, rounds_run: int) -> None:
    # Two answers, two each: normalized entropy ln 2 / ln 4 = 0.5 exactly.
    model = cycling(["4", "4", "5", "5"])
    outcome = await run(
        "aggregate",
        model,
        population=4,
        subset=2,
        rounds=2,
        extract="last_number",
        stop_entropy=threshold,
    )
    assert outcome.details["rounds_run"] == rounds_run
    assert outcome.details["entropy"][0] == pytest.approx(0.5)


async def test_rsa_checks_every_round_and_records_nothing_when_off() -> None:
    model = cycling(["4", "5", "6", "7"], later="merged: 4")
    outcome = await run("aggregate", model, **RSA, rounds=3, stop_entropy=0.2)
    # All differ (1.0), then all merged to 4 (0.0): one round ran.
    assert outcome.details["entropy"] == [1.0, 0.0]
    assert outcome.details["rounds_run"] == 1
    plain = await run("aggregate", cycling(["4"] * 4), population=4, subset=2, rounds=1)
    assert "entropy" not in plain.details


async def test_debate_ends_when_the_agents_nearly_agree() -> None:
    split = ["answer 4", "answer 4", "answer 5"]
    value = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(3)
    stopped = await run(
        "debate", cycling(split), agents=3, rounds=3, extract="last_number", stop_entropy=0.6
    )
    assert stopped.details["entropy"] == [round(value, 4)]
    assert stopped.details["stopped_by_entropy"] is True
    assert stopped.details["rounds_run"] == 1
    assert stopped.answer == "4"
    model = cycling(split, later="answer 4")
    going = await run("debate", model, agents=3, rounds=3, extract="last_number", stop_entropy=0.5)
    assert going.details["stopped_by_entropy"] is False
    assert going.details["rounds_run"] == 2


async def test_moa_skips_the_remaining_layers_by_text_similarity() -> None:
    same = "Paris is the capital of France."
    model = cycling([same, same, "paris is the capital of france"], later="Aggregated: Paris.")
    outcome = await run("moa", model, layers=3, width=3, stop_entropy=0.1, entropy_by="text")
    assert outcome.details["layers_run"] == 1
    assert outcome.details["stopped_by_entropy"] is True
    assert outcome.answer == "Aggregated: Paris."
    assert sum("Responses from models" in (c.messages[0].content) for c in model.calls) == 1


async def test_moa_by_answer_uses_its_extract_setting() -> None:
    model = cycling(["x 4", "y 4", "z 5"], later="final 4")
    outcome = await run("moa", model, layers=2, width=3, stop_entropy=0.6, extract="last_number")
    assert outcome.details["layers_run"] == 1
    assert not any("Responses from models" in last_user(c) for c in model.calls[:1])


@pytest.mark.parametrize("op", ["aggregate", "debate", "moa"])
def test_entropy_params_are_checked(op: str) -> None:
    for raw, named in (
        ({"stop_entropy": 1.5}, "stop_entropy"),
        ({"entropy_by": "nli"}, "entropy_by"),
        ({"entropy_similarity": 0}, "entropy_similarity"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_params(STRATEGIES[op], raw, where=f"node {op!r}")
        assert named in str(info.value)
