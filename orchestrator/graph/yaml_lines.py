"""YAML text → plain data plus the line of every key and list item, and duplicate keys.

``yaml.safe_load`` forgets where things were and silently keeps the last of two equal
keys; a user fixing a graph file needs both. So the text is composed into nodes (which
carry marks) and converted here, recording ``path → line`` on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import yaml

from orchestrator.graph.yaml_errors import explain_yaml_error

DataPath = tuple[str | int, ...]


class YamlSyntaxError(Exception):
    """The text is not valid YAML (or uses something a graph file cannot hold)."""

    def __init__(self, message: str, line: int | None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__(message)


@dataclass(frozen=True)
class DuplicateKey:
    path: DataPath
    line: int
    first_line: int


@dataclass
class ParsedYaml:
    """The data of a YAML document and where each part of it was written."""

    data: Any
    lines: dict[DataPath, int] = field(default_factory=dict)
    duplicates: list[DuplicateKey] = field(default_factory=list)

    def line_of(self, path: DataPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that was written in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; raises ``YamlSyntaxError`` with the line to look at."""
    try:
        # The reader checks all the characters of a str as it is made: a control character
        # fails here, and nothing later can raise an unmarked YAMLError.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlSyntaxError(
            f"YAML syntax error: character {chr(exc.character)!r} at line {line} is not allowed "
            f"in YAML (a control character); remove it",
            line,
        ) from None
    try:
        root = loader.get_single_node()
        parsed = ParsedYaml(data=None)
        if root is not None:
            parsed.lines[()] = root.start_mark.line + 1
            parsed.data = _Converter(loader, parsed).convert(root, ())
        return parsed
    except yaml.MarkedYAMLError as exc:
        where = explain_yaml_error(exc, text)
        raise YamlSyntaxError(
            f"YAML syntax error: {where.message}", where.line, where.column
        ) from None
    finally:
        loader.dispose()


class _Converter:
    """Turns composed YAML nodes into data, filling ``parsed.lines`` and ``parsed.duplicates``."""

    def __init__(self, loader: yaml.SafeLoader, parsed: ParsedYaml) -> None:
        self._loader = loader
        self._parsed = parsed
        self._open: set[int] = set()  # nodes being converted: guards recursive aliases

    def convert(self, node: yaml.Node, path: DataPath) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self._open:
            raise YamlSyntaxError(
                "YAML alias refers to itself; a graph file cannot hold a recursive structure",
                node.start_mark.line + 1,
            )
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            # The composer makes only scalar, sequence and mapping nodes.
            return self._mapping(cast(yaml.MappingNode, node), path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            # A scalar is constructed at once: ``deep`` only matters for collections.
            return self._loader.construct_object(node)
        except (ValueError, KeyError, AttributeError, TypeError):
            # PyYAML's constructors let a value that does not fit its explicit tag
            # (``!!int x``, ``!!bool maybe``) escape as a plain Python error.
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            raise YamlSyntaxError(
                f"YAML value {node.value!r} at line {node.start_mark.line + 1} is not a valid "
                f"'!!{tag}'; write a valid {tag}, or remove the '!!{tag}' tag",
                node.start_mark.line + 1,
            ) from None

    def _sequence(self, node: yaml.SequenceNode, path: DataPath) -> list[Any]:
        items = []
        for index, child in enumerate(node.value):
            self._parsed.lines[(*path, index)] = child.start_mark.line + 1
            items.append(self.convert(child, (*path, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[Any, Any]:
        self._note_duplicates(node, path)
        # Resolves YAML merge keys (``<<: *base``); the node's own keys win over merged ones.
        self._loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node)
            self._parsed.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _key(self, key_node: yaml.Node) -> Any:
        key = self._loader.construct_object(key_node, deep=True)
        if not isinstance(key, Mapping | list) and _hashable(key):
            return key
        raise YamlSyntaxError(
            f"a mapping key must be a plain value such as a name, not {key!r}",
            key_node.start_mark.line + 1,
        )

    def _note_duplicates(self, node: yaml.MappingNode, path: DataPath) -> None:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            merge_key = key_node.tag == "tag:yaml.org,2002:merge"
            if not isinstance(key_node, yaml.ScalarNode) or merge_key:
                continue
            key = self._key(key_node)
            line = key_node.start_mark.line + 1
            if key in first_lines:
                self._parsed.duplicates.append(DuplicateKey((*path, key), line, first_lines[key]))
            else:
                first_lines[key] = line


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
