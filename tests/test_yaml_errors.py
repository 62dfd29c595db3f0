"""YAML syntax errors point at their cause (an unclosed bracket's line, not the file's end)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from orchestrator.graph.loader import graph_problems
from orchestrator.graph.yaml_lines import YamlSyntaxError, parse_yaml

ISSUE_EXAMPLE = "name: broken\nnodes:\n  plan:\n    op: plan\n  research: [unclosed\n"
GRAPHS = Path(__file__).parents[1] / "graphs"


def syntax_error(text: str) -> YamlSyntaxError:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    return caught.value


def test_the_issue_example_points_at_the_open_bracket(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(ISSUE_EXAMPLE)
    [problem] = graph_problems(path)
    assert str(problem) == (
        f"{path}:5: yaml: YAML syntax error: the '[' at line 5, column 13 opens a list that "
        f"is never closed: the parser reached the end of the file still looking for ',' or "
        f"']'. Close the list with ']' (or write its items on lines of their own as '- item')"
    )


def test_an_unclosed_bracket_mid_file_names_where_it_was_noticed() -> None:
    text = "name: x\nnodes:\n  research:\n    tools: [search, fetch\n    op: research\n"
    error = syntax_error(text)
    assert (error.line, error.column) == (4, 12)
    message = str(error)
    # The cause comes first, the detection point second.
    assert message.index("line 4, column 12") < message.index("':' at line 5, column 7")


def test_an_unclosed_brace() -> None:
    error = syntax_error("name: x\nnodes:\n  plan: {op: plan\n  research:\n    op: research\n")
    assert (error.line, error.column) == (3, 9)
    assert "the '{' at line 3, column 9 opens a mapping that is never closed" in str(error)
    assert "Close the mapping with '}'" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "column", "quote"),
    [
        ('name: "broken\nnodes:\n  plan:\n    op: plan\n', 1, 7, '"'),
        ("name: x\nnodes:\n  plan:\n    op: 'plan\n  research:\n    op: r\n", 4, 9, "'"),
        ('name: x\ndescription: "a b\nnodes: {}\n---\nmore\n', 2, 14, '"'),
    ],
)
def test_an_unclosed_quote(text: str, line: int, column: int, quote: str) -> None:
    error = syntax_error(text)
    assert (error.line, error.column) == (line, column)
    assert f"the quote {quote} at line {line}, column {column} is never closed" in str(error)


def test_a_tab_indent_says_to_use_spaces() -> None:
    error = syntax_error("name: x\nnodes:\n  plan:\n\top: plan\n")
    assert (error.line, error.column) == (4, 1)
    assert "a tab indents line 4" in str(error) and "spaces only" in str(error)


def test_a_bad_indent_mid_file_points_at_the_line_out_of_step() -> None:
    text = "name: x\nnodes:\n  plan:\n    op: plan\n   research:\n    op: r\nedges: []\n"
    error = syntax_error(text)
    assert (error.line, error.column) == (5, 4)
    assert "line 5 is indented to column 4" in str(error)
    assert "first key is at line 3, column 3, keeps its keys at column 3" in str(error)


def test_a_key_without_colon_is_named_not_the_line_after_it() -> None:
    error = syntax_error("name: x\nnodes:\n  plan:\n    op plan\n    params: {}\n")
    assert error.line == 4
    assert "line 4 ('op plan') has no ':'" in str(error) and "'op: plan'" in str(error)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("nodes: ]\n", 1, "a closing ']' without its opening '['"),
        ("a: [x, y]]\n", 1, "a closing ']' at line 1, column 10"),
        ("name: x\n- a\n", 2, "a list item ('- ') at line 2, column 1 inside the mapping"),
        ("a: *nope\n", 1, "'*nope' at line 1, column 4 refers to no anchor"),
        ("name: x\n---\nname: y\n", 2, "a second YAML document"),
        ("a: '\\q'\nb: \"\\q\"\n", 2, "found unknown escape character 'q' at line 2, column 6"),
        ("name: @x\n", 1, "'@' at line 1, column 7 cannot start a value"),
        ("a: 'it's'\n", 1, "after a complete value on the same line"),
        ("# a graph\n name: x\nnodes: {}\n", 2, "top-level value begins at line 2, column 2"),
    ],
)
def test_other_mistakes_are_named_in_plain_words(text: str, line: int, words: str) -> None:
    error = syntax_error(text)
    assert error.line == line
    assert words in str(error)


def test_mangled_graph_files_always_give_a_located_error() -> None:
    """Random edits to the built-in graphs never crash the explainer or point off the file."""
    rng = random.Random(14)
    texts = [path.read_text() for path in sorted(GRAPHS.glob("*.yaml"))]
    for _ in range(300):
        text = rng.choice(texts)
        at = rng.randrange(len(text))
        edit = rng.choice(["[", "{", '"', "'", "\t", ":", "-", " ", "]", ""])
        mangled = text[:at] + edit + text[at + rng.choice([0, 1]) :]
        try:
            parse_yaml(mangled)
        except YamlSyntaxError as error:
            assert str(error).startswith("YAML syntax error: ")
            assert error.line is None or 1 <= error.line <= mangled.count("\n") + 1
