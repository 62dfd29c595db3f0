"""Who sees whom in a multi-agent debate, and ReConcile's confidence-weighted vote.

Debate topologies follow Du et al., 2023 ("Improving Factuality and Reasoning in
Language Models through Multiagent Debate": all-to-all) and Li et al., 2024
("Improving Multi-Agent Debate with Sparse Communication Topology": ring and sparse
graphs); the confidence recalibration is ReConcile's (Chen et al., 2023, "ReConcile:
Round-Table Conference Improves Reasoning via Consensus among Diverse LLMs").
Standard library and pydantic only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from agents.strategies.vote_tally import VoteResult, majority_vote
from orchestrator import ConfigError

Topology = Literal["all", "ring", "sparse"]

TRUNCATION_MARK = " […] "


def neighbours(agent_index: int, n_agents: int, topology: Topology, degree: int = 2) -> list[int]:
    """The agents whose latest answers ``agent_index`` reads each round, sorted.

    ``all``: every other agent. ``ring``: the ``degree`` nearest agents around the
    ring (next before previous at equal distance). ``sparse``: a directed circulant
    graph with offsets 1, 2, 4, ... (mod n), so each agent reads ``degree`` others and
    every answer reaches everyone in about log2(n) rounds at a fraction of the context.
    ``degree`` is capped at ``n_agents - 1``.
    """
    if n_agents < 1:
        raise ConfigError(f"a debate needs at least 1 agent, got n_agents={n_agents!r}")
    if not 0 <= agent_index < n_agents:
        raise ValueError(
            f"agent index {agent_index!r} is out of range for {n_agents} agents; "
            f"use 0..{n_agents - 1}"
        )
    if topology not in ("all", "ring", "sparse"):
        raise ConfigError(
            f"unknown debate topology {topology!r}; use one of 'all', 'ring', 'sparse'"
        )
    if degree < 1:
        raise ConfigError(f"debate degree {degree!r} must be >= 1 (neighbours per agent)")
    others = n_agents - 1
    if topology == "all" or degree >= others:
        return [j for j in range(n_agents) if j != agent_index]
    if topology == "ring":
        offsets = [sign * d for d in range(1, n_agents) for sign in (1, -1)]
    else:
        offsets = [2**p for p in range(n_agents.bit_length())]
        offsets += [d for d in range(1, n_agents) if d not in offsets]
    chosen: list[int] = []
    for offset in offsets:
        j = (agent_index + offset) % n_agents
        if j != agent_index and j not in chosen:
            chosen.append(j)
        if len(chosen) == degree:
            break
    return sorted(chosen)


def all_agree(answers: Sequence[str | None], key: Callable[[str], str] | None = None) -> bool:
    """True when there is at least one answer, none is missing, and all are equal.

    ``key`` normalizes before comparing (e.g. ``extract.normalize_answer``).
    """
    if not answers or any(a is None for a in answers):
        return False
    normalize = key or (lambda text: text)
    return len({normalize(a) for a in answers if a is not None}) == 1


def _truncate(text: str, limit: int) -> str:
    """Keep the head and the tail (where the final answer usually is) within ``limit``."""
    if len(text) <= limit:
        return text
    if limit < len(TRUNCATION_MARK) + 2:
        return text[:limit]
    room = limit - len(TRUNCATION_MARK)
    head = room // 2
    tail = room - head
    return text[:head] + TRUNCATION_MARK + text[len(text) - tail :]


def _allot(lengths: list[int], budget: int) -> list[int]:
    """Water-filling: short texts keep their length, the rest share what remains equally."""
    allotment = [0] * len(lengths)
    remaining = budget
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    for position, i in enumerate(order):
        share = remaining // (len(order) - position)
        allotment[i] = min(lengths[i], share)
        remaining -= allotment[i]
    return allotment


def summarize_for_context(
    answers: Sequence[str] | Mapping[str, str], max_chars: int, *, separator: str = "\n\n"
) -> str:
    """Other agents' answers as one labelled block of at most ``max_chars`` characters.

    A sequence is labelled "Agent 1", "Agent 2", ...; a mapping uses its keys as labels.
    Answers that fit keep their full text; the characters left are shared equally by
    the longer ones, each cut in the middle (head and tail kept, marked with "[…]").
    Deterministic, so the same answers give the same prompt (and a reusable prefix).
    """
    if max_chars < 0:
        raise ConfigError(f"max_chars {max_chars!r} must be >= 0")
    labelled = (
        list(answers.items())
        if isinstance(answers, Mapping)
        else [(f"Agent {i}", text) for i, text in enumerate(answers, 1)]
    )
    if not labelled:
        return ""
    heads = [f"{label}: " for label, _ in labelled]
    bodies = [text.strip() for _, text in labelled]
    overhead = sum(len(h) for h in heads) + len(separator) * (len(labelled) - 1)
    full = separator.join(h + b for h, b in zip(heads, bodies, strict=True))
    if len(full) <= max_chars:
        return full
    if overhead >= max_chars:
        return _truncate(full, max_chars)
    limits = _allot([len(b) for b in bodies], max_chars - overhead)
    return separator.join(
        h + _truncate(b, limit) for h, b, limit in zip(heads, bodies, limits, strict=True)
    )


_CONFIDENCE_RE = re.compile(
    r"confidence(?:\s+(?:level|score))?\W{0,4}(?:is\s+|of\s+)?"
    r"(\d+(?:\.\d+)?|\.\d+)\s*(%|/\s*(?:10|100)\b|percent)?",
    re.IGNORECASE,
)
_BARE_CONFIDENCE_RE = re.compile(r"^\W*(\d+(?:\.\d+)?|\.\d+)\s*(%|percent)?\W*$", re.IGNORECASE)


def _as_probability(number: str, unit: str | None) -> float | None:
    value = float(number)
    unit = (unit or "").replace(" ", "").lower()
    if unit in ("%", "percent", "/100"):
        value /= 100
    elif unit == "/10":
        value /= 10
    elif value > 1:
        value /= 100
    return value if 0.0 <= value <= 1.0 else None


def parse_confidence(text: str) -> float | None:
    """A stated confidence in [0, 1], or None if the text states none.

    Reads the last "confidence: 0.8" / "Confidence level: 80%" / ``"confidence": 0.8``
    / "confidence 8/10"; a number above 1 without a unit is a percentage. A reply
    that is only a number or percentage ("80%") also counts. Values outside 0..1
    (after scaling) are rejected.
    """
    matches = list(_CONFIDENCE_RE.finditer(text))
    for match in reversed(matches):
        value = _as_probability(match.group(1), match.group(2))
        if value is not None:
            return value
    bare = _BARE_CONFIDENCE_RE.match(text.strip())
    return _as_probability(bare.group(1), bare.group(2)) if bare else None


def reconcile_weight(confidence: float | None) -> float:
    """ReConcile's recalibration of a stated confidence into a vote weight.

    1.0 → 1.0, [0.9, 1.0) → 0.8, [0.8, 0.9) → 0.5, (0.6, 0.8) → 0.3, else 0.1; models
    over-state confidence, so only near-certainty earns a large weight. A missing
    confidence gets the lowest weight.
    """
    if confidence is None:
        return 0.1
    if confidence >= 1.0:
        return 1.0
    if confidence >= 0.9:
        return 0.8
    if confidence >= 0.8:
        return 0.5
    if confidence > 0.6:
        return 0.3
    return 0.1


def reconcile_weights(confidences: Sequence[float | None]) -> list[float]:
    """``reconcile_weight`` for each agent's confidence, in order."""
    return [reconcile_weight(c) for c in confidences]


def reconcile_vote(
    answers: Sequence[str | None], confidences: Sequence[float | None]
) -> VoteResult:
    """ReConcile's round result: a vote where each answer weighs its recalibrated confidence."""
    if len(answers) != len(confidences):
        raise ValueError(
            f"reconcile_vote got {len(answers)} answers but {len(confidences)} confidences; "
            "pass one confidence (or None) per answer"
        )
    return majority_vote(answers, reconcile_weights(confidences))
