"""The one place where httpx errors of model-side backends become ``BackendUnavailable``.

Model servers (``openai_http``) and reward models (``reward``) are HTTP backends of the
engine; a refused connection, a timeout, an error status or a body that is not what the
backend's contract says are translated here, each into a message that names the backend,
its URL, what happened and what to do. ``retryable`` is true for refused connections,
timeouts, 5xx and 429 (a pool may fail over), false for a request the server rejects.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from orchestrator.errors import BackendUnavailable


@dataclass(frozen=True)
class Backend:
    """How to name an HTTP backend in errors, and the fixes to suggest."""

    # e.g. "model server", "reward model"
    what: str
    url: str
    timeout_s: float
    # What to do when no connection can be made (start it, fix the URL flag).
    connect_fix: str
    # What the backend must answer (its contract), and what to do when it answers otherwise.
    contract: str
    malformed_fix: str
    malformed_retryable: bool = True
    # The fix for a rejected request (4xx), and special ones by status.
    reject_fix: str = "the request was rejected; fix the request or the server's limits"
    status_fixes: Mapping[int, str] = field(default_factory=dict)


def transport_error(backend: Backend, exc: httpx.HTTPError) -> BackendUnavailable:
    """A refused connection, a timeout or a broken connection (always retryable)."""
    detail = str(exc) or type(exc).__name__
    where = f"the {backend.what} at {backend.url}"
    if isinstance(exc, httpx.TimeoutException):
        message = (
            f"{where} did not answer within {backend.timeout_s:g}s ({type(exc).__name__}); it "
            f"may be overloaded: add replicas, lower the concurrency, or raise the timeout"
        )
    elif isinstance(exc, httpx.ConnectError):
        message = f"cannot connect to {where} ({detail}); {backend.connect_fix}"
    else:
        message = (
            f"the connection to {where} failed ({type(exc).__name__}: {detail}); check that "
            f"the server is up and healthy"
        )
    return BackendUnavailable(message, url=backend.url)


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (delay-seconds or an HTTP date), None if absent
    or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def status_error(
    backend: Backend, status: int, reason: str, *, retry_after: float | None = None
) -> BackendUnavailable:
    """An error status: 429 and 5xx are retryable, other 4xx are the request's fault.

    ``retry_after``: the seconds the server's ``Retry-After`` asked for (kept on the error).
    """
    where = f"the {backend.what} at {backend.url}"
    if status == 429:
        verb, fix, retryable = (
            "is rate limiting requests",
            "lower the concurrency or add replicas",
            True,
        )
    elif status >= 500:
        verb, fix, retryable = "failed", "check the server's logs", True
    else:
        verb, fix, retryable = "rejected the request", backend.reject_fix, False
    fix = backend.status_fixes.get(status, fix)
    return BackendUnavailable(
        f"{where} {verb} (HTTP {status}: {reason}); {fix}",
        retryable=retryable,
        status=status,
        url=backend.url,
        retry_after=retry_after,
    )


def malformed(backend: Backend, detail: str) -> BackendUnavailable:
    """A body that is not what the backend's contract says."""
    return BackendUnavailable(
        f"the {backend.what} at {backend.url} answered with something that is not "
        f"{backend.contract} ({detail}); {backend.malformed_fix}",
        retryable=backend.malformed_retryable,
        url=backend.url,
    )


@contextmanager
def translated(backend: Backend) -> Iterator[None]:
    """Turn httpx transport errors raised inside the block into ``BackendUnavailable``."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise transport_error(backend, exc) from None


def body_text(text: str, limit: int = 200) -> str:
    """A response body shortened for an error message."""
    return repr(text[:limit])


def json_body(backend: Backend, response: httpx.Response, reason: str) -> Any:
    """The JSON body of ``response``, or the translated error status / malformed body.

    ``reason`` describes an error status (e.g. the server's error message).
    """
    if response.status_code >= 400:
        wait = retry_after_s(response.headers.get("retry-after"))
        raise status_error(backend, response.status_code, reason, retry_after=wait)
    try:
        return response.json()
    except ValueError:
        raise malformed(backend, f"the body is not JSON: {body_text(response.text)}") from None
