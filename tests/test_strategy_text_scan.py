"""Bracket scanning outside quoted strings."""

from __future__ import annotations

from agents.strategies.text_scan import brackets_balanced, closing_bracket


def test_closing_bracket_skips_brackets_inside_strings() -> None:
    text = "spawn([\"a)\", 'b('], x=(1, 2)) tail"
    assert closing_bracket(text, text.index("(")) == text.index(" tail") - 1
    assert closing_bracket('spawn(["open"', 5) is None


def test_balanced_needs_an_opening_and_no_open_string() -> None:
    assert brackets_balanced('search(query="a (b")')
    assert not brackets_balanced('search(query="a')
    assert not brackets_balanced("search(query=1")
    assert not brackets_balanced(")")
    assert not brackets_balanced("no call")
