"""Structured tool calls built from a tool's JSON schema (pure, no I/O).

A researcher's step lists its tool calls as objects ``{"tool": NAME, ARG: value, ...}``.
For any tool (fetch, python, calculator, an MCP server's) the call's model is made from
the tool's argument schema: one field per property, whose JSON schema is the property's
own, so a server that decodes under the step's schema (vLLM, llama.cpp) writes calls
the tool accepts. The arguments are checked again by the tool itself, and a bad call
comes back to the model as an error it can fix.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

MAX_REF_DEPTH = 8
SHOWN_DESCRIPTION = 240


def inline_refs(schema: Any, defs: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """``schema`` with local ``$ref``s (``#/$defs/X``) replaced by their definitions."""
    if defs is None and isinstance(schema, Mapping):
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    defs = defs or {}
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str) and depth < MAX_REF_DEPTH:
            target = defs.get(ref.rsplit("/", 1)[-1], {})
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return inline_refs({**target, **rest}, defs, depth + 1)
        return {
            key: inline_refs(value, defs, depth)
            for key, value in schema.items()
            if key not in ("$defs", "definitions", "title")
        }
    if isinstance(schema, list):
        return [inline_refs(item, defs, depth) for item in schema]
    return schema


def call_model(name: str, parameters: Mapping[str, Any]) -> type[BaseModel]:
    """The model of one call of tool ``name``: ``tool`` (the name) plus its arguments."""
    schema = inline_refs(dict(parameters))
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {"tool": (cast(Any, Literal)[name], ...)}
    for index, (prop, sub) in enumerate(properties.items()):
        annotation = Annotated[Any, WithJsonSchema(dict(sub))]
        default = ... if prop in required else None
        if prop.isidentifier() and not keyword.iskeyword(prop) and prop not in _RESERVED:
            fields[prop] = (annotation, Field(default))
        else:
            fields[f"arg{index}"] = (annotation, Field(default, alias=prop))
    model_name = "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
    return create_model(
        f"{model_name or 'Tool'}Call",
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


# Names a pydantic field cannot take (BaseModel's own attributes) or the call uses itself.
_RESERVED = frozenset({"tool", *dir(BaseModel)})


def call_arguments(call: Mapping[str, Any]) -> dict[str, Any]:
    """A dumped call's arguments: every field but ``tool``, unset optional ones left out."""
    return {k: v for k, v in call.items() if k != "tool" and v is not None}


def describe_tools(tools: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """One line per tool for a prompt: its name, what it does, and its arguments."""
    lines = []
    for name, description, parameters in tools:
        properties: Mapping[str, Any] = parameters.get("properties", {})
        required = set(parameters.get("required", []))
        args = ", ".join(f"{p}" + ("" if p in required else " (optional)") for p in properties)
        summary = " ".join(description.split())
        if len(summary) > SHOWN_DESCRIPTION:
            summary = summary[: SHOWN_DESCRIPTION - 1] + "…"
        lines.append(f"- {name}({args}): {summary}")
    return "\n".join(lines)
