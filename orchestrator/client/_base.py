"""What the sync and async clients share: settings, retry policy, event parsing (pure)."""

from __future__ import annotations

import functools
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from orchestrator.client.errors import APIConnectionError, APITimeoutError
from orchestrator.client.types import JobEvent

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 60.0
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ClientOptions:
    """A client's connection settings (``with_options`` copies them with changes)."""

    base_url: str
    api_key: str | None = None
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S
    max_retries: int = 2
    backoff_s: float = 0.5
    headers: dict[str, str] = field(default_factory=dict)

    def request_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **trace_headers(), **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


@functools.cache
def _propagator() -> Any:
    try:
        from opentelemetry import propagate
    except ImportError:  # the client does not need OpenTelemetry
        return None
    return propagate


def trace_headers() -> dict[str, str]:
    """The caller's current trace context as W3C headers (``traceparent``), so a job joins
    the caller's trace; none without OpenTelemetry or outside a span."""
    propagate = _propagator()
    carrier: dict[str, str] = {}
    if propagate is not None:
        propagate.inject(carrier)
    return carrier


def retry_wait(attempt: int, backoff_s: float, retry_after: str | None) -> float:
    """Seconds before retry ``attempt`` (1-based): the server's Retry-After, else backoff."""
    if retry_after:
        try:
            return min(MAX_RETRY_WAIT_S, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return float(min(8.0, backoff_s * 2 ** (attempt - 1) * (0.5 + random.random())))


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def connection_error(exc: httpx.HTTPError, url: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"the breadth service at {url} did not answer in time ({type(exc).__name__}); "
            f"raise the client's timeout, or check the service"
        )
    return APIConnectionError(
        f"cannot reach the breadth service at {url} ({type(exc).__name__}: {exc}); check the "
        f"URL and that `breadth serve` runs there"
    )


def new_idempotency_key() -> str:
    return f"breadth-{uuid.uuid4()}"


def stream_order(event_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair ("1712-3" -> (1712, 3))."""
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return (0, 0)


def parse_event(event_id: str, event: str, data: str) -> JobEvent:
    payload: dict[str, Any] = json.loads(data) if data else {}
    if event == "end":
        return JobEvent(
            id=event_id, type="end", job_id=str(payload.get("job_id", "")), data=payload
        )
    return JobEvent.model_validate({**payload, "id": event_id, "type": event})


def job_body(
    question: str,
    graph: str,
    corpus: str | None,
    budgets: dict[str, Any] | None,
    metadata: dict[str, str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question, "graph": graph}
    if corpus is not None:
        body["corpus"] = corpus
    if budgets:
        body["budgets"] = budgets
    if metadata:
        body["metadata"] = metadata
    return body
