"""Model calls as GenAI ``chat {model}`` client spans: one per generate or stream call.

``InstrumentedReplica`` wraps a model (a pool, one server, the embedded model). Its span
is named after the model that really serves the request (the pool asks its replicas:
``served_model``), not the pool; it carries the backend (``gen_ai.provider.name``, or
``gen_ai.system`` with the older conventions), the request settings (``n`` as
``gen_ai.request.choice.count``, max_tokens, temperature, ...), the tokens used, the
finish reasons, the responding model and replica, and for a stream the time to its
first chunk. A pool's retries happen inside the one span, as the conventions ask.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

from opentelemetry.trace import Span, SpanKind, TracerProvider
from opentelemetry.util.types import AttributeValue

from orchestrator.models.protocol import (
    UNKNOWN_PROVIDER,
    Completion,
    GenerateRequest,
    Replica,
    ServedModel,
    StreamChunk,
    served_model,
)
from orchestrator.tracing import conventions as semconv
from orchestrator.tracing.conventions import Conventions, messages_json, outputs_json
from orchestrator.tracing.merge import merged_by_scope
from orchestrator.tracing.spans import Attributes, clean, failing_span, record_error, tracer_of
from orchestrator.usage import TokenUsage


class InstrumentedReplica:
    """A ``Replica`` that records one ``chat {model}`` span per generate or stream call.

    A failed call records its exception and an error status.
    """

    def __init__(
        self,
        inner: Replica,
        *,
        tracer_provider: TracerProvider | None = None,
        conventions: Conventions | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._tracer = tracer_of(tracer_provider)
        self._conventions = conventions or Conventions.from_env()

    async def _served(self, request: GenerateRequest) -> ServedModel:
        try:
            return await served_model(self.inner, request)
        except Exception:
            # The call itself will fail the same way, inside its span, and say why.
            return ServedModel(model=request.model or self.inner.name, provider=UNKNOWN_PROVIDER)

    def _request_attributes(
        self, request: GenerateRequest, served: ServedModel, stream: bool
    ) -> Attributes:
        attributes: dict[str, AttributeValue | None] = {
            semconv.OPERATION: semconv.CHAT,
            **self._conventions.provider(served.provider),
            semconv.REQUEST_MODEL: served.model,
            semconv.CHOICE_COUNT: request.n,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.top_p": request.top_p,
            "gen_ai.request.seed": request.seed,
            "gen_ai.request.stream": stream,
            "gen_ai.request.stop_sequences": request.stop,
            "breadth.request.prefix_key": request.prefix_key(),
        }
        if self._conventions.records_content:
            system = [m.content for m in request.messages if m.role == "system"]
            chat = [(m.role, m.content) for m in request.messages if m.role != "system"]
            attributes[semconv.INPUT_MESSAGES] = messages_json(chat)
            if system:
                attributes[semconv.SYSTEM_INSTRUCTIONS] = messages_json(
                    [("system", text) for text in system]
                )
        return attributes

    def _response_attributes(
        self,
        usage: TokenUsage | None,
        finish_reasons: Sequence[str],
        texts: Sequence[str] = (),
        model: str = "",
        replica: str = "",
    ) -> Attributes:
        attributes: dict[str, AttributeValue | None] = {
            semconv.INPUT_TOKENS: usage.prompt_tokens if usage else None,
            semconv.OUTPUT_TOKENS: usage.completion_tokens if usage else None,
            semconv.FINISH_REASONS: list(finish_reasons),
            semconv.RESPONSE_MODEL: model or None,
            "breadth.replica": replica or None,
        }
        if self._conventions.records_content and texts:
            attributes[semconv.OUTPUT_MESSAGES] = outputs_json(
                list(zip(texts, finish_reasons, strict=False))
            )
        return attributes

    async def generate(self, request: GenerateRequest) -> Completion:
        served = await self._served(request)
        with failing_span(
            self._tracer,
            f"chat {served.model}",
            self._request_attributes(request, served, stream=False),
            kind=SpanKind.CLIENT,
        ) as current:
            try:
                completion = await self.inner.generate(request)
                current.set_attributes(
                    clean(
                        self._response_attributes(
                            completion.usage,
                            [choice.finish_reason for choice in completion.choices],
                            [choice.text for choice in completion.choices],
                            completion.model,
                            completion.replica,
                        )
                    )
                )
                return completion
            finally:
                merged_by_scope(current.get_span_context())

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        served = await self._served(request)
        # Not made current: a generator that yields inside a current span would leak it
        # into the consumer's context. The span is a leaf, so nothing needs it as a parent.
        current = self._tracer.start_span(
            f"chat {served.model}",
            kind=SpanKind.CLIENT,
            attributes=clean(self._request_attributes(request, served, stream=True)),
        )
        started = time.monotonic()
        first = True
        usage: TokenUsage | None = None
        reasons: dict[int, str] = {}
        texts: dict[int, list[str]] = {}
        keep_text = self._conventions.records_content
        try:
            async for chunk in self.inner.stream(request):
                if first:
                    first = False
                    current.set_attribute(
                        semconv.TIME_TO_FIRST_CHUNK, round(time.monotonic() - started, 6)
                    )
                if chunk.finish_reason is not None:
                    reasons[chunk.index] = chunk.finish_reason
                if chunk.usage is not None:
                    usage = chunk.usage
                if keep_text and chunk.delta:
                    texts.setdefault(chunk.index, []).append(chunk.delta)
                yield chunk
        except Exception as exc:
            record_error(current, exc)
            raise
        finally:
            self._end_stream(current, usage, reasons, texts)

    def _end_stream(
        self,
        current: Span,
        usage: TokenUsage | None,
        reasons: dict[int, str],
        texts: dict[int, list[str]],
    ) -> None:
        indexes = sorted(reasons)
        ordered = [reasons[index] for index in indexes]
        joined = ["".join(texts.get(index, [])) for index in indexes]
        current.set_attributes(clean(self._response_attributes(usage, ordered, joined)))
        current.end()
        merged_by_scope(current.get_span_context())

    async def aclose(self) -> None:
        await self.inner.aclose()


def instrument_model(
    model: Replica,
    *,
    tracer_provider: TracerProvider | None = None,
    conventions: Conventions | None = None,
) -> InstrumentedReplica:
    """Wrap ``model`` so that every call of it is a ``chat {model}`` span."""
    return InstrumentedReplica(model, tracer_provider=tracer_provider, conventions=conventions)
