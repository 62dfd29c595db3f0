"""The exact place and message for each kind of YAML mistake that ``explain_yaml_error`` names.

Each case is a small broken file parsed by ``parse_yaml``; the expected line, column and
message are written out in full so that any change to the wording or the place is seen.
The last tests hand ``explain_yaml_error`` errors made by hand, for the fallbacks that real
PyYAML errors do not reach (no marks, marks past the end of the text).
"""

from __future__ import annotations

import pytest
import yaml

from orchestrator.graph.yaml_errors import YamlSyntaxProblem, explain_yaml_error
from orchestrator.graph.yaml_lines import YamlSyntaxError, parse_yaml

EXPLAINED = [
    pytest.param(
        "a: [x",
        1,
        4,
        (
            "the '[' at line 1, column 4 opens a list that is never closed: the parser "
            "reached the end of the file still looking for ',' or ']'. Close the list with "
            "']' (or write its items on lines of their own as '- item')"
        ),
        id="unclosed-list-at-end",
    ),
    pytest.param(
        "name: x\nnodes:\n  research:\n    tools: [search, fetch\n    op: research\n",
        4,
        12,
        (
            "the '[' at line 4, column 12 opens a list that is never closed: the parser "
            "reached ':' at line 5, column 7 still looking for ',' or ']'. Close the list "
            "with ']' (or write its items on lines of their own as '- item')"
        ),
        id="unclosed-list-reaches-colon",
    ),
    pytest.param(
        "a: [x\n---\n",
        1,
        4,
        (
            "the '[' at line 1, column 4 opens a list that is never closed: the parser "
            "reached '<document start>' at line 2, column 1 still looking for ',' or ']'. "
            "Close the list with ']' (or write its items on lines of their own as '- item')"
        ),
        id="unclosed-list-reaches-separator",
    ),
    pytest.param(
        "a: {x: 1\n",
        1,
        4,
        (
            "the '{' at line 1, column 4 opens a mapping that is never closed: the parser "
            "reached the end of the file still looking for ',' or '}'. Close the mapping "
            "with '}'"
        ),
        id="unclosed-mapping",
    ),
    pytest.param(
        "a: [b, {c: d]\n",
        1,
        8,
        (
            "the '{' at line 1, column 8 opens a mapping that is never closed: the parser "
            "reached ']' at line 1, column 13 still looking for ',' or '}'. Close the "
            "mapping with '}'"
        ),
        id="unclosed-mapping-reaches-bracket",
    ),
    pytest.param(
        'a: "x\n',
        1,
        4,
        (
            'the quote " at line 1, column 4 is never closed: the parser reached the end of'
            ' the file still inside the quoted text. Add the closing " at the end of the '
            "value"
        ),
        id="unclosed-double-quote",
    ),
    pytest.param(
        "a: 'x\n---\nb: 1\n",
        1,
        4,
        (
            "the quote ' at line 1, column 4 is never closed: the parser reached the "
            "document separator at line 2, column 1 still inside the quoted text. Add the "
            "closing ' at the end of the value (inside single quotes, write an apostrophe "
            "twice: 'it''s')"
        ),
        id="unclosed-single-quote-reaches-separator",
    ),
    pytest.param(
        '"a\nb\n',
        1,
        1,
        (
            'the quote " at line 1, column 1 is never closed: the parser reached the end of'
            ' the file still inside the quoted text. Add the closing " at the end of the '
            "value"
        ),
        id="unclosed-quote-at-column-1",
    ),
    pytest.param(
        'a: "x\\q"\n',
        1,
        7,
        (
            "found unknown escape character 'q' at line 1, column 7, inside the "
            "double-quoted text begun at line 1, column 4; in double quotes a backslash "
            "starts an escape: write '\\\\' for a backslash, or use single quotes, where a "
            "backslash is plain text"
        ),
        id="bad-escape",
    ),
    pytest.param(
        "name: x\nnodes:\n  plan:\n  \top: plan\n",
        4,
        3,
        (
            "a tab indents line 4 (column 3); YAML indents with spaces only: replace the "
            "tab with spaces"
        ),
        id="tab-indent-after-spaces",
    ),
    pytest.param(
        "a: 1\nb:\t2\n",
        2,
        3,
        ("a tab at line 2, column 3 where YAML expects a key or a value; replace it with spaces"),
        id="tab-after-colon",
    ),
    pytest.param(
        "a: @x\n",
        1,
        4,
        (
            "'@' at line 1, column 4 cannot start a value (YAML reserves '@' and '`', and "
            "'%' starts a directive); put the value in quotes"
        ),
        id="at-sign",
    ),
    pytest.param(
        "a: `x\n",
        1,
        4,
        (
            "'`' at line 1, column 4 cannot start a value (YAML reserves '@' and '`', and "
            "'%' starts a directive); put the value in quotes"
        ),
        id="backtick",
    ),
    pytest.param(
        "a: [x, y]]\n",
        1,
        10,
        (
            "a closing ']' at line 1, column 10 without its opening '['; remove it, or put "
            "the value in quotes"
        ),
        id="stray-closing-bracket",
    ),
    pytest.param(
        "a: {x: 1}}\n",
        1,
        10,
        (
            "a closing '}' at line 1, column 10 without its opening '{'; remove it, or put "
            "the value in quotes"
        ),
        id="stray-closing-brace",
    ),
    pytest.param(
        "a: 'it's'\n",
        1,
        8,
        (
            "more text at line 1, column 8, after a complete value on the same line; if the"
            " value holds quotes or ': ', put all of it in quotes (inside single quotes, "
            "write an apostrophe twice: 'it''s')"
        ),
        id="text-after-quoted-value",
    ),
    pytest.param(
        "name: x\n- a\n",
        2,
        1,
        (
            "a list item ('- ') at line 2, column 1 inside the mapping begun at line 1, "
            "column 1; a list goes under a key: write the key with ':', then its items "
            "indented below it"
        ),
        id="list-item-in-mapping",
    ),
    pytest.param(
        "- a\nb: 1\n",
        2,
        1,
        (
            "line 2 continues the list begun at line 1, column 1 but does not start with '-"
            " '; every item of a list starts with '- ', and a list and a mapping cannot "
            "share one indent"
        ),
        id="list-continued-without-dash",
    ),
    pytest.param(
        "a:\n  - x\n  y: 1\n",
        3,
        3,
        (
            "line 3 continues the list begun at line 2, column 3 but does not start with '-"
            " '; every item of a list starts with '- ', and a list and a mapping cannot "
            "share one indent"
        ),
        id="nested-list-continued-without-dash",
    ),
    pytest.param(
        "a:\n  b: 1\n c: 2\n",
        3,
        2,
        (
            "line 3 is indented to column 2, which lines up with none of the keys around "
            "it: the enclosing mapping, whose first key is at line 1, column 1, keeps its "
            "keys at column 1. Indent every key of a mapping (every '- ' of a list) by the "
            "same number of spaces"
        ),
        id="mapping-key-out-of-step",
    ),
    pytest.param(
        "- - a\n  - b\n c\n",
        3,
        2,
        (
            "line 3 is indented to column 2, which lines up with none of the '- ' items "
            "around it: the enclosing list, whose first item is at line 1, column 1, keeps "
            "its '- ' items at column 1. Indent every key of a mapping (every '- ' of a "
            "list) by the same number of spaces"
        ),
        id="list-item-out-of-step",
    ),
    pytest.param(
        "a: b: c\n",
        1,
        5,
        (
            "':' at line 1, column 5 cannot start a value here: a value that holds ': ' "
            'must be put in quotes (e.g. question: "why: because")'
        ),
        id="colon-in-value",
    ),
    pytest.param(
        " # c\n  a: b: c\n",
        2,
        7,
        (
            "':' at line 2, column 7 cannot start a value here: a value that holds ': ' "
            'must be put in quotes (e.g. question: "why: because")'
        ),
        id="colon-in-value-after-comment",
    ),
    pytest.param(
        "a: b: c\nlast line\n",
        1,
        5,
        (
            "':' at line 1, column 5 cannot start a value here: a value that holds ': ' "
            'must be put in quotes (e.g. question: "why: because")'
        ),
        id="colon-in-value-before-a-line-without-colon",
    ),
    pytest.param(
        "a: b\n  c: d\n",
        2,
        4,
        (
            "':' at line 2, column 4 cannot start a value here: a value that holds ': ' "
            'must be put in quotes (e.g. question: "why: because")'
        ),
        id="colon-in-value-below-a-key",
    ),
    pytest.param(
        "foo bar\n\nbaz: 1\n",
        1,
        1,
        (
            "line 1 ('foo bar') has no ':' after its key, so the parser read the next line "
            "as more of its text and stumbled on the ':' at line 3, column 4; write it as "
            "'foo: bar'"
        ),
        id="key-without-colon-before-blank-line",
    ),
    pytest.param(
        "foo bar baz\nqux: 1\n",
        1,
        1,
        (
            "line 1 ('foo bar baz') has no ':' after its key, so the parser read the next "
            "line as more of its text and stumbled on the ':' at line 2, column 4; write it"
            " as 'foo: bar baz'"
        ),
        id="key-without-colon-three-words",
    ),
    pytest.param(
        "a:\n  foo bar\n  baz: 1\n",
        2,
        3,
        (
            "line 2 ('foo bar') has no ':' after its key, so the parser read the next line "
            "as more of its text and stumbled on the ':' at line 3, column 6; write it as "
            "'foo: bar'"
        ),
        id="indented-key-without-colon",
    ),
    pytest.param(
        "- foo\n  bar: 1\n",
        2,
        6,
        (
            "':' at line 2, column 6 cannot start a value here: a value that holds ': ' "
            'must be put in quotes (e.g. question: "why: because")'
        ),
        id="colon-after-list-item",
    ),
    pytest.param(
        "name: x\nnodes:\n  plan:\n    op\n    params: {}\n",
        4,
        5,
        (
            "line 4 ('op') has no ':' after its key, so the parser read the next line as "
            "more of its text and stumbled on the ':' at line 5, column 11; write it as "
            "'op:'"
        ),
        id="key-alone-without-colon",
    ),
    pytest.param(
        "x: 1\ny: - a\n",
        2,
        4,
        (
            "'- ' at line 2, column 4 cannot start a list item here: a list goes on lines "
            "of its own under a key (key:, then '- item' indented below it); a value that "
            "starts with '- ' must be put in quotes"
        ),
        id="dash-in-value",
    ),
    pytest.param(
        "  # c\n name: x\nnodes: {}\n",
        2,
        2,
        (
            "the file's top-level value begins at line 2, column 2 and ends before a new "
            "key at line 3, column 1; a graph file is one mapping whose keys all start at "
            "column 1 as 'key: value': check that line 2 is not indented, a '- ' list item "
            "or quoted text"
        ),
        id="indented-root-after-comment",
    ),
    pytest.param(
        "[a] b\n",
        1,
        1,
        (
            "the file's top-level value begins at line 1, column 1 and ends before more "
            "text at line 1, column 5; a graph file is one mapping whose keys all start at "
            "column 1 as 'key: value': check that line 1 is not indented, a '- ' list item "
            "or quoted text"
        ),
        id="flow-root-then-text",
    ),
    pytest.param(
        "name: x\n---\nname: y\n",
        2,
        1,
        (
            "a second YAML document begins at line 2, column 1; a graph file holds one: "
            "remove the '---' line, or split the file in two"
        ),
        id="second-document",
    ),
    pytest.param(
        "a: *nope\n",
        1,
        4,
        (
            "the alias '*nope' at line 1, column 4 refers to no anchor; mark the value to "
            "reuse with '&nope' before this line, or remove the '*'"
        ),
        id="undefined-alias",
    ),
    pytest.param(
        "nodes: ]\n",
        1,
        8,
        (
            "at line 1, column 8, where a value was expected, there is a closing ']' "
            "without its opening '['; remove it, or put the value in quotes"
        ),
        id="closing-bracket-as-value",
    ),
    pytest.param(
        "nodes: }\n",
        1,
        8,
        (
            "at line 1, column 8, where a value was expected, there is a closing '}' "
            "without its opening '{'; remove it, or put the value in quotes"
        ),
        id="closing-brace-as-value",
    ),
    pytest.param(
        "a: [\n",
        2,
        1,
        (
            "at line 2, column 1, where a value was expected, there is the end of the file;"
            " remove it, or put the value in quotes"
        ),
        id="end-of-file-as-value",
    ),
    pytest.param(
        "- a\n- b\nc\n",
        3,
        1,
        (
            "the text at line 3, column 1 reads as a key, but no ':' follows it (the parser"
            " looked up to line 4, column 1); write 'key: value', or put the text in quotes"
        ),
        id="plain-text-among-list-items",
    ),
    pytest.param(
        "a: !<x\n",
        1,
        4,
        (
            "while parsing a tag (at line 1, column 4); expected '>', but found '\\n' (at "
            "line 1, column 7); check the indentation, colons and quotes there and on the "
            "line before"
        ),
        id="raw-tag",
    ),
    pytest.param(
        "a: !foo x\n",
        1,
        4,
        (
            "could not determine a constructor for the tag '!foo' (at line 1, column 4); "
            "check the indentation, colons and quotes there and on the line before"
        ),
        id="raw-unknown-tag",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), EXPLAINED)
def test_each_mistake_gets_its_place_and_message(
    text: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value) == f"YAML syntax error: {message}"


def mark(line: int, column: int) -> yaml.Mark:
    """A PyYAML mark at ``line`` and ``column``, both counted from 0 as PyYAML does."""
    return yaml.Mark("<text>", 0, line, column, None, 0)


def explain(
    context: str | None,
    start: yaml.Mark | None,
    problem: str | None,
    found: yaml.Mark | None,
    text: str,
) -> YamlSyntaxProblem:
    return explain_yaml_error(yaml.MarkedYAMLError(context, start, problem, found), text)


RAW_TAIL = "; check the indentation, colons and quotes there and on the line before"


def test_an_error_without_any_words_or_marks() -> None:
    assert explain(None, None, None, None, "a: 1\n") == YamlSyntaxProblem(
        None, None, f"unreadable YAML{RAW_TAIL}"
    )


def test_an_error_without_a_problem_mark_points_at_its_context() -> None:
    # Checked before the flow explanation: without the mark it cannot say what was reached.
    assert explain("while parsing a flow sequence", mark(2, 3), "oops", None, "") == (
        YamlSyntaxProblem(
            3, 4, f"while parsing a flow sequence (at line 3, column 4); oops{RAW_TAIL}"
        )
    )
    assert explain("while reading", None, "it broke", None, "") == YamlSyntaxProblem(
        None, None, f"while reading; it broke{RAW_TAIL}"
    )


def test_an_unknown_error_points_at_its_context_before_its_problem() -> None:
    assert explain("while reading", mark(0, 1), "it broke", mark(4, 5), "") == (
        YamlSyntaxProblem(
            1,
            2,
            f"while reading (at line 1, column 2); it broke (at line 5, column 6){RAW_TAIL}",
        )
    )
    assert explain(None, None, "it broke", mark(4, 5), "") == YamlSyntaxProblem(
        5, 6, f"it broke (at line 5, column 6){RAW_TAIL}"
    )


@pytest.mark.parametrize(
    ("where", "line", "column"), [(mark(1, 0), 2, 1), (mark(0, 4), 1, 5)], ids=["line", "column"]
)
def test_a_bad_character_past_the_text_is_named_in_words(
    where: yaml.Mark, line: int, column: int
) -> None:
    """Marks on the line after the last one, or past a line's end, read no character."""
    problem = "found character '@' that cannot start any token"
    explained = explain("while scanning for the next token", None, problem, where, "a: 1\n")
    assert explained == YamlSyntaxProblem(
        line,
        column,
        f"this character at line {line}, column {column} cannot start a value (YAML reserves "
        f"'@' and '`', and '%' starts a directive); put the value in quotes",
    )


def test_a_quote_past_the_text_is_called_a_quote() -> None:
    explained = explain(
        "while scanning a quoted scalar",
        mark(1, 0),
        "found unexpected end of stream",
        mark(1, 0),
        "a: 1\n",
    )
    assert explained == YamlSyntaxProblem(
        2,
        1,
        "the quote quote at line 2, column 1 is never closed: the parser reached the end of "
        "the file still inside the quoted text. Add the closing quote at the end of the value",
    )


def test_a_block_end_expected_past_the_text() -> None:
    explained = explain(
        "while parsing a block mapping",
        mark(0, 0),
        "expected <block end>, but found '<scalar>'",
        mark(1, 2),
        "a: 1\n",
    )
    assert explained == YamlSyntaxProblem(
        2,
        3,
        "more text at line 2, column 3, after a complete value on the same line; if the value "
        "holds quotes or ': ', put all of it in quotes (inside single quotes, write an "
        "apostrophe twice: 'it''s')",
    )


def test_content_after_a_root_that_is_not_in_the_text() -> None:
    explained = explain(
        None,
        None,
        "expected '<document start>', but found '<block mapping start>'",
        mark(1, 0),
        "# only a comment\n",
    )
    assert explained == YamlSyntaxProblem(
        2,
        1,
        "the file's top-level value begins at line 2, column 1 and ends before a new key at "
        "line 2, column 1; a graph file is one mapping whose keys all start at column 1 as "
        "'key: value': check that line 2 is not indented, a '- ' list item or quoted text",
    )


def test_a_flow_problem_that_names_no_token() -> None:
    explained = explain(
        "while parsing a flow sequence", mark(0, 3), "it broke", mark(0, 5), "a: [x y"
    )
    assert explained == YamlSyntaxProblem(
        1,
        4,
        "the '[' at line 1, column 4 opens a list that is never closed: the parser reached "
        "something it does not name at line 1, column 6 still looking for ',' or ']'. Close "
        "the list with ']' (or write its items on lines of their own as '- item')",
    )


def test_a_block_context_without_its_start_is_left_in_pyyaml_words() -> None:
    explained = explain(
        "while parsing a block mapping",
        None,
        "expected <block end>, but found '-'",
        mark(1, 0),
        "a: 1\n- b\n",
    )
    assert explained == YamlSyntaxProblem(
        2,
        1,
        f"while parsing a block mapping; expected <block end>, but found '-' (at line 2, "
        f"column 1){RAW_TAIL}",
    )
