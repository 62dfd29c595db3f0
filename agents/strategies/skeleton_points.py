"""Skeleton-of-Thought: parse a short skeleton of points and assemble their expansions.

Skeleton-of-Thought (Ning et al., 2023, "Skeleton-of-Thought: Prompting LLMs for
Efficient Parallel Generation", arXiv:2307.15337) first asks for a skeleton of a few
short points, then expands every point concurrently and concatenates the expansions in
order. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from orchestrator import ConfigError

_NUMBERED_RE = re.compile(r"^\s*(?:[*#>]+\s*)?(?:point\s*)?(\d{1,3})\s*[.):]\s*(.*\S)\s*$", re.I)
_BULLET_RE = re.compile(r"^\s*[-*•]\s+(.*\S)\s*$")


def skeleton_prompt(question: str, max_points: int, *, as_json: bool = False) -> str:
    """The skeleton stage prompt, adapted from the paper's skeleton template.

    It ends with a primed "1." for numbered lines, or asks for ``{"points": [...]}``
    when ``as_json`` (a request that also sends the matching JSON schema).
    """
    ending = (
        'Reply as JSON: {"points": ["<point 1>", "<point 2>", ...]}' if as_json else "Skeleton:\n1."
    )
    return (
        "You're an organizer responsible for only giving the skeleton (not the full content) "
        "for answering the question. Provide the skeleton in a list of points (numbered 1., "
        f"2., 3., etc.; at most {max_points} points) to answer the question. Instead of "
        "writing a full sentence, each skeleton point should be very short with only 3~5 "
        "words. Generally, the skeleton should have 3~10 points.\n\n"
        f"Question:\n{question.strip()}\n\n{ending}"
    )


def expansion_instruction(points: Sequence[str], index: int) -> str:
    """The point-specific tail of the expansion prompt, for point ``index`` (0-based).

    Sent after the question and skeleton, so that every point's request shares them as
    a common prefix.
    """
    if not 0 <= index < len(points):
        raise ValueError(f"point index {index!r} is out of range for {len(points)} points")
    number = index + 1
    return (
        f"Continue and only continue the writing of point {number}. Write it **very "
        "shortly** in 1~2 sentences and do not continue with other points!\n\n"
        f"{number}. {points[index]}"
    )


def format_skeleton(points: Sequence[str]) -> str:
    """The skeleton as numbered lines ("1. ...")."""
    return "\n".join(f"{i}. {point}" for i, point in enumerate(points, 1))


def expansion_prompt(question: str, points: Sequence[str], index: int) -> str:
    """The point-expanding prompt for point ``index`` (0-based) of the skeleton."""
    instruction = expansion_instruction(points, index)
    return (
        "You're responsible for continuing the writing of one and only one point in the "
        "overall answer to the following question.\n\n"
        f"Question:\n{question.strip()}\n\nThe skeleton of the answer is\n"
        f"{format_skeleton(points)}\n\n{instruction}"
    )


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().casefold()


def _bounded_unique(points: Sequence[str], max_points: int) -> list[str]:
    kept: list[str] = []
    seen: set[str] = set()
    for point in points:
        text = point.strip().strip("*_`").strip()
        key = _normal(text)
        if not key or key in seen:
            continue
        seen.add(key)
        kept.append(text)
        if len(kept) == max_points:
            break
    return kept


def _json_points(text: str) -> list[str] | None:
    start = text.find("[")
    brace = text.find("{")
    if start == -1 and brace == -1:
        return None
    first = min(i for i in (start, brace) if i != -1)
    try:
        value = json.JSONDecoder().raw_decode(text[first:])[0]
    except ValueError:
        return None
    if isinstance(value, dict):
        value = value.get("points", value.get("skeleton"))
    if not isinstance(value, list):
        return None
    return [str(item) for item in value if isinstance(item, str | int | float)]


def parse_skeleton(text: str, max_points: int = 10) -> list[str]:
    """The skeleton's points in order, without numbering, duplicates or blanks.

    Reads numbered lines ("1. ...", "2) ...", "Point 3: ..."), else a JSON list (or
    ``{"points": [...]}``), else bullet lines; keeps at most ``max_points``. A
    skeleton that starts right after a primed "1." (as ``skeleton_prompt`` ends) is
    read too. Duplicates compare case- and punctuation-insensitively.
    """
    if max_points < 1:
        raise ConfigError(f"max_points {max_points!r} must be >= 1; e.g. max_points: 8")
    lines = text.strip().splitlines()
    matches = [m for m in map(_NUMBERED_RE.match, lines) if m]
    if matches:
        numbered = [m.group(2) for m in matches]
        if matches[0].group(1) == "2" and not _NUMBERED_RE.match(lines[0]):
            numbered.insert(0, lines[0])
        return _bounded_unique(numbered, max_points)
    from_json = _json_points(text)
    if from_json is not None:
        return _bounded_unique(from_json, max_points)
    bullets = [m.group(1) for m in map(_BULLET_RE.match, lines) if m]
    if bullets:
        return _bounded_unique(bullets, max_points)
    single = text.strip()
    return _bounded_unique([single], max_points) if "\n" not in single else []


def _strip_repeated_point(number: int, point: str, expansion: str) -> str:
    text = expansion.strip()
    text = re.sub(rf"^\s*{number}\s*[.):]\s*", "", text)
    if _normal(text).startswith(_normal(point)) and _normal(point):
        head = re.match(r"\W*" + r"\W+".join(map(re.escape, point.split())), text, re.I)
        if head is not None:
            text = text[head.end() :].lstrip(" :.-–—")
    return text.strip()


def assemble(points: Sequence[str], expansions: Sequence[str | None]) -> str:
    """The final answer: each point with its expansion, numbered, in skeleton order.

    An expansion that repeats its number or point text is not repeated twice; a
    missing expansion (None or empty) leaves the point on its own.
    """
    if len(points) != len(expansions):
        raise ValueError(
            f"assemble got {len(points)} points but {len(expansions)} expansions; "
            "pass one expansion (or None) per point"
        )
    lines: list[str] = []
    for number, (point, expansion) in enumerate(zip(points, expansions, strict=True), 1):
        body = _strip_repeated_point(number, point, expansion or "")
        lines.append(f"{number}. {point.strip()}" + (f" {body}" if body else ""))
    return "\n".join(lines)
