"""What every span wrapper shares: the tracer, attribute cleaning, recording an error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

TRACER_NAME = "breadth"
# How much of an error message a span keeps.
ERROR_CHARS = 500

Attributes = Mapping[str, AttributeValue | None]


def tracer_of(provider: TracerProvider | None) -> Tracer:
    """breadth's tracer from ``provider`` (the global one when None)."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


def clean(attributes: Attributes) -> dict[str, AttributeValue]:
    """OpenTelemetry refuses ``None`` values; an attribute that is not known is left out."""
    return {key: value for key, value in attributes.items() if value is not None}


def record_error(target: Span, exc: BaseException) -> None:
    """Mark ``target`` failed by ``exc``: the exception event, ``error.type``, an error status."""
    target.record_exception(exc)
    target.set_attribute("error.type", type(exc).__name__)
    target.set_status(Status(StatusCode.ERROR, str(exc)[:ERROR_CHARS]))


@contextmanager
def span(
    name: str, /, *, tracer_provider: TracerProvider | None = None, **attributes: Any
) -> Iterator[Span]:
    """A span around a block, current inside it; ``None`` attribute values are left out.

    Attribute names are used as given: ``span("job", **{"breadth.job.id": job_id})``.
    """
    tracer = tracer_of(tracer_provider)
    with tracer.start_as_current_span(name, attributes=clean(attributes)) as current:
        yield current


@contextmanager
def failing_span(
    tracer: Tracer, name: str, attributes: Attributes, **options: Any
) -> Iterator[Span]:
    """A current span that records an exception raised inside it (once) and re-raises it."""
    with tracer.start_as_current_span(
        name,
        attributes=clean(attributes),
        record_exception=False,
        set_status_on_exception=False,
        **options,
    ) as current:
        try:
            yield current
        except Exception as exc:
            record_error(current, exc)
            raise
