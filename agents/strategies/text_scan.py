"""Bracket scanning over model text (pure): depths of ``([{`` / ``)]}`` outside quoted strings.

Shared by the LLMCompiler plan parser (is a call's argument list complete?) and the
parallel-block parser (where does ``spawn(...)`` end?).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BracketScan:
    """Each bracket outside strings as (offset, depth after it), and whether a string is open."""

    brackets: list[tuple[int, int]]
    in_string: bool


def scan_brackets(text: str, start: int = 0) -> BracketScan:
    """Scan ``text`` from ``start``; quotes are ``"`` or ``'`` with backslash escapes."""
    depth, quote, i = 0, None, start
    brackets: list[tuple[int, int]] = []
    while i < len(text):
        char = text[i]
        if quote is not None:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
            brackets.append((i, depth))
        elif char in ")]}":
            depth -= 1
            brackets.append((i, depth))
        i += 1
    return BracketScan(brackets, quote is not None)


def closing_bracket(text: str, open_at: int) -> int | None:
    """Offset of the bracket closing the one at ``open_at``; None while it is still open."""
    return next((i for i, depth in scan_brackets(text, open_at).brackets if depth == 0), None)


def brackets_balanced(text: str) -> bool:
    """True when ``text`` opens a bracket and closes every one, outside strings."""
    scan = scan_brackets(text)
    opened = any(depth > 0 for _, depth in scan.brackets)
    return opened and scan.brackets[-1][1] <= 0 and not scan.in_string
