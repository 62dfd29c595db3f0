"""Structured output: ask for JSON that follows a pydantic model's schema, parse it, retry.

Small models follow a JSON schema far better than free-text instructions, so every
plan and tool call in breadth goes through here.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from orchestrator.errors import ModelOutputError
from orchestrator.models.protocol import ChatMessage, GenerateRequest, Replica
from orchestrator.usage import TokenUsage

M = TypeVar("M", bound=BaseModel)


def parse_json_output(text: str, schema: type[M]) -> M:
    """Parse ``text`` as ``schema``; tolerates code fences and text around one JSON object."""
    candidate = text.strip()
    if candidate.startswith("```"):
        candidate = candidate.strip("`")
        candidate = candidate.removeprefix("json").strip()
    start, end = candidate.find("{"), candidate.rfind("}")
    if start != -1 and end > start:
        candidate = candidate[start : end + 1]
    try:
        # strict=False: a raw newline or tab inside a string is a slip worth forgiving.
        data = json.loads(candidate, strict=False)
    except json.JSONDecodeError as exc:
        raise ModelOutputError(
            f"model output is not JSON ({exc.msg} at position {exc.pos}); "
            f"expected an object following the {schema.__name__} schema",
            output=text,
        ) from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ModelOutputError(
            f"model output does not follow the {schema.__name__} schema: {problems}", output=text
        ) from None


async def generate_structured(
    model: Replica,
    messages: list[ChatMessage],
    schema: type[M],
    *,
    max_tokens: int = 512,
    temperature: float = 0.2,
    attempts: int = 3,
    seed: int | None = None,
) -> tuple[M, TokenUsage]:
    """Generate an instance of ``schema``; on bad output, show the model its error and retry.

    Returns the parsed value and the tokens spent over all attempts. Raises
    ``ModelOutputError`` with the last output when every attempt fails.
    """
    usage = TokenUsage()
    convo = list(messages)
    last_error: ModelOutputError | None = None
    json_schema = schema.model_json_schema()
    for attempt in range(attempts):
        request = GenerateRequest(
            messages=convo,
            max_tokens=max_tokens,
            temperature=temperature if attempt == 0 else min(1.0, temperature + 0.3 * attempt),
            json_schema=json_schema,
            seed=None if seed is None else seed + attempt,
        )
        completion = await model.generate(request)
        usage = usage + completion.usage
        try:
            return parse_json_output(completion.text, schema), usage
        except ModelOutputError as exc:
            last_error = exc
            convo = [
                *messages,
                ChatMessage(role="assistant", content=completion.text[:2000]),
                ChatMessage(
                    role="user",
                    content=f"That output was invalid: {exc}. Answer again with only valid JSON.",
                ),
            ]
    assert last_error is not None
    raise ModelOutputError(
        f"{last_error} (after {attempts} attempts)", output=last_error.output
    ) from None
