"""The budget-aware strategy chooser's pure parts: profiles, question families, the choice.

Latency- and token-aware test-time compute (Huang et al., 2025, arXiv:2509.09864) picks,
per query, the method and its width that maximize expected accuracy minus token and
latency penalties. Here the expected accuracy of each (operator, params) comes from
measured profiles, one JSON object per line, as ``bench/quality.py`` writes them:
``operator``, ``config``, ``params``, ``accuracy``, ``ci_low``, ``ci_high``,
``tokens_per_question``, ``wall_s_per_question``, ``questions``, ``model``,
``task_family``. Pure: the caller reads the file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator import ConfigError

ANY_FAMILY = "any"
MATH, GENERAL = "math", "general"

_ARITHMETIC = re.compile(r"\d\s*[-+*/×÷^%]\s*\d|\d+\s*(?:percent|squared|cubed)\b", re.IGNORECASE)
_MATH_WORDS = re.compile(
    r"\b(?:how many|how much|compute|calculate|solve|sum|product|equation|integer|"
    r"probability|remainder|answer is n)\b",
    re.IGNORECASE,
)


class Profile(BaseModel):
    """One measured configuration: an operator with params, its accuracy and its costs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    operator: str = Field(min_length=1)
    config: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    accuracy: float = Field(ge=0.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=0.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=0.0, le=1.0)
    tokens_per_question: float = Field(ge=0.0)
    wall_s_per_question: float = Field(default=0.0, ge=0.0)
    questions: int = Field(default=0, ge=0)
    model: str = ""
    task_family: str = ANY_FAMILY

    @property
    def name(self) -> str:
        return self.config or f"{self.operator} {json.dumps(self.params, sort_keys=True)}"


def parse_profiles(text: str, source: str) -> list[Profile]:
    """The profiles in ``text``: a JSON array, or JSON lines ('#' lines and blanks skipped).

    Every bad row is reported at once, with its line and the fix.
    """
    stripped = text.strip()
    rows: list[tuple[int, Any]] = []
    problems: list[str] = []
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"profiles {source}: not valid JSON ({exc.msg} at line {exc.lineno}); write "
                "a JSON array of profile objects, or one JSON object per line"
            ) from None
        rows = list(enumerate(values, 1))
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not JSON ({exc.msg})")
    profiles: list[Profile] = []
    for number, row in rows:
        if not isinstance(row, dict):
            problems.append(f"row {number}: {row!r:.60} is not an object")
            continue
        try:
            profiles.append(Profile.model_validate(row))
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            problems.append(f"row {number}: {fields}")
    if problems:
        raise ConfigError(
            f"profiles {source} has bad rows: {'; '.join(problems[:5])}"
            f"{f' (and {len(problems) - 5} more)' if len(problems) > 5 else ''}; each row "
            "needs operator, accuracy (0..1) and tokens_per_question (>= 0)"
        )
    return profiles


def classify_question(question: str) -> str:
    """The task family of a question: ``math`` (arithmetic, counting, a number asked
    for), else ``general``."""
    if _ARITHMETIC.search(question) or _MATH_WORDS.search(question):
        return MATH
    return GENERAL


@dataclass(frozen=True)
class Limits:
    """What one question may spend: tokens and seconds (None: no limit)."""

    tokens: float | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class Weights:
    """How the choice trades accuracy for cost (Huang et al.'s penalties) and ties."""

    token_penalty: float = 0.0  # accuracy lost per 1,000 tokens
    latency_penalty: float = 0.0  # accuracy lost per second
    safety: float = 1.0  # a profile's tokens times this must fit the token limit
    tie_margin: float = 0.0  # utilities this close count as tied


@dataclass(frozen=True)
class Choice:
    """The profile chosen, why, and how many were weighed."""

    profile: Profile
    reason: str
    family: str
    considered: int
    feasible: int
    utility: float


def utility(profile: Profile, weights: Weights) -> float:
    """Expected accuracy minus the token and latency penalties."""
    return (
        profile.accuracy
        - weights.token_penalty * profile.tokens_per_question / 1000
        - weights.latency_penalty * profile.wall_s_per_question
    )


def fits(profile: Profile, limits: Limits, weights: Weights) -> bool:
    """Whether the profile's average cost, with the safety factor on tokens, fits."""
    if limits.tokens is not None and profile.tokens_per_question * weights.safety > limits.tokens:
        return False
    return limits.latency_s is None or profile.wall_s_per_question <= limits.latency_s


def _cheapest_first(profile: Profile) -> tuple[float, float, float, str]:
    """Tie order: fewer tokens, then less time, then the surer (higher ci_low), then name."""
    sure = profile.ci_low if profile.ci_low is not None else profile.accuracy
    return (profile.tokens_per_question, profile.wall_s_per_question, -sure, profile.name)


def family_rows(
    profiles: Iterable[Profile], family: str, model: str | None
) -> tuple[list[Profile], str]:
    """The profiles to weigh: the family's (else every family's), of ``model`` if any.

    Returns them and the family they stand for (``any`` when the fallback was used).
    """
    rows = list(profiles)
    if model is not None and any(p.model == model for p in rows):
        rows = [p for p in rows if p.model == model]
    own = [p for p in rows if p.task_family in (family, ANY_FAMILY)]
    if own:
        return own, family
    return rows, ANY_FAMILY


def choose(
    profiles: Sequence[Profile],
    *,
    family: str,
    limits: Limits,
    weights: Weights,
    model: str | None = None,
) -> Choice:
    """The profile of highest utility that fits ``limits``; the reason in words.

    Rules: profiles of the question's ``family`` (or family ``any``) are weighed; a
    family without profiles falls back to every profile. Among those whose cost fits,
    the highest utility wins; utilities within ``tie_margin`` of the best are tied and
    the cheapest of them wins (fewer tokens, then less time, then the higher ci_low,
    then the name). When none fits, the cheapest profile is taken and the reason says so.
    """
    if not profiles:
        raise ConfigError("auto: no profile to choose from; give a profiles file with rows")
    rows, used = family_rows(profiles, family, model)
    feasible = [p for p in rows if fits(p, limits, weights)]
    prefix = (
        f"family {family!r}"
        if used == family
        else f"no profile for family {family!r}, so every family's"
    )
    if not feasible:
        pick = min(rows, key=_cheapest_first)
        return Choice(
            pick,
            f"{prefix}: none of {len(rows)} profiles fits {_limits_text(limits)}; took the "
            f"cheapest, {pick.name} ({pick.tokens_per_question:.0f} tokens/question)",
            used,
            len(rows),
            0,
            utility(pick, weights),
        )
    best = max(utility(p, weights) for p in feasible)
    tied = [p for p in feasible if utility(p, weights) >= best - weights.tie_margin - 1e-12]
    pick = min(tied, key=_cheapest_first)
    tie_note = ""
    if len(tied) > 1:
        tie_note = f", the cheapest of {len(tied)} within {weights.tie_margin:g}"
    return Choice(
        pick,
        f"{prefix}: {pick.name} has the best {_measure(weights)} {pick.accuracy:.3f}) of "
        f"{len(feasible)}/{len(rows)} profiles fitting {_limits_text(limits)}{tie_note}; "
        f"{pick.tokens_per_question:.0f} tokens and {pick.wall_s_per_question:.2f} s per "
        "question measured",
        used,
        len(rows),
        len(feasible),
        utility(pick, weights),
    )


def _measure(weights: Weights) -> str:
    if weights.token_penalty or weights.latency_penalty:
        return "accuracy net of the token and latency penalties (accuracy"
    return "expected accuracy (measured"


def _limits_text(limits: Limits) -> str:
    parts = []
    if limits.tokens is not None:
        parts.append(f"{math.floor(limits.tokens)} tokens")
    if limits.latency_s is not None:
        parts.append(f"{limits.latency_s:.1f} s")
    return " and ".join(parts) if parts else "no limit"
