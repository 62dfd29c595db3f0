"""Trace context across processes: W3C ``traceparent`` in and out, and HTTP server spans.

A job's trace crosses the client, the service, the queue and the worker as a W3C
``traceparent``: the client sends the current context with its request, the service
continues it in a SERVER span and keeps that span's context on the job record, and the
worker's job span continues it (``Tracing.job(parent=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from orchestrator.trace_context import TRACEPARENT_HEADER, valid_traceparent
from orchestrator.tracing.spans import record_error

_W3C = TraceContextTextMapPropagator()


def extract_context(traceparent: str | None) -> Context | None:
    """The context a traceparent names (None: start a new trace)."""
    valid = valid_traceparent(traceparent)
    return _W3C.extract({TRACEPARENT_HEADER: valid}) if valid else None


def traceparent_of(span: Span) -> str | None:
    """``span``'s context as a W3C traceparent (None for an invalid span)."""
    if not span.get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=set_span_in_context(span))
    return carrier.get(TRACEPARENT_HEADER)


@contextmanager
def server_span(
    tracer: Tracer, method: str, path: str, headers: Mapping[str, str]
) -> Iterator[Callable[[str, int], None]]:
    """A current SERVER span for one request; ``finish(route, status)`` names it after its
    route template (``POST /v1/jobs``) and records the status (5xx: an error)."""
    context = _W3C.extract({k.lower(): v for k, v in headers.items()})
    attributes = {"http.request.method": method, "url.path": path}
    with tracer.start_as_current_span(
        f"{method} {path}",
        context=context,
        kind=SpanKind.SERVER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:

        def finish(route: str, status: int) -> None:
            if route:
                current.update_name(f"{method} {route}")
                current.set_attribute("http.route", route)
            current.set_attribute("http.response.status_code", status)
            if status >= 500:
                current.set_attribute("error.type", str(status))
                current.set_status(Status(StatusCode.ERROR))

        try:
            yield finish
        except Exception as exc:
            record_error(current, exc)
            raise
