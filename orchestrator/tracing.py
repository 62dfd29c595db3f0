"""OpenTelemetry tracing: job → node → task → LLM-call spans, exported over OTLP/HTTP.

Tracing wraps, it does not sprinkle: ``InstrumentedReplica`` wraps a model replica (one
``gen_ai`` span per call), ``instrument_executor`` wraps an executor (one span per task),
``instrument_ops`` wraps an op registry (one span per graph node) and ``span`` opens the
job span. Spans nest through the current context, so a task's LLM calls are its children.
Needs the ``otel`` extra; ``setup_tracing`` sends the spans to a collector such as Jaeger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from orchestrator.context import RunContext
from orchestrator.errors import ConfigError, MissingExtra
from orchestrator.executors.base import Executor
from orchestrator.models.protocol import Completion, GenerateRequest, Replica, StreamChunk
from orchestrator.ops import JobState, OpDef, OpFn, OpRegistry, Strategy, StrategyOutcome
from orchestrator.plan import TaskSpec
from orchestrator.tasks import run_task
from orchestrator.usage import TokenUsage

try:
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue
except ImportError:  # pragma: no cover - the otel extra is part of the dev install
    raise MissingExtra("tracing (--otlp-endpoint)", "otel") from None

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

TRACER_NAME = "breadth"
OTLP_TRACES_PATH = "/v1/traces"
EXPORT_TIMEOUT_S = 5.0

R = TypeVar("R")
Attributes = Mapping[str, AttributeValue | None]


def traces_endpoint(otlp_endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base URL (``http://jaeger:4318``)."""
    parts = urlsplit(otlp_endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"OTLP endpoint {otlp_endpoint!r} is not an http(s) URL; pass the collector's "
            f"OTLP/HTTP address, e.g. --otlp-endpoint http://localhost:4318"
        )
    if parts.path.rstrip("/").endswith(OTLP_TRACES_PATH):
        return otlp_endpoint
    return otlp_endpoint.rstrip("/") + OTLP_TRACES_PATH


def setup_tracing(
    otlp_endpoint: str, service_name: str = "breadth", *, set_global: bool = True
) -> SdkTracerProvider:
    """A tracer provider that batches spans to ``otlp_endpoint``; the global one by default.

    Call ``shutdown()`` on it before exiting so the last spans are sent.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:  # pragma: no cover - the otel extra is part of the dev install
        raise MissingExtra("tracing (--otlp-endpoint)", "otel") from None
    exporter = OTLPSpanExporter(endpoint=traces_endpoint(otlp_endpoint), timeout=EXPORT_TIMEOUT_S)
    provider = SdkTracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def _tracer(provider: TracerProvider | None) -> Tracer:
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


def _clean(attributes: Attributes) -> dict[str, AttributeValue]:
    """OpenTelemetry refuses ``None`` values; an attribute that is not known is left out."""
    return {key: value for key, value in attributes.items() if value is not None}


def _record_error(target: Span, exc: BaseException) -> None:
    target.record_exception(exc)
    target.set_attribute("error.type", type(exc).__name__)
    target.set_status(Status(StatusCode.ERROR, str(exc)[:500]))


@contextmanager
def span(
    name: str, /, *, tracer_provider: TracerProvider | None = None, **attributes: Any
) -> Iterator[Span]:
    """A span around a block, current inside it; ``None`` attribute values are left out.

    Attribute names are used as given: ``span("job", **{"breadth.job.id": job_id})``.
    """
    tracer = _tracer(tracer_provider)
    with tracer.start_as_current_span(name, attributes=_clean(attributes)) as current:
        yield current


# LLM calls: OpenTelemetry's gen_ai semantic conventions.


def _request_attributes(request: GenerateRequest, model: str, stream: bool) -> Attributes:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.request.choice.count": request.n,
        "gen_ai.request.max_tokens": request.max_tokens,
        "gen_ai.request.temperature": request.temperature,
        "gen_ai.request.top_p": request.top_p,
        "gen_ai.request.seed": request.seed,
        "gen_ai.request.stream": stream,
        "gen_ai.request.stop_sequences": request.stop,
        "breadth.request.prefix_key": request.prefix_key(),
    }


def _response_attributes(
    usage: TokenUsage | None, finish_reasons: Sequence[str], model: str = "", replica: str = ""
) -> Attributes:
    return {
        "gen_ai.usage.input_tokens": usage.prompt_tokens if usage else None,
        "gen_ai.usage.output_tokens": usage.completion_tokens if usage else None,
        "gen_ai.response.finish_reasons": finish_reasons,
        "gen_ai.response.model": model or None,
        "breadth.replica": replica or None,
    }


class InstrumentedReplica:
    """A ``Replica`` that records one ``chat {model}`` span per generate or stream call.

    The span carries the request settings (n, max_tokens, temperature, ...), the tokens
    used and the finish reasons; a failed call records its exception and an error status.
    """

    def __init__(self, inner: Replica, *, tracer_provider: TracerProvider | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._tracer = _tracer(tracer_provider)

    def _model(self, request: GenerateRequest) -> str:
        return request.model or self.inner.name

    async def generate(self, request: GenerateRequest) -> Completion:
        model = self._model(request)
        with self._tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes=_clean(_request_attributes(request, model, stream=False)),
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            try:
                completion = await self.inner.generate(request)
            except Exception as exc:
                _record_error(current, exc)
                raise
            reasons = [choice.finish_reason for choice in completion.choices]
            current.set_attributes(
                _clean(
                    _response_attributes(
                        completion.usage, reasons, completion.model, completion.replica
                    )
                )
            )
            return completion

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        model = self._model(request)
        # Not made current: a generator that yields inside a current span would leak it
        # into the consumer's context. The span is a leaf, so nothing needs it as a parent.
        current = self._tracer.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes=_clean(_request_attributes(request, model, stream=True)),
        )
        usage: TokenUsage | None = None
        reasons: dict[int, str] = {}
        try:
            async for chunk in self.inner.stream(request):
                if chunk.finish_reason is not None:
                    reasons[chunk.index] = chunk.finish_reason
                if chunk.usage is not None:
                    usage = chunk.usage
                yield chunk
        except Exception as exc:
            _record_error(current, exc)
            raise
        finally:
            ordered = [reasons[index] for index in sorted(reasons)]
            current.set_attributes(_clean(_response_attributes(usage, ordered)))
            current.end()

    async def aclose(self) -> None:
        await self.inner.aclose()


# Tasks and graph nodes.


def _task_attributes(
    executor: str, fn: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[str, Attributes]:
    task = next((arg for arg in args if isinstance(arg, TaskSpec)), None)
    if fn is run_task and args:
        fn = args[0]  # the task's handler, which run_task calls
    attributes: Attributes = {
        "breadth.executor": executor,
        "code.function": getattr(fn, "__qualname__", repr(fn)),
        "breadth.task.id": task.id if task else None,
        "breadth.task.kind": task.kind if task else None,
    }
    label = task.id if task else getattr(fn, "__name__", "call")
    return f"task {label}", attributes


class InstrumentedExecutor:
    """An ``Executor`` that records one span per submitted task around the inner executor.

    If one of the arguments is a ``TaskSpec``, the span is named after its id and carries
    its kind. The span is current while the task runs in-process (``LocalExecutor``), so
    the task's LLM calls become its children.
    """

    def __init__(self, inner: Executor, *, tracer_provider: TracerProvider | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.remote = bool(getattr(inner, "remote", False))
        self._tracer = _tracer(tracer_provider)

    async def release(self, job_id: str) -> None:
        release = getattr(self.inner, "release", None)
        if release is not None:
            await release(job_id)

    async def submit(self, fn: Callable[..., Awaitable[R]], /, *args: Any) -> R:
        name, attributes = _task_attributes(self.name, fn, args)
        with self._tracer.start_as_current_span(
            name,
            attributes=_clean(attributes),
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            try:
                return await self.inner.submit(fn, *args)
            except Exception as exc:
                _record_error(current, exc)
                raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def instrument_executor(
    executor: Executor, *, tracer_provider: TracerProvider | None = None
) -> InstrumentedExecutor:
    """Wrap ``executor`` so that every task it runs gets a span."""
    return InstrumentedExecutor(executor, tracer_provider=tracer_provider)


def _traced_op(op: OpDef[Any], provider: TracerProvider | None) -> OpFn[Any]:
    tracer = _tracer(provider)
    name, fn = op.name, op.fn

    async def traced(ctx: RunContext, node: Any, params: Any, state: JobState) -> JobState:
        attributes: Attributes = {
            "breadth.job.id": ctx.job_id,
            "breadth.node.op": name,
            "breadth.node.agent": getattr(node, "agent", None),
        }
        with tracer.start_as_current_span(
            f"node {name}",
            attributes=_clean(attributes),
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            try:
                return await fn(ctx, node, params, state)
            except Exception as exc:
                _record_error(current, exc)
                raise

    return traced


def _traced_strategy(
    name: str, strategy: Strategy, provider: TracerProvider | None
) -> Callable[..., Awaitable[StrategyOutcome]]:
    tracer = _tracer(provider)
    run = strategy.run

    async def traced(*args: Any) -> StrategyOutcome:
        with tracer.start_as_current_span(
            f"strategy {name}",
            attributes={"breadth.strategy": name},
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            try:
                return await run(*args)
            except Exception as exc:
                _record_error(current, exc)
                raise

    return traced


def instrument_ops(
    registry: OpRegistry, *, tracer_provider: TracerProvider | None = None
) -> OpRegistry:
    """A copy of ``registry`` whose ops record a ``node {op}`` span (and strategies run
    inside other ops a ``strategy {op}`` span); params models and checks stay as they are.
    """
    return registry.wrapped(
        lambda op: _traced_op(op, tracer_provider),
        lambda name, strategy: _traced_strategy(name, strategy, tracer_provider),
    )
