"""PyYAML syntax errors → where to look and what is wrong, in plain words.

PyYAML reports the point where it *noticed* a mistake, which for an unclosed ``[`` or
quote is the end of the file. It also knows where the construct it was reading began
(``context_mark``); for unclosed brackets and quotes that is the mistake, so it comes
first. For indentation and stray characters the detection point is the mistake, and the
enclosing construct comes second. PyYAML's messages have been stable for years; the
wording matched here is its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

_FLOWS = {
    "while parsing a flow sequence": ("[", "]", "list"),
    "while parsing a flow mapping": ("{", "}", "mapping"),
}
_CLOSERS = {"]": "[", "}": "{"}
_BLOCKS = {"while parsing a block mapping": "mapping", "while parsing a block collection": "list"}
# PyYAML's token names, as a user would read them.
_TOKEN_WORDS = {
    "<stream end>": "the end of the file",
    "<block end>": "the end of an indented block",
    "<block mapping start>": "a new key",
    "<block sequence start>": "a new list",
    "<scalar>": "more text",
    "?": "a key",
    "-": "a list item ('- ')",
    "": "something it does not name",  # a problem with no quoted token at its end
}


@dataclass(frozen=True)
class YamlSyntaxProblem:
    """A YAML syntax error explained: the line and column to look at, and the message."""

    line: int | None
    column: int | None
    message: str


def explain_yaml_error(exc: yaml.MarkedYAMLError, text: str) -> YamlSyntaxProblem:
    """The place to look and a plain-words message for ``exc``, raised while parsing ``text``."""
    lines = text.splitlines()
    context, problem = exc.context or "", exc.problem or ""
    start, found = exc.context_mark, exc.problem_mark
    if found is None:  # PyYAML marks every problem; only a hand-made error lacks the mark
        return _raw(exc, start)
    if context in _FLOWS and start is not None:
        return _unclosed_flow(start, found, problem, _FLOWS[context])
    if context == "while scanning a quoted scalar" and start is not None:
        return _unclosed_quote(start, found, problem, lines)
    if context == "while scanning a double-quoted scalar" and start is not None:
        message = (
            f"{problem} at {_where(found)}, inside the double-quoted text begun at "
            f"{_where(start)}; in double quotes a backslash starts an escape: write '\\\\' for "
            f"a backslash, or use single quotes, where a backslash is plain text"
        )
        return _at(found, message)
    if context == "while scanning for the next token":
        return _bad_character(found, lines)
    if context in _BLOCKS and start is not None:  # PyYAML's problem: "expected <block end>"
        return _block_mismatch(start, found, problem, _BLOCKS[context], lines)
    if problem == "mapping values are not allowed here":
        return _misplaced_colon(found, lines)
    if problem == "sequence entries are not allowed here":
        return _at(
            found,
            f"'- ' at {_where(found)} cannot start a list item here: a list goes on lines of "
            f"its own under a key (key:, then '- item' indented below it); a value that "
            f"starts with '- ' must be put in quotes",
        )
    if problem.startswith("expected '<document start>'"):
        return _content_after_root(found, problem, lines)
    if context == "expected a single document in the stream":
        return _at(
            found,
            f"a second YAML document begins at {_where(found)}; a graph file holds one: "
            f"remove the '---' line, or split the file in two",
        )
    if problem.startswith("found undefined alias"):
        alias = _quoted_tail(problem)
        return _at(
            found,
            f"the alias '*{alias}' at {_where(found)} refers to no anchor; mark the value to "
            f"reuse with '&{alias}' before this line, or remove the '*'",
        )
    if problem.startswith("expected the node content"):
        token = _quoted_tail(problem)
        opener = _CLOSERS.get(token)
        why = f"a closing {token!r} without its opening {opener!r}" if opener else _words(token)
        return _at(
            found,
            f"at {_where(found)}, where a value was expected, there is {why}; remove it, or "
            f"put the value in quotes",
        )
    if problem == "could not find expected ':'" and start is not None:
        return _at(
            start,
            f"the text at {_where(start)} reads as a key, but no ':' follows it (the parser "
            f"looked up to {_where(found)}); write 'key: value', or put the text in quotes",
        )
    return _raw(exc, start or found)


def _unclosed_flow(
    start: yaml.Mark, found: yaml.Mark, problem: str, flow: tuple[str, str, str]
) -> YamlSyntaxProblem:
    opener, closer, kind = flow
    token = _quoted_tail(problem)
    reached = "the end of the file" if token == "<stream end>" else _token_at(token, found)
    message = (
        f"the {opener!r} at {_where(start)} opens a {kind} that is never closed: the parser "
        f"reached {reached} still looking for ',' or {closer!r}. Close the {kind} with "
        f"{closer!r}"
    )
    if kind == "list":
        message += " (or write its items on lines of their own as '- item')"
    return _at(start, message)


def _unclosed_quote(
    start: yaml.Mark, found: yaml.Mark, problem: str, lines: list[str]
) -> YamlSyntaxProblem:
    quote = _char_at(start, lines) or "quote"
    if problem == "found unexpected document separator":
        reached = f"the document separator at {_where(found)}"
    else:
        reached = "the end of the file"
    message = (
        f"the quote {quote} at {_where(start)} is never closed: the parser reached {reached} "
        f"still inside the quoted text. Add the closing {quote} at the end of the value"
    )
    if quote == "'":
        message += " (inside single quotes, write an apostrophe twice: 'it''s')"
    return _at(start, message)


def _bad_character(found: yaml.Mark, lines: list[str]) -> YamlSyntaxProblem:
    char = _char_at(found, lines)
    if char == "\t":
        if not lines[found.line][: found.column].strip():  # only blanks before the tab
            return _at(
                found,
                f"a tab indents line {found.line + 1} (column {found.column + 1}); YAML "
                f"indents with spaces only: replace the tab with spaces",
            )
        return _at(
            found,
            f"a tab at {_where(found)} where YAML expects a key or a value; replace it with spaces",
        )
    shown = repr(char) if char else "this character"
    return _at(
        found,
        f"{shown} at {_where(found)} cannot start a value (YAML reserves '@' and '`', and "
        f"'%' starts a directive); put the value in quotes",
    )


def _block_mismatch(
    start: yaml.Mark, found: yaml.Mark, problem: str, kind: str, lines: list[str]
) -> YamlSyntaxProblem:
    token = _quoted_tail(problem)
    first_column = _indent(_line(lines, found.line))
    if token in _CLOSERS:
        return _at(
            found,
            f"a closing {token!r} at {_where(found)} without its opening {_CLOSERS[token]!r}; "
            f"remove it, or put the value in quotes",
        )
    if found.column > first_column:
        return _at(
            found,
            f"{_token_at(token, found)}, after a complete value on the same line; if "
            f"the value holds quotes or ': ', put all of it in quotes (inside single quotes, "
            f"write an apostrophe twice: 'it''s')",
        )
    if kind == "mapping" and token == "-":
        return _at(
            found,
            f"a list item ('- ') at {_where(found)} inside the mapping begun at "
            f"{_where(start)}; a list goes under a key: write the key with ':', then its "
            f"items indented below it",
        )
    if kind == "list" and found.column == start.column:
        return _at(
            found,
            f"line {found.line + 1} continues the list begun at {_where(start)} but does not "
            f"start with '- '; every item of a list starts with '- ', and a list and a "
            f"mapping cannot share one indent",
        )
    items = "keys" if kind == "mapping" else "'- ' items"
    first = "key" if kind == "mapping" else "item"
    return _at(
        found,
        f"line {found.line + 1} is indented to column {found.column + 1}, which lines up with "
        f"none of the {items} around it: the enclosing {kind}, whose first {first} is at "
        f"{_where(start)}, keeps its {items} at column {start.column + 1}. Indent every key of "
        f"a mapping (every '- ' of a list) by the same number of spaces",
    )


def _content_after_root(found: yaml.Mark, problem: str, lines: list[str]) -> YamlSyntaxProblem:
    """More text after the file's top-level value ended: the mistake is where that value began."""
    root = next(
        (i for i, text in enumerate(lines) if text.strip() and not text.lstrip().startswith("#")),
        found.line,
    )
    column = _indent(_line(lines, root)) + 1
    return YamlSyntaxProblem(
        root + 1,
        column,
        f"the file's top-level value begins at line {root + 1}, column {column} and ends "
        f"before {_token_at(_quoted_tail(problem), found)}; a graph file is one "
        f"mapping whose keys all start at column 1 as 'key: value': check that line {root + 1} "
        f"is not indented, a '- ' list item or quoted text",
    )


def _misplaced_colon(found: yaml.Mark, lines: list[str]) -> YamlSyntaxProblem:
    """A ':' PyYAML cannot place: often the real mistake is a key above it with no ':'."""
    above = found.line - 1
    while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith("#")):
        above -= 1
    previous = lines[above].strip() if above >= 0 else ""
    if previous and ":" not in previous and not previous.startswith("-"):
        key, *rest = previous.split(None, 1)
        fixed = f"{key}: {rest[0]}" if rest else f"{key}:"
        return YamlSyntaxProblem(
            above + 1,
            _indent(lines[above]) + 1,
            f"line {above + 1} ({previous!r}) has no ':' after its key, so the parser read "
            f"the next line as more of its text and stumbled on the ':' at {_where(found)}; "
            f"write it as {fixed!r}",
        )
    return _at(
        found,
        f"':' at {_where(found)} cannot start a value here: a value that holds ': ' must be "
        f'put in quotes (e.g. question: "why: because")',
    )


def _raw(exc: yaml.MarkedYAMLError, mark: yaml.Mark | None) -> YamlSyntaxProblem:
    """PyYAML's own words, for errors not explained above."""
    parts = []
    if exc.context:
        at = f" (at {_where(exc.context_mark)})" if exc.context_mark is not None else ""
        parts.append(f"{exc.context}{at}")
    if exc.problem:
        at = f" (at {_where(exc.problem_mark)})" if exc.problem_mark is not None else ""
        parts.append(f"{exc.problem}{at}")
    text = "; ".join(parts) or "unreadable YAML"
    message = f"{text}; check the indentation, colons and quotes there and on the line before"
    if mark is None:
        return YamlSyntaxProblem(None, None, message)
    return _at(mark, message)


def _at(mark: yaml.Mark, message: str) -> YamlSyntaxProblem:
    return YamlSyntaxProblem(mark.line + 1, mark.column + 1, message)


def _where(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _token_at(token: str, mark: yaml.Mark) -> str:
    return f"{_words(token)} at {_where(mark)}"


def _words(token: str) -> str:
    return _TOKEN_WORDS.get(token, repr(token))


def _line(lines: list[str], index: int) -> str:
    """Line ``index`` (from 0) of the text, or '' past its end (an error not raised on it)."""
    return lines[index] if index < len(lines) else ""


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _char_at(mark: yaml.Mark, lines: list[str]) -> str:
    return _line(lines, mark.line)[mark.column : mark.column + 1]


def _quoted_tail(problem: str) -> str:
    """The last quoted word of a PyYAML problem (the token or name it found), or ''.

    PyYAML quotes it with ``%r``: token names and anchor names hold no "'", so the quotes
    are always single ones.
    """
    match = re.search(r"'([^']*)'$", problem)
    return "" if match is None else match.group(1)
