"""A scripted simulator behaviour for tool-using research: researchers fetch and compute.

The default simulator (``sim_writer``) fills every schema with plausible values, so its
researchers only ever pick the first kind of tool call. This behaviour answers a
research step the way a tool-using model would: while the question names URLs not yet
fetched (and the step offers ``fetch``), it fetches them, and runs a small ``python``
computation beside them; once pages are fetched it reports findings quoting each page
and citing its id (``[web/...]`` in the tool results). Everything else is the default
simulator's. Deterministic and pure, like ``sim_writer``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from orchestrator.models.protocol import GenerateRequest
from orchestrator.models.sim_writer import write_reply
from orchestrator.testing import ScriptedModel

_URL = re.compile(r"https?://[^\s'\"<>)\]]+")
_PAGE = re.compile(
    r"^\[(web/[^\]\n]+)\] (.*?) \(characters \d+-\d+ of \d+\)\nURL: (\S+)\n\n(.*?)(?=\n\n\[|\Z)",
    re.M | re.S,
)
_UNSAFE = re.compile(r'["\\\n]+')
PYTHON_CODE = "import statistics\nprint(statistics.mean([6379, 80, 443]))"


def _offered_tools(schema: Mapping[str, Any]) -> set[str]:
    """The tool names a step's schema lets the model call."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            tool = node.get("properties", {}).get("tool") if "properties" in node else None
            if isinstance(tool, Mapping):
                found.update(str(v) for v in tool.get("enum", [tool.get("const")]) if v)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def _claim(title: str, text: str) -> str:
    words = _UNSAFE.sub(" ", " ".join(text.split()))[:160].rsplit(" ", 1)[0]
    return f"The page {_UNSAFE.sub(' ', title)[:60]} says: {words}."


def research_step(request: GenerateRequest, index: int) -> str | None:
    """A research step's reply (fetch the question's URLs, then cite them), or None."""
    schema = request.json_schema or {}
    if schema.get("title") != "ResearchStep":
        return None
    conversation = "\n".join(m.content for m in request.messages)
    pages = {m.group(3): m for m in _PAGE.finditer(conversation)}
    first_user = next((m.content for m in request.messages if m.role == "user"), "")
    # The URLs the questions name (not those in search results quoted below them).
    questions = [line for line in first_user.splitlines() if line.endswith("?")]
    wanted = [u.rstrip(".,;?") for line in questions for u in _URL.findall(line)]
    offered = _offered_tools(schema)
    todo = [url for url in dict.fromkeys(wanted) if url not in pages]
    if todo and "fetch" in offered:
        calls: list[dict[str, Any]] = [{"tool": "fetch", "url": url} for url in todo[:2]]
        if "python" in offered:
            calls.append({"tool": "python", "code": PYTHON_CODE})
        reply = {"thought": "fetch the pages", "tool_calls": calls, "findings": [], "done": False}
        return json.dumps(reply)
    findings = [
        {"claim": _claim(m.group(2), m.group(4)), "source_ids": [m.group(1)]}
        for m in list(pages.values())[:3]
    ]
    if not findings:
        return None
    return json.dumps(
        {"thought": "cite the pages", "tool_calls": [], "findings": findings, "done": True}
    )


def tool_research_reply(request: GenerateRequest, index: int) -> str:
    return research_step(request, index) or write_reply(request, index)


def tool_research_backend(name: str = "breadth-sim") -> ScriptedModel:
    """The simulator backend whose researchers fetch the question's URLs and run python."""
    return ScriptedModel(tool_research_reply, name=name)
