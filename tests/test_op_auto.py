"""The ``auto`` operator (budget-aware strategy chooser) on a scripted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.strategies.auto_choice import parse_profiles
from agents.strategies.operators import STRATEGIES
from agents.strategies.operators.auto import PACKAGED_PROFILES, load_profiles
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import make_context

AUTO = STRATEGIES["auto"]
QUESTION = "What is 6 * 7? End with 'the answer is N'."


def row(op: str, config: str, params: dict[str, Any], accuracy: float, tokens: float) -> str:
    return json.dumps(
        {
            "operator": op,
            "config": config,
            "params": params,
            "accuracy": accuracy,
            "ci_low": accuracy - 0.05,
            "ci_high": min(1.0, accuracy + 0.05),
            "tokens_per_question": tokens,
            "wall_s_per_question": 1.0,
            "questions": 100,
            "model": "m",
            "task_family": "math",
        }
    )


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "quality.json"
    path.write_text(
        "\n".join(
            [
                "# measured for the test",
                row("vote", "single", {"n": 1, "extract": "last_number"}, 0.6, 70),
                row("vote", "vote 8", {"n": 8, "extract": "last_number"}, 0.93, 470),
                row("vote", "vote 16", {"n": 16, "extract": "last_number"}, 0.99, 930),
                row("no_such_op", "ghost", {}, 1.0, 1),
                row("vote", "bad params", {"n": 0}, 1.0, 1),
                row("auto", "itself", {}, 1.0, 1),
            ]
        )
    )
    return path


async def run(ctx: RunContext, **raw: Any) -> tuple[StrategyOutcome, ScriptedModel]:
    model = ctx.models["default"]
    assert isinstance(model, ScriptedModel)
    branches = Branches(ctx, AgentSpec())
    params = parse_params(AUTO, raw, where="test")
    outcome = await AUTO.run(branches, params, [ChatMessage(role="user", content=QUESTION)])
    return outcome, model


def answering() -> ScriptedModel:
    return ScriptedModel(lambda request, index: "6 * 7 = 42, so the answer is 42")


@pytest.mark.parametrize(
    ("max_tokens", "config", "n"),
    [(None, "vote 16", 16), (1116, "vote 16", 16), (1115, "vote 8", 8), (100, "single", 1)],
)
async def test_it_runs_the_most_accurate_profile_that_fits_the_budget(
    profiles: Path, max_tokens: int | None, config: str, n: int
) -> None:
    ctx, _ = make_context(answering())
    outcome, model = await run(ctx, profiles=str(profiles), max_tokens=max_tokens)
    assert outcome.answer == "42"
    assert [r.n for r in model.calls] == [n]
    assert outcome.details["choice"] == f"vote: {config}"
    assert outcome.details["chosen_params"]["n"] == n
    assert outcome.details["considered"] == 3  # unknown op, bad params and auto are left out
    assert "expected accuracy" in outcome.details["reason"]
    assert outcome.details["inner"]["counts"] == {"42": n}


async def test_the_jobs_remaining_tokens_and_time_bound_the_choice(profiles: Path) -> None:
    ctx, _ = make_context(answering(), budgets=Budgets(max_tokens=1000))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"prompt_tokens": 400})
    outcome, _ = await run(ctx, profiles=str(profiles))
    assert outcome.details["choice"] == "vote: vote 8"  # 600 left: 470 * 1.2 fits
    ctx, _ = make_context(answering(), budgets=Budgets(deadline_s=0.5))
    outcome, _ = await run(ctx, profiles=str(profiles))
    assert outcome.details["choice"] == "vote: single"  # nothing fits 0.5 s: the cheapest
    assert "took the cheapest" in outcome.details["reason"]


async def test_the_operators_it_may_choose_can_be_restricted(profiles: Path) -> None:
    ctx, _ = make_context(answering())
    with pytest.raises(ConfigError, match="none of the 6 profiles"):
        await run(ctx, profiles=str(profiles), operators=["debate"])
    with pytest.raises(ConfigError, match="cannot run"):
        await run(ctx, profiles=str(profiles), operators=["auto"])
    with pytest.raises(ConfigError, match="cannot run"):
        await run(ctx, profiles=str(profiles), operators=["nope"])


async def test_an_unknown_family_falls_back_and_says_so(profiles: Path) -> None:
    ctx, _ = make_context(answering())
    outcome, _ = await run(ctx, profiles=str(profiles), task_family="poetry")
    assert outcome.details["family"] == "any"
    assert "no profile for family 'poetry'" in outcome.details["reason"]


async def test_an_unreadable_profile_file_is_a_config_error(tmp_path: Path) -> None:
    ctx, _ = make_context(answering())
    with pytest.raises(ConfigError, match="cannot be read"):
        await run(ctx, profiles=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"operator": "vote"}\n')
    with pytest.raises(ConfigError, match="bad rows"):
        await run(ctx, profiles=str(bad))


async def test_the_packaged_profiles_load_and_every_row_is_runnable() -> None:
    profiles, source = await load_profiles(None)
    assert source == PACKAGED_PROFILES and len(profiles) >= 10
    ops = builtin_ops()
    for profile in profiles:
        ops.parse_strategy_params(profile.operator, profile.params, where="packaged")
        assert profile.operator != "auto" and profile.task_family == "math"
    packaged = Path(__file__).parents[1] / "agents" / "strategies" / PACKAGED_PROFILES
    assert packaged.read_text().startswith("# Accuracy/cost profiles")
    assert parse_profiles(packaged.read_text(), "x") == profiles


async def test_the_choice_and_its_reason_are_in_the_report(profiles: Path) -> None:
    ctx, _ = make_context(answering())
    op = builtin_ops().get("auto")
    node = NodeSpec(op="auto", params={"profiles": str(profiles), "max_tokens": 600})
    update = await op(ctx, node, {"question": QUESTION})
    assert update["answer"] == "42"
    assert "- choice: vote: vote 8" in update["report"]
    assert "- reason: family 'math': vote 8 has the best expected accuracy" in update["report"]


def test_bad_params_are_refused() -> None:
    with pytest.raises(ConfigError, match="safety"):
        parse_params(AUTO, {"safety": 0.5}, where="test")
    with pytest.raises(ConfigError, match="max_tokens"):
        parse_params(AUTO, {"max_tokens": 0}, where="test")
    with pytest.raises(ConfigError, match="max_latency_s"):
        parse_params(AUTO, {"max_latency_s": 0}, where="test")
