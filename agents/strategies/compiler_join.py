"""LLMCompiler's text around a plan: tools in the planner's notation, the joiner's verdict.

The planner reads each tool as a signature line; the joiner (Kim et al., 2023, "An LLM
Compiler for Parallel Function Calling", arXiv:2312.04511) replies with a thought, an
action (answer or replan) and an answer, as JSON when the server supports structured
output, and ``read_verdict`` reads that reply however a small model wrote it. Standard
library only, plus the plan's ``PlannedCall``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agents.strategies.compiler_plan import PlannedCall

VERDICT_KEYS = ("action", "thought", "answer")


def joiner_schema(final: bool) -> dict[str, Any]:
    """The joiner's reply: its reasoning, answer or replan, and the (best so far) answer."""
    actions = ["answer"] if final else ["answer", "replan"]
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": 800},
            "action": {"type": "string", "enum": actions},
            "answer": {"type": "string", "maxLength": 4000},
        },
        "required": ["thought", "action", "answer"],
    }


def tool_signature(schema: Mapping[str, Any]) -> str:
    """A tool in the planner's notation: ``search(query: string, k: integer = 5): what``."""
    fn = schema.get("function", schema)
    parameters = fn.get("parameters", {})
    required = set(parameters.get("required", []))
    parts = []
    for name, prop in parameters.get("properties", {}).items():
        kinds = [p.get("type", "any") for p in prop.get("anyOf", [prop])]
        text = f"{name}: {' | '.join(str(k) for k in kinds)}"
        parts.append(text if name in required else f"{text} = {json.dumps(prop.get('default'))}")
    return f"{fn['name']}({', '.join(parts)}): {fn.get('description', '')}".strip()


def call_text(call: PlannedCall) -> str:
    """A call as the planner wrote it (references unresolved)."""
    args = [repr(v) for v in call.positional] + [f"{k}={v!r}" for k, v in call.args.items()]
    return f"{call.tool}({', '.join(args)})"


def _json_field(text: str, key: str) -> str:
    """A string field of a JSON object that may be cut short (a reply over max_tokens)."""
    match = re.search(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)', text)
    if match is None:
        return ""
    try:
        return str(json.loads(f'"{match.group(1)}"')).strip()
    except json.JSONDecodeError:
        return match.group(1).strip()


def read_verdict(text: str, *, final: bool) -> dict[str, str] | None:
    """The joiner's reply as {action, thought, answer}; tolerant of replies that are not JSON.

    JSON cut short keeps the fields it has; plain text is an answer (a replan when it says
    ``Replan``), LLMCompiler's ``Finish(...)`` its answer; an empty reply is None.
    """
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        verdict = {key: str(data.get(key) or "").strip() for key in VERDICT_KEYS}
    elif text.lstrip().startswith("{"):
        verdict = {key: _json_field(text, key) for key in VERDICT_KEYS}
    elif not text.strip():
        return None
    elif finish := re.search(r"Finish\((.*)\)", text, re.DOTALL):
        verdict = {"action": "answer", "thought": "", "answer": finish.group(1).strip()}
    elif re.search(r"\breplan\b", text, re.IGNORECASE):
        verdict = {"action": "replan", "thought": text.strip(), "answer": ""}
    else:
        verdict = {"action": "answer", "thought": "", "answer": text.strip()}
    action = verdict["action"]
    if (
        final
        or action not in ("answer", "replan")
        or (action == "answer" and not verdict["answer"])
    ):
        verdict["action"] = "answer" if verdict["answer"] else "replan"
    return verdict
