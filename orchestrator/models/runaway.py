"""Whether a generation has run away: one short piece of text said over and over (pure).

A small model sometimes loops ("]]]]]]…", "1. 1. 1. 1. …", a phrase again and again)
until its token limit, which on a CPU can take minutes. A decode loop asks
``repeating_tail`` every few tokens and stops such a generation early; the reply is then
cut short, as if by ``max_tokens``, and the caller handles it as it handles any cut.
"""

from __future__ import annotations

import re

# A unit of 1-24 characters repeated at least 10 more times at the end of the text.
_LOOP = re.compile(r"(.{1,24}?)\1{10,}$", re.DOTALL)
# Only a loop that covers this many characters counts: "........" in prose is fine.
MIN_LOOP_CHARS = 40
WINDOW = 300
# How often (in tokens) a decode loop should check.
CHECK_EVERY = 8


def repeating_tail(text: str) -> bool:
    """Whether ``text`` ends with one short unit repeated over at least 40 characters."""
    match = _LOOP.search(text[-WINDOW:])
    return match is not None and len(match.group(0)) >= MIN_LOOP_CHARS
