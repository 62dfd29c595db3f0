"""Bracket scanning outside quoted strings."""

from __future__ import annotations

from agents.strategies.text_scan import brackets_balanced, closing_bracket, scan_brackets


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


def test_scan_starts_at_zero_and_reports_depths_after_each_bracket() -> None:
    assert scan_brackets("(a[b])").brackets == [(0, 1), (2, 2), (4, 1), (5, 0)]
    assert scan_brackets("(a[b])", 2).brackets == [(2, 1), (4, 0), (5, -1)]


def test_an_escaped_quote_does_not_end_the_string() -> None:
    text = '"a\\"(" (X)'
    assert scan_brackets(text).brackets == [(7, 1), (9, 0)]
    assert not scan_brackets(text).in_string
    assert scan_brackets('("a').in_string
    assert scan_brackets("'it\\'s (' + f(x)").brackets == [(13, 1), (15, 0)]


def test_only_quotes_and_brackets_count() -> None:
    # Letters (even the X a careless scanner might match) are neither quotes nor brackets.
    assert scan_brackets("X(X)X").brackets == [(1, 1), (3, 0)]
    assert closing_bracket("f(X, 'Y)')", 1) == 9


def test_closing_before_opening_is_not_balanced() -> None:
    assert not brackets_balanced(")(")
    assert not brackets_balanced("()(")
    assert brackets_balanced("()()")


def test_an_escaped_backslash_does_not_escape_the_quote_after_it() -> None:
    text = '"\\\\"('  # the string holds one escaped backslash, then closes
    assert scan_brackets(text).brackets == [(4, 1)]
    assert not scan_brackets(text).in_string
