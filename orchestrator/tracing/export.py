"""Export: a tracer provider that batches spans over OTLP/HTTP, configured like any OTel SDK.

The standard ``OTEL_*`` variables apply: the endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``,
the collector's base URL, or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, the full traces
URL, which wins; ``--otlp-endpoint`` sets the first), the service name
(``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, else the process's role:
``breadth``, ``breadth-worker``), the sampler (``OTEL_TRACES_SAMPLER`` and its ``_ARG``),
headers, timeout and compression of the exporter and the batch processor's
``OTEL_BSP_*``. Only OTLP over HTTP/protobuf is built in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from orchestrator.errors import ConfigError, MissingExtra

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

OTLP_TRACES_PATH = "/v1/traces"
EXPORT_TIMEOUT_S = 5.0
DEFAULT_SERVICE = "breadth"
# The service name of a process that runs other processes' tasks (a Ray worker).
TASKS_SERVICE = "breadth-tasks"
PROTOCOL_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
TIMEOUT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
HTTP_PROTOBUF = "http/protobuf"


def _checked_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise ConfigError(
            f"{what} {url!r} is not an http(s) URL; pass the collector's OTLP/HTTP address, "
            f"e.g. --otlp-endpoint http://localhost:4318"
        )
    return url


def traces_endpoint(otlp_endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base URL (``http://jaeger:4318``)."""
    parts = urlsplit(_checked_url(otlp_endpoint, "OTLP endpoint"))
    if parts.path.rstrip("/").endswith(OTLP_TRACES_PATH):
        return otlp_endpoint
    return otlp_endpoint.rstrip("/") + OTLP_TRACES_PATH


def traces_url(otlp_endpoint: str | None, otlp_traces_endpoint: str | None) -> str:
    """Where spans go: the traces URL as given, else the base URL plus ``/v1/traces``."""
    if otlp_traces_endpoint:
        return _checked_url(otlp_traces_endpoint, "OTLP traces endpoint")
    if otlp_endpoint:
        return traces_endpoint(otlp_endpoint)
    raise ConfigError(
        "tracing needs an OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT (or pass "
        "--otlp-endpoint), e.g. http://localhost:4318"
    )


def check_export_env(env: Mapping[str, str] | None = None) -> None:
    """Refuse ``OTEL_*`` settings breadth cannot honour (gRPC, another exporter)."""
    values = os.environ if env is None else env
    for name in PROTOCOL_ENVS:
        protocol = values.get(name, "").strip()
        if protocol and protocol != HTTP_PROTOBUF:
            raise ConfigError(
                f"{name}={protocol!r}: breadth exports traces over OTLP/HTTP with protobuf "
                f"(port 4318); set {name}={HTTP_PROTOBUF} or unset it"
            )
    exporter = values.get(EXPORTER_ENV, "").strip().lower()
    if exporter not in ("", "otlp", "none"):
        raise ConfigError(
            f"{EXPORTER_ENV}={exporter!r}: breadth's traces go to an OTLP collector; set "
            f"{EXPORTER_ENV}=otlp (or none to turn tracing off)"
        )


def export_provider(url: str, *, service_name: str = DEFAULT_SERVICE) -> SdkTracerProvider:
    """A tracer provider that batches spans to the OTLP/HTTP traces ``url``.

    Call ``shutdown()`` on it before exiting so the last spans are sent.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:  # pragma: no cover - the otel extra is part of the dev install
        raise MissingExtra("tracing (--otlp-endpoint)", "otel") from None
    check_export_env()
    timeout = None if any(os.environ.get(name) for name in TIMEOUT_ENVS) else EXPORT_TIMEOUT_S
    exporter = OTLPSpanExporter(endpoint=url, timeout=timeout)
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    # The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default:
    # parent-based, always on), as in any OpenTelemetry SDK.
    provider = SdkTracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
