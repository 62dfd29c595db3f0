"""Tool calls as GenAI ``execute_tool {tool}`` spans, through ``ObservedToolbox``'s span hook.

Every tool call of a job already goes through ``orchestrator.tool_calls.ObservedToolbox``
(limits, timeouts, events); ``ToolSpans`` is its span hook. A call's arguments and
result go on the span only when content capture is on (``conventions``); a failed call
(a ``ToolError`` the agent reads, a timeout) is recorded as an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, TracerProvider

from orchestrator.errors import ToolError
from orchestrator.tool_calls import ToolCallSpan
from orchestrator.toolbox import ToolLike
from orchestrator.tracing import conventions as semconv
from orchestrator.tracing.conventions import Conventions
from orchestrator.tracing.merge import merged_by_scope
from orchestrator.tracing.spans import Attributes, failing_span, record_error, tracer_of

# Characters of a tool's arguments and result kept on its span (content capture only).
CONTENT_CHARS = 4000


class _CallSpan:
    def __init__(self, span: Span, capture: bool) -> None:
        self._span = span
        self._capture = capture

    def finished(self, result: str, error: ToolError | None) -> None:
        self._span.set_attribute("breadth.tool.result_chars", len(result))
        if error is not None:
            record_error(self._span, error)
        elif self._capture:
            self._span.set_attribute(semconv.TOOL_RESULT, result[:CONTENT_CHARS])


class ToolSpans:
    """The span hook of a job's ``ObservedToolbox``: one ``execute_tool`` span per call."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        conventions: Conventions | None = None,
    ) -> None:
        self._tracer = tracer_of(tracer_provider)
        self._conventions = conventions or Conventions.from_env()

    @contextmanager
    def __call__(self, tool: ToolLike, args: Mapping[str, Any] | str) -> Iterator[ToolCallSpan]:
        capture = self._conventions.records_content
        attributes: Attributes = {
            semconv.OPERATION: semconv.EXECUTE_TOOL,
            semconv.TOOL_NAME: tool.name,
            semconv.TOOL_TYPE: "function",
            semconv.TOOL_DESCRIPTION: tool.description[:CONTENT_CHARS] or None,
            semconv.TOOL_ARGUMENTS: _arguments(args) if capture else None,
        }
        with failing_span(self._tracer, f"execute_tool {tool.name}", attributes) as current:
            try:
                yield _CallSpan(current, capture)
            finally:
                merged_by_scope(current.get_span_context())


def _arguments(args: Mapping[str, Any] | str) -> str:
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)
    return text[:CONTENT_CHARS]
