"""The client's typed errors (the openai-python shape): catch the one you can act on.

``APIConnectionError`` (no answer; ``APITimeoutError`` when it timed out) and
``APIStatusError`` (an error status; its subclasses by status) both derive from
``APIError``, itself a ``BreadthError``, so the CLI prints them as one paragraph. A
status error carries the service's problem document: its ``detail`` is the message.
"""

from __future__ import annotations

import httpx

from orchestrator.client.types import Problem
from orchestrator.errors import BreadthError


class APIError(BreadthError):
    """Any error talking to the breadth service."""


class APIConnectionError(APIError):
    """The service could not be reached, or the connection broke (after the retries)."""


class APITimeoutError(APIConnectionError):
    """The service did not answer within the client's timeout."""


class APIStatusError(APIError):
    """The service answered with an error status; ``problem`` is its problem document."""

    def __init__(self, message: str, *, response: httpx.Response, problem: Problem | None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.problem = problem


class BadRequestError(APIStatusError):
    """400: the request is malformed (bad JSON, a bad header value)."""


class AuthenticationError(APIStatusError):
    """401: no API key, or an unknown or revoked one."""


class PermissionDeniedError(APIStatusError):
    """403: over a quota of the tenant (the limit is named)."""


class NotFoundError(APIStatusError):
    """404: no such job (or another tenant's)."""


class ConflictError(APIStatusError):
    """409: the job is not in a state that allows it (e.g. no report yet)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but invalid (a bad graph, an unknown field)."""


class RateLimitError(APIStatusError):
    """429: too many jobs at once for the tenant; retried after its Retry-After."""


class InternalServerError(APIStatusError):
    """5xx: the service (or its Redis) failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error of an error response, with the service's message."""
    problem: Problem | None = None
    try:
        problem = Problem.model_validate_json(response.content)
    except ValueError:
        problem = None
    status = response.status_code
    if problem is not None:
        message = f"HTTP {status}: {problem.detail}"
    else:
        message = f"HTTP {status} from {response.request.url}: {response.text[:300]!r}"
    kind = _BY_STATUS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return kind(message, response=response, problem=problem)
