"""The pure half of verification: a solution cut into steps, and a judge's score read back.

Process reward models score a solution step by step (Lightman et al., 2023, "Let's
Verify Step by Step", arXiv:2305.20050); here a step is a paragraph, or a line when the
text has no paragraphs. Judge replies are read from JSON first, then from free text.
Standard library only (plus the value reader of ``tree_beam``).
"""

from __future__ import annotations

import itertools
import json
import math
import re

from agents.strategies.tree_beam import parse_value

_LINE_RE = re.compile(r"[^\n]*\S[^\n]*")


def _step_spans(text: str, max_steps: int) -> list[tuple[int, int]]:
    """(start, end) of each step in ``text``: paragraphs if there are several, else lines."""
    if max_steps < 1:
        raise ValueError(f"max_steps {max_steps!r} must be >= 1")
    lines = [m.span() for m in _LINE_RE.finditer(text)]
    if not lines:
        return []
    paragraphs = [[lines[0]]]
    for previous, line in itertools.pairwise(lines):
        if text.count("\n", previous[1], line[0]) >= 2:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    spans = [(group[0][0], group[-1][1]) for group in paragraphs] if len(paragraphs) > 1 else lines
    if len(spans) > max_steps:
        # The tail beyond the limit is one last step, so nothing goes unscored.
        spans = [*spans[: max_steps - 1], (spans[max_steps - 1][0], spans[-1][1])]
    return spans


def split_steps(text: str, max_steps: int = 64) -> list[str]:
    """The steps of a solution, at most ``max_steps`` (the tail merged into the last one).

    A step is a paragraph when the text has blank-line separated paragraphs, else a
    non-blank line; leading and trailing whitespace of each step is dropped.
    """
    return [text[start:end].strip() for start, end in _step_spans(text, max_steps)]


def step_prefixes(text: str, max_steps: int = 64) -> list[str]:
    """For each step of ``split_steps``, the solution up to and including it, verbatim.

    A process reward model scores step k by reading the solution up to step k.
    """
    return [text[:end].strip() for _, end in _step_spans(text, max_steps)]


def read_score(text: str, *, low: float = 1.0, high: float = 10.0) -> float | None:
    """A judge's score on ``low..high`` from its reply, or None if it states none in range.

    A JSON object's ``score`` field is read first (and only it, when the reply is JSON,
    so that words in its reason are not taken for a score); otherwise a free-text value
    ("8/10", "score: 8", "7", "likely") is read on a 0..1 scale and stretched to ``high``.
    """
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            data = json.loads(text[start : end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict):
            return _in_range(data.get("score"), low, high)
    value = parse_value(text)
    if value is None:
        return None
    return min(max(value * high, low), high)


def _in_range(raw: object, low: float, high: float) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None
