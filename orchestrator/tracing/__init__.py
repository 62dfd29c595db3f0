"""OpenTelemetry tracing with the GenAI semantic conventions, exported over OTLP/HTTP.

Tracing wraps, it does not sprinkle: ``Tracing`` wraps the seams a job runs on, and
the spans nest through the current context into one tree per job::

    invoke_workflow {graph}                  the job (Runtime.run)
      invoke_agent {agent} | node {op}       a graph node (the op registry, wrapped)
        task {id}                            a DAG task (the executor, wrapped)
          invoke_agent {agent}               the subagent that runs it, if any
            {operator} branch {i}            an operator's branch (the fan-out hook)
              chat {model}                   a model call (the model, wrapped)
              execute_tool {tool}            a tool call (the toolbox's span hook)

Fan-in spans link to the branches they merged (``merge``). With tracing off none of
this is built: the only cost left is one context-variable read per fan-out.
Needs the ``otel`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from orchestrator.errors import MissingExtra

try:
    from opentelemetry import trace
    from opentelemetry.trace import Span, TracerProvider
except ImportError:  # pragma: no cover - the otel extra is part of the dev install
    raise MissingExtra("tracing (--otlp-endpoint)", "otel") from None

from orchestrator.executors.base import Executor
from orchestrator.models.protocol import Replica
from orchestrator.ops import OpRegistry
from orchestrator.settings import Settings
from orchestrator.tracing import conventions as semconv
from orchestrator.tracing.conventions import Conventions
from orchestrator.tracing.executor import InstrumentedExecutor, instrument_executor
from orchestrator.tracing.export import (
    DEFAULT_SERVICE,
    TASKS_SERVICE,
    export_provider,
    traces_endpoint,
    traces_url,
)
from orchestrator.tracing.merge import job_scope
from orchestrator.tracing.ops import instrument_ops
from orchestrator.tracing.propagation import extract_context, server_span, traceparent_of
from orchestrator.tracing.remote import remember_flusher, run_in_trace
from orchestrator.tracing.replica import InstrumentedReplica, instrument_model
from orchestrator.tracing.spans import failing_span, span, tracer_of
from orchestrator.tracing.tools import ToolSpans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider


class Tracing:
    """What one process traces with: a tracer provider and the GenAI conventions in use.

    It wraps models, executors and op registries, gives the toolbox its span hook and
    opens each job's span. ``shutdown()`` flushes the spans of a provider it owns.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        conventions: Conventions | None = None,
        owned: SdkTracerProvider | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.conventions = conventions or Conventions.from_env()
        self._owned = owned
        self._tracer = tracer_of(tracer_provider)

    def model(self, model: Replica) -> Replica:
        return instrument_model(
            model, tracer_provider=self.tracer_provider, conventions=self.conventions
        )

    def executor(self, executor: Executor) -> Executor:
        return instrument_executor(executor, tracer_provider=self.tracer_provider)

    def ops(self, registry: OpRegistry) -> OpRegistry:
        return instrument_ops(registry, tracer_provider=self.tracer_provider)

    def tool_spans(self) -> ToolSpans:
        return ToolSpans(tracer_provider=self.tracer_provider, conventions=self.conventions)

    @contextmanager
    def job(
        self,
        job_id: str,
        graph_name: str,
        graph_ref: str | None = None,
        *,
        parent: str | None = None,
    ) -> Iterator[Span]:
        """The job's ``invoke_workflow {graph}`` span, current inside, continuing the trace
        context ``parent`` (a W3C traceparent) if given; it collects the job's task spans
        for the nodes that merge them."""
        attributes = {
            semconv.OPERATION: semconv.INVOKE_WORKFLOW,
            semconv.WORKFLOW_NAME: graph_name,
            "breadth.job.id": job_id,
            "breadth.graph": graph_ref,
        }
        name = f"invoke_workflow {graph_name}"
        context = extract_context(parent)
        with (
            failing_span(self._tracer, name, attributes, context=context) as current,
            job_scope(),
        ):
            yield current

    @contextmanager
    def server(
        self, method: str, path: str, headers: Mapping[str, str]
    ) -> Iterator[Callable[[str, int], None]]:
        """A SERVER span around one HTTP request, continuing the caller's trace context
        (``traceparent`` among ``headers``); it yields ``finish(route, status)``."""
        with server_span(self._tracer, method, path, headers) as finish:
            yield finish

    def current_traceparent(self) -> str | None:
        """The W3C traceparent of the span current here (None: no valid span)."""
        return traceparent_of(trace.get_current_span())

    def shutdown(self) -> None:
        """Flush and stop the provider this object built (``open_tracing``), if any."""
        if self._owned is not None:
            self._owned.shutdown()
            self._owned = None


def open_tracing(settings: Settings, *, service_name: str = DEFAULT_SERVICE) -> Tracing | None:
    """Tracing that exports where the settings say (None when they set no endpoint)."""
    if not settings.traced:
        return None
    url = traces_url(settings.otlp_endpoint, settings.otlp_traces_endpoint)
    provider = export_provider(url, service_name=service_name)
    return Tracing(provider, owned=provider)


_PROCESS_TRACING: dict[str, Tracing] = {}


def process_tracing(settings: Settings, *, service_name: str = TASKS_SERVICE) -> Tracing | None:
    """The tracing of a process that runs other processes' tasks (a Ray worker): opened
    once per traces URL and kept for the process's life (flushed after each task and at
    exit); None when the settings set no endpoint."""
    if not settings.traced:
        return None
    url = traces_url(settings.otlp_endpoint, settings.otlp_traces_endpoint)
    found = _PROCESS_TRACING.get(url)
    if found is None:
        provider = export_provider(url, service_name=service_name)
        found = _PROCESS_TRACING[url] = Tracing(provider)
        remember_flusher(url, provider.force_flush)
    return found


__all__ = [
    "Conventions",
    "InstrumentedExecutor",
    "InstrumentedReplica",
    "ToolSpans",
    "Tracing",
    "export_provider",
    "instrument_executor",
    "instrument_model",
    "instrument_ops",
    "open_tracing",
    "process_tracing",
    "run_in_trace",
    "span",
    "traceparent_of",
    "traces_endpoint",
    "traces_url",
]
