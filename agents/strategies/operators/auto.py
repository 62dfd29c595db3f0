"""``auto``: pick the operator and its width that fit the job's token and latency budget.

Latency- and token-aware test-time compute (Huang et al., 2025, "Latency and
Token-Aware Test-Time Compute", arXiv:2509.09864): per question, choose the method and
how much compute to give it, weighing expected accuracy against tokens and wall-clock
time. ``auto`` reads measured profiles (``bench/quality.py``'s format; by default the
ones shipped in ``auto_profiles.jsonl``, measured with ``bench/operators.py`` on its
noisy solver), keeps those of the question's task family whose average cost fits what
the job has left (``max_tokens``/``max_latency_s``, else the job's remaining token
budget and deadline), picks the one of highest expected accuracy (minus the optional
penalties; ties go to the cheapest) and runs it. The choice and its reason are in the
details and the report.

Where ours differs, and why: the paper estimates each query's accuracy under each
method with a trained probe; breadth has no such probe for arbitrary servers, so the
estimate is the measured accuracy of the question's family (classified by simple rules
unless ``task_family`` is given), and the budget is a hard limit, not only a penalty.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.common import agent_model_spec
from agents.strategies.auto_choice import (
    Limits,
    Profile,
    Weights,
    choose,
    classify_question,
    parse_profiles,
)
from agents.strategies.runtime import Branches, StrategyDef, question_of, run_strategy
from orchestrator import ChatMessage, ConfigError, StrategyOutcome

PACKAGED_PROFILES = "auto_profiles.jsonl"
NAME = "auto"


class AutoParams(BaseModel):
    """Settings of ``auto``."""

    model_config = ConfigDict(extra="forbid")

    profiles: str | None = Field(
        default=None,
        min_length=1,
        description="Profile file (JSON lines or array, e.g. bench/results/quality.json); "
        "None: the profiles shipped with breadth (measured on the bench's noisy solver).",
    )
    task_family: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Task family of the profiles to use; None: classify the question.",
    )
    operators: list[str] | None = Field(
        default=None, min_length=1, max_length=64, description="Operators it may choose."
    )
    model: str | None = Field(
        default=None, description="Prefer profiles of this model; None: the agent's served model."
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Tokens the question may spend; None: what is left of the job's budget.",
    )
    max_latency_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Seconds the question may take; None: what is left before the deadline.",
    )
    safety: float = Field(
        default=1.2, ge=1.0, le=10.0, description="A profile's tokens times this must fit."
    )
    token_penalty: float = Field(
        default=0.0, ge=0.0, le=10.0, description="Accuracy traded per 1,000 tokens."
    )
    latency_penalty: float = Field(
        default=0.0, ge=0.0, le=10.0, description="Accuracy traded per second."
    )
    tie_margin: float = Field(
        default=0.005, ge=0.0, le=0.5, description="Utilities this close are tied: cheapest wins."
    )


async def load_profiles(path: str | None) -> tuple[list[Profile], str]:
    """The profiles of ``path`` (or the packaged ones) and where they came from."""
    if path is None:
        packaged = resources.files("agents.strategies").joinpath(PACKAGED_PROFILES)
        text = await asyncio.to_thread(packaged.read_text, encoding="utf-8")
        return parse_profiles(text, PACKAGED_PROFILES), PACKAGED_PROFILES
    file = Path(path)
    try:
        text = await asyncio.to_thread(file.read_text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"auto: params.profiles {path!r} cannot be read ({exc.strerror}); point it at a "
            "profile file such as bench/results/quality.json, or leave it out for the "
            "packaged profiles"
        ) from None
    return parse_profiles(text, path), path


def usable(branches: Branches, profiles: list[Profile], allowed: list[str] | None) -> list[Profile]:
    """The profiles this job can run: a registered strategy (not ``auto``), allowed, with
    params its op accepts."""
    ops = branches.ctx.ops
    known = set(ops.strategy_names()) - {NAME}
    kept = []
    for profile in profiles:
        if profile.operator not in known or (allowed and profile.operator not in allowed):
            continue
        try:
            ops.parse_strategy_params(profile.operator, profile.params, where="auto profile")
        except ConfigError:
            continue
        kept.append(profile)
    return kept


def job_limits(branches: Branches, params: AutoParams) -> Limits:
    """What the question may spend: the params' limits, capped by what the job has left."""
    budget = branches.ctx.budget
    tokens: float | None = params.max_tokens
    if budget.budgets.max_tokens is not None:
        left = max(0, budget.budgets.max_tokens - budget.usage.total_tokens)
        tokens = left if tokens is None else min(tokens, left)
    latency: float | None = params.max_latency_s
    remaining = budget.remaining_s()
    if remaining is not None:
        latency = max(0.0, remaining) if latency is None else min(latency, max(0.0, remaining))
    return Limits(tokens=tokens, latency_s=latency)


async def run_auto(
    branches: Branches, params: AutoParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    profiles, source = await load_profiles(params.profiles)
    if params.operators:
        unknown = sorted(set(params.operators) - set(branches.ctx.ops.strategy_names()))
        if unknown or NAME in params.operators:
            raise ConfigError(
                f"auto: params.operators names {unknown or [NAME]!r}, which it cannot run; "
                f"choose among {', '.join(sorted(set(branches.ctx.ops.strategy_names()) - {NAME}))}"
            )
    rows = usable(branches, profiles, params.operators)
    if not rows:
        among = f" among {params.operators}" if params.operators else ""
        raise ConfigError(
            f"auto: none of the {len(profiles)} profiles in {source} names an operator this job "
            f"can run with valid params{among}; measure some (bench/quality.py) or widen "
            "params.operators"
        )
    question = question_of(messages)
    family = params.task_family or classify_question(question)
    model = params.model or agent_model_spec(branches.ctx, branches.agent).model
    choice = choose(
        rows,
        family=family,
        limits=job_limits(branches, params),
        weights=Weights(
            token_penalty=params.token_penalty,
            latency_penalty=params.latency_penalty,
            safety=params.safety,
            tie_margin=params.tie_margin,
        ),
        model=model,
    )
    chosen = choice.profile
    await branches.ctx.emit(
        "log",
        branches.task_id,
        message=f"auto chose {chosen.name}: {choice.reason}",
    )
    outcome = await run_strategy(
        branches, chosen.operator, chosen.params, messages, where=f"auto choice {chosen.name!r}"
    )
    details: dict[str, Any] = {
        "choice": f"{chosen.operator}: {chosen.name}",
        "reason": choice.reason,
        "family": choice.family,
        "profiles": source,
        "chosen_op": chosen.operator,
        "chosen_params": chosen.params,
        "considered": choice.considered,
        "feasible": choice.feasible,
        "inner": outcome.details,
    }
    return StrategyOutcome(
        answer=outcome.answer,
        candidates=outcome.candidates,
        details=details,
        stopped_by=outcome.stopped_by,
    )


AUTO = StrategyDef(
    name=NAME,
    params=AutoParams,
    run=run_auto,
    paper="Huang et al. 2025, Latency and Token-Aware Test-Time Compute (arXiv:2509.09864)",
    summary="Pick the operator and width with the best measured accuracy that fits the "
    "job's token and latency budget, and run it",
)
