"""Which OpenTelemetry GenAI semantic conventions breadth's spans follow, read from the env.

The GenAI conventions are still in development. As they ask of instrumentations, the
default is the older naming (up to v1.36: the backend in ``gen_ai.system``); setting
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` switches to the current
development names (``gen_ai.provider.name``, content as ``gen_ai.input.messages`` /
``gen_ai.output.messages`` JSON). Message and tool-call content is recorded only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` too: prompts, answers and
tool arguments may be sensitive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
LATEST_GEN_AI = "gen_ai_latest_experimental"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Attribute names (the semantic-conventions package's constants, so a rename shows here).
OPERATION = gen_ai.GEN_AI_OPERATION_NAME
PROVIDER = gen_ai.GEN_AI_PROVIDER_NAME
SYSTEM = gen_ai.GEN_AI_SYSTEM
REQUEST_MODEL = gen_ai.GEN_AI_REQUEST_MODEL
RESPONSE_MODEL = gen_ai.GEN_AI_RESPONSE_MODEL
CHOICE_COUNT = gen_ai.GEN_AI_REQUEST_CHOICE_COUNT
INPUT_TOKENS = gen_ai.GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
FINISH_REASONS = gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
TIME_TO_FIRST_CHUNK = gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
AGENT_NAME = gen_ai.GEN_AI_AGENT_NAME
AGENT_DESCRIPTION = gen_ai.GEN_AI_AGENT_DESCRIPTION
WORKFLOW_NAME = gen_ai.GEN_AI_WORKFLOW_NAME
TOOL_NAME = gen_ai.GEN_AI_TOOL_NAME
TOOL_TYPE = gen_ai.GEN_AI_TOOL_TYPE
TOOL_DESCRIPTION = gen_ai.GEN_AI_TOOL_DESCRIPTION
TOOL_ARGUMENTS = gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_RESULT = gen_ai.GEN_AI_TOOL_CALL_RESULT
INPUT_MESSAGES = gen_ai.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = gen_ai.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS = gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS

CHAT = gen_ai.GenAiOperationNameValues.CHAT.value
INVOKE_AGENT = gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value
EXECUTE_TOOL = gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value
INVOKE_WORKFLOW = gen_ai.GenAiOperationNameValues.INVOKE_WORKFLOW.value


def _listed(raw: str) -> set[str]:
    return {item.strip().lower() for item in raw.split(",") if item.strip()}


@dataclass(frozen=True)
class Conventions:
    """The naming the spans use: the latest development names or the older ones, and
    whether message and tool content is recorded."""

    latest: bool = False
    capture_content: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Conventions:
        """The conventions ``OTEL_SEMCONV_STABILITY_OPT_IN`` (and content capture) ask for."""
        values = os.environ if env is None else env
        latest = LATEST_GEN_AI in _listed(values.get(OPT_IN_ENV, ""))
        capture = values.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"
        return cls(latest=latest, capture_content=capture)

    @property
    def records_content(self) -> bool:
        """Content goes on spans only with the latest names (the older ones used events)."""
        return self.latest and self.capture_content

    def provider(self, name: str) -> dict[str, Any]:
        """The backend's name under the attribute these conventions give it."""
        return {PROVIDER if self.latest else SYSTEM: name}


def messages_json(messages: Sequence[tuple[str, str]]) -> str:
    """Chat messages as the conventions' JSON: role and one text part each."""
    return json.dumps(
        [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in messages],
        ensure_ascii=False,
    )


def outputs_json(outputs: Sequence[tuple[str, str]]) -> str:
    """Generated choices (text, finish reason) as the conventions' output-messages JSON."""
    return json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": text}],
                "finish_reason": reason,
            }
            for text, reason in outputs
        ],
        ensure_ascii=False,
    )
