"""Load an agent graph YAML file into a ``GraphSpec``, reporting every problem at once.

Problems come from four places, all collected in one pass: reading the file, YAML
syntax and duplicate keys (``yaml_lines``), the pydantic models (types, bounds,
unknown fields) and the cross-reference checks (``checks``: unknown ops, dangling
edges, ...). Each becomes a ``SpecProblem`` with the file, the line and the field path
(``nodes.research.op``, ``edges[2].to``), sorted by line.
"""

from __future__ import annotations

import types
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from orchestrator.errors import GraphSpecError, SpecProblem
from orchestrator.graph.checks import graph_findings, suggestion
from orchestrator.graph.spec import GraphSpec
from orchestrator.graph.yaml_lines import DataPath, ParsedYaml, YamlSyntaxError, parse_yaml
from orchestrator.ops import ParamCheck


def load_graph(
    path: Path | str,
    *,
    known_ops: Collection[str] | None = None,
    known_tools: Collection[str] | None = None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> GraphSpec:
    """The graph in ``path``; raises ``GraphSpecError`` listing every problem in it.

    ``known_ops`` / ``known_tools``: the names nodes and agents may use; None skips
    that check (e.g. when the registry is not at hand). ``param_checks``: per op, a
    check of a node's ``params`` (see ``OpRegistry.param_checks``).
    """
    spec, problems = _load(path, known_ops, known_tools, param_checks)
    if problems or spec is None:
        raise GraphSpecError(problems)
    return spec


def graph_problems(
    path: Path | str,
    *,
    known_ops: Collection[str] | None = None,
    known_tools: Collection[str] | None = None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> list[SpecProblem]:
    """Every problem in the graph file ``path``, sorted by line (``[]``: it is valid)."""
    return _load(path, known_ops, known_tools, param_checks)[1]


def load_graph_text(
    text: str,
    *,
    file: str = "<graph>",
    known_ops: Collection[str] | None = None,
    known_tools: Collection[str] | None = None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> GraphSpec:
    """The graph in YAML ``text`` (sent over the API, say); ``file`` names it in problems."""
    spec, problems = _load_text(file, text, known_ops, known_tools, param_checks)
    if problems or spec is None:
        raise GraphSpecError(problems)
    return spec


def graph_text_problems(
    text: str,
    *,
    file: str = "<graph>",
    known_ops: Collection[str] | None = None,
    known_tools: Collection[str] | None = None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> list[SpecProblem]:
    """Every problem in the graph YAML ``text``, sorted by line (``[]``: it is valid)."""
    return _load_text(file, text, known_ops, known_tools, param_checks)[1]


def field_path(path: Sequence[str | int], data: Any = None) -> str:
    """A data path as users read it: ``nodes.research.op``, ``edges[2].to``.

    With ``data``, an int is written as an index only where ``data`` holds a list there.
    """
    text = ""
    for part in path:
        is_index = isinstance(part, int) and (data is None or isinstance(data, list))
        text += f"[{part}]" if is_index else f"{'.' if text else ''}{part}"
        data = _child(data, part)
    return text or "(top level)"


def _child(data: Any, part: str | int) -> Any:
    if isinstance(data, Mapping):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return None


def _load(
    path: Path | str,
    known_ops: Collection[str] | None,
    known_tools: Collection[str] | None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> tuple[GraphSpec | None, list[SpecProblem]]:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, [SpecProblem(file, None, "file", _read_error(exc))]
    except UnicodeDecodeError as exc:
        return None, [
            SpecProblem(
                file,
                None,
                "file",
                f"not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
                f"{exc.start}); save the file as UTF-8",
            )
        ]
    return _load_text(file, text, known_ops, known_tools, param_checks)


def _load_text(
    file: str,
    text: str,
    known_ops: Collection[str] | None,
    known_tools: Collection[str] | None,
    param_checks: Mapping[str, ParamCheck] | None = None,
) -> tuple[GraphSpec | None, list[SpecProblem]]:
    try:
        parsed = parse_yaml(text)
    except YamlSyntaxError as exc:
        return None, [SpecProblem(file, exc.line, "yaml", str(exc))]
    if not isinstance(parsed.data, Mapping):
        line = parsed.lines.get(())
        return None, [SpecProblem(file, line, "(top level)", _not_a_mapping(parsed))]

    problems = [
        SpecProblem(
            file,
            dup.line,
            field_path(dup.path, parsed.data),
            f"duplicate key {dup.path[-1]!r}: it was already written on line {dup.first_line} "
            f"and YAML would silently keep only the last one; remove or rename one of them",
        )
        for dup in parsed.duplicates
    ]
    spec: GraphSpec | None = None
    try:
        spec = GraphSpec.model_validate(parsed.data)
    except ValidationError as exc:
        problems += [_pydantic_problem(file, parsed, error) for error in exc.errors()]
    for finding in graph_findings(parsed.data, known_ops=known_ops, known_tools=known_tools):
        problems.append(
            SpecProblem(
                file,
                parsed.line_of(finding.path),
                field_path(finding.path, parsed.data),
                finding.message,
            )
        )
    problems += _param_problems(file, parsed, param_checks or {})
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: p.line or 0)
    return spec, unique


def _param_problems(
    file: str, parsed: ParsedYaml, checks: Mapping[str, ParamCheck]
) -> list[SpecProblem]:
    """Each node's ``params`` checked by its op's check, located at the bad param's line."""
    problems = []
    nodes = parsed.data.get("nodes")
    for name, node in nodes.items() if isinstance(nodes, Mapping) else []:
        if not isinstance(node, Mapping):
            continue
        op = node.get("op")
        check = checks.get(op) if isinstance(op, str) else None
        params = node.get("params", {})
        if check is None or not isinstance(params, Mapping):
            continue
        for problem in check(params):
            relative, message = problem.path, problem.message
            path: DataPath = ("nodes", name, "params", *relative)
            line = parsed.line_of(path)
            while line is None and len(path) > 2:
                path = path[:-1]
                line = parsed.line_of(path)
            problems.append(
                SpecProblem(file, line, field_path(("nodes", name, "params", *relative)), message)
            )
    return problems


def _read_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return (
            "no such file; check the path (the built-in graphs are listed by `breadth graphs` "
            "and can be given by name)"
        )
    if isinstance(exc, IsADirectoryError):
        return "this is a directory, not a file; give the path of a graph .yaml file"
    return f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable"


def _not_a_mapping(parsed: ParsedYaml) -> str:
    if parsed.data is None:
        what = "the file is empty"
    else:
        what = f"the file holds a {type(parsed.data).__name__} ({parsed.data!r:.60})"
    return (
        f"{what}, but a graph file is a mapping with at least 'name', 'nodes' and 'edges'; "
        f"see graphs/deep_research.yaml, or `breadth schema` for every field"
    )


def _pydantic_problem(file: str, parsed: ParsedYaml, error: ErrorDetails) -> SpecProblem:
    """One pydantic error as a problem with its line, field path, value, rule and fix."""
    loc: DataPath = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        message = f"the name {value!r} must be a string; put it in quotes"
        return SpecProblem(file, parsed.line_of(loc), field_path(loc, parsed.data), message)
    parent, info = _field_at(loc)
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        allowed = _field_names(parent)
        message = (
            f"unknown field {key!r}{suggestion(str(key), allowed)}; fields allowed here: "
            f"{', '.join(allowed)}; fix the spelling or remove it"
        )
    elif kind == "missing":
        hint = f" ({_describe(info)})" if info is not None and info.description else ""
        message = f"required field {key!r} is missing{hint}; add it"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        model = _type_at(loc)
        fields = f" with fields such as {', '.join(_field_names(model)[:5])}" if model else ""
        message = f"{value!r} is not a mapping; write a mapping{fields}"
    elif kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
    else:
        rule = error["msg"]
        expected = f"; expected: {_describe(info)}" if info is not None and info.description else ""
        message = f"{value!r} is not valid: {rule[:1].lower()}{rule[1:]}{expected}"
    return SpecProblem(file, parsed.line_of(loc), field_path(loc, parsed.data), message)


def _describe(info: FieldInfo) -> str:
    return (info.description or "").rstrip(".")


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _field_at(loc: DataPath) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the last field of ``loc``, and that field (None if unknown)."""
    current: Any = GraphSpec
    parent: type[BaseModel] | None = None
    info: FieldInfo | None = None
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent, info = current, _model_field(current, str(part))
            current = info.annotation if info is not None else None
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
            parent, info = None, None
        else:
            return None, None
    return parent, info


def _type_at(loc: DataPath) -> type[BaseModel] | None:
    """The model expected at ``loc`` itself (e.g. NodeSpec at ``nodes.research``)."""
    current: Any = GraphSpec
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = _model_field(current, str(part))
            current = info.annotation if info is not None else None
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation
