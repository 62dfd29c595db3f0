"""The OpenAI chat-completions wire format, both directions, as pure functions.

The HTTP client (``openai_http``) turns a ``GenerateRequest`` into a request body
and a response body into a ``Completion``; the simulator does the reverse. Keeping
both directions here means the two cannot drift apart. The format is the one vLLM,
llama.cpp's server and hosted providers speak: ``logprobs.content`` entries with
``top_logprobs`` lists, and with ``stream_options.include_usage`` a last chunk
whose ``choices`` is empty and whose ``usage`` counts the whole request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.models.protocol import (
    ChatMessage,
    Choice,
    Completion,
    FinishReason,
    GenerateRequest,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.usage import TokenUsage

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "tool_calls": "stop",
    "function_call": "stop",
    "length": "length",
    "abort": "abort",
    "content_filter": "error",
    "error": "error",
}


class WireFormatError(ValueError):
    """A body does not follow the chat-completions format; the message says where."""


def finish_reason_from_wire(value: object) -> FinishReason:
    """Our finish reason for a server's (unknown reasons count as a normal stop)."""
    return _FINISH_REASONS.get(str(value), "stop")


# -- requests ------------------------------------------------------------------------


def request_body(request: GenerateRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The JSON body of ``POST /v1/chat/completions`` for ``request``."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": m.role, "content": m.content, **({"name": m.name} if m.name else {})}
            for m in request.messages
        ],
        "n": request.n,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
    }
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = request.top_logprobs
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": request.json_schema, "strict": True},
        }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    if content is None:
        return ""
    raise WireFormatError(f"message content must be a string or a list of parts, got {content!r}")


def request_from_body(body: Mapping[str, Any]) -> GenerateRequest:
    """The ``GenerateRequest`` a chat-completions body asks for (the server side).

    Raises ``WireFormatError`` or pydantic's ``ValidationError`` for a bad body.
    """
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise WireFormatError("'messages' must be a non-empty list of {role, content} objects")
    messages = []
    for i, m in enumerate(raw_messages):
        if not isinstance(m, Mapping):
            raise WireFormatError(f"messages[{i}] must be an object, got {m!r}")
        messages.append(
            ChatMessage.model_validate(
                {
                    "role": m.get("role"),
                    "content": _message_text(m.get("content")),
                    "name": m.get("name"),
                }
            )
        )
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    schema: dict[str, Any] | None = None
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, Mapping) else None
            if not isinstance(schema, dict):
                raise WireFormatError("response_format.json_schema.schema must be an object")
        elif response_format.get("type") == "json_object" and isinstance(
            response_format.get("schema"), dict
        ):
            schema = response_format["schema"]
    fields: dict[str, Any] = {
        "messages": messages,
        "model": body.get("model"),
        "stop": stop or None,
        "seed": body.get("seed"),
        "logprobs": bool(body.get("logprobs") or False),
        "top_logprobs": body.get("top_logprobs") or 0,
        "json_schema": schema,
    }
    for key in ("n", "temperature", "top_p"):
        if body.get(key) is not None:
            fields[key] = body[key]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    return GenerateRequest(**fields)


# -- logprobs and usage ----------------------------------------------------------------


def logprobs_to_wire(logprobs: Sequence[TokenLogprob] | None) -> dict[str, Any] | None:
    if logprobs is None:
        return None
    return {
        "content": [
            {
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": list(lp.token.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": v, "bytes": list(t.encode())}
                    for t, v in lp.top_logprobs.items()
                ],
            }
            for lp in logprobs
        ]
    }


def logprobs_from_wire(value: object) -> list[TokenLogprob] | None:
    if not isinstance(value, Mapping) or value.get("content") is None:
        return None
    entries = []
    for item in value["content"]:
        top = {str(t["token"]): float(t["logprob"]) for t in item.get("top_logprobs") or []}
        entries.append(
            TokenLogprob(token=str(item["token"]), logprob=float(item["logprob"]), top_logprobs=top)
        )
    return entries


def usage_to_wire(usage: TokenUsage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def usage_from_wire(value: object) -> TokenUsage | None:
    if not isinstance(value, Mapping):
        return None
    return TokenUsage(
        prompt_tokens=int(value.get("prompt_tokens") or 0),
        completion_tokens=int(value.get("completion_tokens") or 0),
    )


# -- responses -------------------------------------------------------------------------


def completion_body(
    completion: Completion, *, completion_id: str, created: int, model: str
) -> dict[str, Any]:
    """The JSON body a server answers a non-streaming request with."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": c.index,
                "message": {"role": "assistant", "content": c.text},
                "logprobs": logprobs_to_wire(c.logprobs),
                "finish_reason": c.finish_reason,
            }
            for c in completion.choices
        ],
        "usage": usage_to_wire(completion.usage),
    }


def completion_from_body(body: object, *, replica: str) -> Completion:
    """Parse a non-streaming response body; raises ``WireFormatError`` if it is not one."""
    try:
        if not isinstance(body, Mapping):
            raise TypeError("the body is not an object")
        choices = [
            Choice(
                index=int(c.get("index", i)),
                text=str((c.get("message") or {}).get("content") or ""),
                finish_reason=finish_reason_from_wire(c.get("finish_reason")),
                logprobs=logprobs_from_wire(c.get("logprobs")),
            )
            for i, c in enumerate(body["choices"])
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireFormatError(
            f"not a chat completion ({type(exc).__name__}: {exc}): {_excerpt(body)}"
        ) from None
    return Completion(
        choices=choices,
        usage=usage_from_wire(body.get("usage")) or TokenUsage(),
        model=str(body.get("model") or ""),
        replica=replica,
    )


def chunk_body(
    *,
    completion_id: str,
    created: int,
    model: str,
    chunk: StreamChunk | None = None,
    role: bool = False,
    usage: TokenUsage | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``: a delta for one choice, or the final usage chunk."""
    choices: list[dict[str, Any]] = []
    if chunk is not None:
        delta: dict[str, Any] = {"role": "assistant"} if role else {}
        if chunk.delta:
            delta["content"] = chunk.delta
        choices.append(
            {
                "index": chunk.index,
                "delta": delta,
                "logprobs": logprobs_to_wire(chunk.logprobs),
                "finish_reason": chunk.finish_reason,
            }
        )
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage_to_wire(usage) if usage is not None else None,
    }


def chunks_from_body(body: object) -> tuple[list[StreamChunk], TokenUsage | None]:
    """The stream chunks and the usage (if any) in one parsed ``data:`` event."""
    try:
        if not isinstance(body, Mapping):
            raise TypeError("the event is not an object")
        chunks = []
        for c in body.get("choices") or []:
            delta = c.get("delta") or {}
            text = str(delta.get("content") or "")
            logprobs = logprobs_from_wire(c.get("logprobs"))
            raw_finish = c.get("finish_reason")
            finish = finish_reason_from_wire(raw_finish) if raw_finish is not None else None
            if text or logprobs or finish is not None:
                chunks.append(
                    StreamChunk(
                        index=int(c.get("index", 0)),
                        delta=text,
                        logprobs=logprobs,
                        finish_reason=finish,
                    )
                )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireFormatError(
            f"not a chat completion chunk ({type(exc).__name__}: {exc}): {_excerpt(body)}"
        ) from None
    return chunks, usage_from_wire(body.get("usage"))


def error_body(message: str, *, kind: str, status: int) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "code": status}}


def error_message(text: str) -> str:
    """The human message in a server's error body (OpenAI, vLLM or FastAPI style)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500] or "(empty body)"
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])[:500]
    return text.strip()[:500]


def _excerpt(body: object) -> str:
    try:
        text = json.dumps(body)
    except (TypeError, ValueError):
        text = repr(body)
    return text[:300]
