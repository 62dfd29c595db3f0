"""parse_yaml: plain data, the line of every key and item, duplicate keys, located errors."""

from __future__ import annotations

import pytest

from orchestrator.graph.yaml_lines import DuplicateKey, ParsedYaml, YamlSyntaxError, parse_yaml


def syntax_error(text: str) -> YamlSyntaxError:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    return caught.value


def test_every_key_and_list_item_has_its_line() -> None:
    parsed = parse_yaml("\nname: x\nnodes:\n  plan:\n    tools:\n      - search\n      - read\n")
    assert parsed.data == {"name": "x", "nodes": {"plan": {"tools": ["search", "read"]}}}
    assert parsed.lines == {
        (): 2,
        ("name",): 2,
        ("nodes",): 3,
        ("nodes", "plan"): 4,
        ("nodes", "plan", "tools"): 5,
        ("nodes", "plan", "tools", 0): 6,
        ("nodes", "plan", "tools", 1): 7,
    }
    assert parsed.duplicates == []


def test_line_of_falls_back_to_the_nearest_written_ancestor() -> None:
    parsed = parse_yaml("\n\nname: x\nnodes:\n  plan: {op: plan}\n")
    assert parsed.line_of(("nodes", "plan", "params", "n")) == 5
    assert parsed.line_of(("edges", 3)) == 3  # only the document itself: its first line
    assert parsed.line_of(()) == 3
    assert ParsedYaml(data=None).line_of(("a",)) is None


def test_an_empty_document_is_none_with_no_lines() -> None:
    parsed = parse_yaml("# only a comment\n")
    assert parsed.data is None
    assert parsed.lines == {}


def test_duplicate_keys_name_both_lines() -> None:
    parsed = parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert parsed.data == {"a": 3, "b": {"c": 2}}
    assert parsed.duplicates == [DuplicateKey(("a",), 5, 1), DuplicateKey(("b", "c"), 4, 3)]


def test_merge_keys_are_resolved_and_never_counted_as_duplicates() -> None:
    text = "base: &b {x: 1, y: 2}\nnode:\n  <<: *b\n  y: 3\n  z: 4\n  z: 5\n"
    parsed = parse_yaml(text)
    assert parsed.data["node"] == {"x": 1, "y": 3, "z": 5}
    # Keys after a merge key are still checked: the duplicate z is found.
    assert parsed.duplicates == [DuplicateKey(("node", "z"), 6, 5)]


def test_a_shared_anchor_is_converted_at_each_use() -> None:
    parsed = parse_yaml("a: &x [1, 2]\nb: *x\n")
    assert parsed.data == {"a": [1, 2], "b": [1, 2]}
    assert parsed.lines[("b", 1)] == 1  # the alias's items were written on the anchor's line


def test_a_recursive_alias_is_refused_at_its_line() -> None:
    error = syntax_error("name: x\nloop: &x [1, *x]\n")
    assert error.line == 2
    assert str(error) == (
        "YAML alias refers to itself; a graph file cannot hold a recursive structure"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [("? [a, b]\n: 1\n", 1), ("x: 1\n? {a: 1}\n: 2\n", 2), ("x: 1\ny: 2\n? !!set {a}\n: 3\n", 3)],
)
def test_a_key_that_is_not_a_plain_value_is_refused_at_its_line(text: str, line: int) -> None:
    error = syntax_error(text)
    assert error.line == line
    assert str(error).startswith("a mapping key must be a plain value such as a name, not ")


def test_a_control_character_names_its_line() -> None:
    error = syntax_error("name: x\nnodes:\n  plan: \x07\n")
    assert (error.line, error.column) == (3, None)
    assert str(error) == (
        "YAML syntax error: character '\\x07' at line 3 is not allowed in YAML "
        "(a control character); remove it"
    )


def test_a_syntax_error_keeps_its_line_and_column() -> None:
    error = syntax_error("name: x\nnodes: [a, b\n")
    assert (error.line, error.column) == (2, 8)
    assert str(error).startswith("YAML syntax error: the '[' at line 2, column 8 opens a list")


def test_two_documents_are_one_too_many() -> None:
    error = syntax_error("name: x\n---\nname: y\n")
    assert error.line is not None
    assert str(error).startswith("YAML syntax error: ")


@pytest.mark.parametrize(
    ("text", "value", "tag"),
    [
        ("a: !!int x\n", "x", "int"),
        ("a: 1\nb: !!float x\n", "x", "float"),
        ("a: 1\nb: 2\nc: !!bool maybe\n", "maybe", "bool"),
        ("a: 1\nb: 2\nc: 3\nd: !!timestamp soon\n", "soon", "timestamp"),
    ],
)
def test_a_value_that_does_not_fit_its_tag_is_named_at_its_line(
    text: str, value: str, tag: str
) -> None:
    error = syntax_error(text)
    line = text.count("\n")
    assert error.line == line
    assert str(error) == (
        f"YAML value {value!r} at line {line} is not a valid '!!{tag}'; write a valid {tag}, "
        f"or remove the '!!{tag}' tag"
    )
