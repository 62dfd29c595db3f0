"""TUMIX's pure parts: a tool-using agent's step (schema, reader), and the round prompts.

TUMIX (Chen et al., 2025, arXiv:2510.01279) runs heterogeneous agents, some reasoning in
text, some calling tools, for several rounds; from the second round each agent sees the
question and every agent's previous answer. A tool-using agent replies each step with
JSON: a thought, the tool calls to run now (their results come back as the next
message), and its answer once it makes no call. The step schema is built from the
job's tools' own argument schemas, so any tool an agent lists works. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.strategies.aggregation_population import format_references

TOOL_SYSTEM = """You solve the user's question, and you may call tools:
{menu}
Reply every step with JSON: {{"thought": "...", "calls": [{{"tool": "name", "args": {{...}}}}],
"answer": "..."}}. Put in "calls" the tool calls to run now; their results come back in the
next message. When you need no more tools, make no calls and give your final answer in
"answer", in the format the question asks for."""

ROUND_PROMPT = (
    "{question}\n\nOther agents, using different approaches (text reasoning, tools), "
    "answered this question in the previous round:\n\n{responses}\n\nUse their answers "
    "as extra evidence: check them, then give your own answer. End with your final "
    "answer in the format the question asks for."
)


@dataclass(frozen=True)
class Step:
    """One reply of a tool-using agent: its thought, tool calls and answer."""

    thought: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answer: str = ""


def tool_args_schema(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A tool's argument schema as it can sit inside a step schema.

    Schemas with ``$ref``/``$defs`` would point at the wrong root once nested, so they
    become a plain object (the tool validates the arguments itself and its error goes
    back to the agent).
    """
    text = json.dumps(parameters)
    if '"$ref"' in text or '"$defs"' in text:
        return {"type": "object"}
    return {key: value for key, value in parameters.items() if key != "title"}


def _function(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    function = schema.get("function", schema)
    return function if isinstance(function, Mapping) else {}


def step_schema(
    tools: Sequence[Mapping[str, Any]], *, allow_calls: bool, max_calls: int
) -> dict[str, Any]:
    """The JSON schema of a step: calls only to ``tools`` (none when not ``allow_calls``).

    ``tools`` are in OpenAI function-tool format (``Toolbox.schemas()``).
    """
    options = [
        {
            "type": "object",
            "properties": {
                "tool": {"type": "string", "enum": [str(_function(t).get("name", ""))]},
                "args": tool_args_schema(_function(t).get("parameters", {"type": "object"})),
            },
            "required": ["tool", "args"],
        }
        for t in tools
    ]
    calls: dict[str, Any] = {"type": "array", "maxItems": max_calls if allow_calls else 0}
    if options:
        calls["items"] = {"anyOf": options}
    else:
        calls["maxItems"] = 0
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": 600},
            "calls": calls,
            "answer": {"type": "string", "maxLength": 2000},
        },
        "required": ["thought", "calls", "answer"],
    }


def tool_menu(tools: Sequence[Mapping[str, Any]]) -> str:
    """One line per tool: its name, arguments (with types) and description."""
    lines = []
    for schema in tools:
        function = _function(schema)
        props: Mapping[str, Any] = function.get("parameters", {}).get("properties", {})
        args = ", ".join(f"{name}: {spec.get('type', 'any')}" for name, spec in props.items())
        description = str(function.get("description", "")).strip().split("\n")[0]
        lines.append(f"- {function.get('name', '?')}({args}): {description}")
    return "\n".join(lines)


def tool_system_prompt(tools: Sequence[Mapping[str, Any]], own: str | None = None) -> str:
    """The tool-using agent's system prompt, after the agent's own (its persona), if any."""
    text = TOOL_SYSTEM.format(menu=tool_menu(tools))
    return f"{own.strip()}\n\n{text}" if own and own.strip() else text


def parse_step(text: str) -> Step | None:
    """The step in a reply (the first JSON object in it), or None if it has none.

    Calls without a tool name are dropped; string arguments are kept as they are (the
    tool parses or rejects them).
    """
    stripped = text.strip()
    start = stripped.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped, start)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    calls: list[tuple[str, dict[str, Any]]] = []
    for call in value.get("calls") or []:
        if isinstance(call, dict) and isinstance(call.get("tool"), str) and call["tool"]:
            args = call.get("args", {})
            calls.append((call["tool"], args if isinstance(args, dict) else {"input": args}))
    return Step(
        thought=str(value.get("thought") or ""),
        calls=calls,
        answer=str(value.get("answer") or ""),
    )


def round_prompt(question: str, previous: Sequence[str]) -> str:
    """The question, with every agent's previous answer from the second round on."""
    if not previous:
        return question
    return ROUND_PROMPT.format(question=question.strip(), responses=format_references(previous))


def results_message(calls: Sequence[tuple[str, Mapping[str, Any]]], results: Sequence[str]) -> str:
    """The tool results of a step, numbered like its calls, for the next message."""
    blocks = [
        f"[{i}] {name}({', '.join(f'{k}={v!r}' for k, v in args.items())}):\n{result}"
        for i, ((name, args), result) in enumerate(zip(calls, results, strict=True), 1)
    ]
    return "Tool results:\n\n" + "\n\n".join(blocks)
