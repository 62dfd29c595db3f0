"""Every error answer of the API is an RFC 9457 problem document (``application/problem+json``).

Its ``detail`` is the same one-paragraph message the CLI prints (value, rule, fix);
validation errors list each bad field in ``errors``. Exceptions are translated here,
once: a request that fails validation, a ``BreadthError`` from the engine, an unknown
route, and, as a last resort, anything else (a 500 without a traceback; the server log
keeps it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.client.types import Problem, ProblemItem
from orchestrator.errors import (
    BreadthError,
    ConfigError,
    GraphSpecError,
    StoreUnavailable,
)

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("breadth.service")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """Raised by a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[ProblemItem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.errors = list(errors)
        self.headers = dict(headers or {})


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[ProblemItem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    title = _TITLES.get(status, "Error")
    body = Problem(
        type=f"urn:breadth:problem:{slug or title.lower().replace(' ', '-')}",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors),
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(
            request, exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, detail, items = describe_validation(exc.errors())
        return problem_response(request, status, detail, slug="invalid-request", errors=items)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            detail = (
                f"no route {request.method} {request.url.path!r}; the API is under /v1 (see /docs)"
            )
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path!r}; see /docs"
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    async def on_breadth(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BreadthError)
        if isinstance(exc, StoreUnavailable):
            return problem_response(request, 503, str(exc), slug="store-unavailable")
        if isinstance(exc, GraphSpecError):
            return problem_response(
                request, 422, str(exc), slug="invalid-graph", errors=graph_items(exc)
            )
        if isinstance(exc, ConfigError):
            return problem_response(request, 422, str(exc), slug="invalid-request")
        log.error("request %s %s failed: %s", request.method, request.url.path, exc)
        return problem_response(request, 500, str(exc))

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s %s failed", request.method, request.url.path)
        return problem_response(
            request,
            500,
            f"the service failed on this request ({type(exc).__name__}); the server log has "
            f"the details. Retry, and report it if it persists",
        )

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(BreadthError, on_breadth)
    app.add_exception_handler(Exception, on_anything)


def graph_items(exc: GraphSpecError) -> list[ProblemItem]:
    return [ProblemItem(field=p.field, message=p.message, line=p.line) for p in exc.problems]


def describe_validation(errors: Sequence[Any]) -> tuple[int, str, list[ProblemItem]]:
    """A status, a one-paragraph message and one item per error of a failed validation."""
    items: list[ProblemItem] = []
    status = 422
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        kind = str(error.get("type", ""))
        where = ".".join(loc) or "body"
        value = error.get("input")
        if kind == "json_invalid":
            status = 400
            reason = (error.get("ctx") or {}).get("error", "invalid JSON")
            message = (
                f"the body is not valid JSON ({reason}); send one JSON object, e.g. "
                f'{{"question": "...", "graph": "deep_research"}}'
            )
            where = "body"
        elif kind == "extra_forbidden":
            message = (
                f"unknown field {loc[-1] if loc else where!r}: it is not part of this request; "
                f"remove it (see /docs for the fields)"
            )
        elif kind == "missing":
            message = f"required field {where!r} is missing; add it"
        elif kind in ("model_attributes_type", "dict_type") and isinstance(value, bytes | str):
            status = 400
            message = (
                f"the body {_short(value)} is not a JSON object (or was not sent as "
                f"Content-Type: application/json); send one JSON object, e.g. "
                f'{{"question": "..."}}'
            )
        elif kind in ("model_attributes_type", "dict_type"):
            message = f"{_short(value)} is not a JSON object; send an object here"
        else:
            rule = str(error.get("msg", "is not valid"))
            message = f"{_short(value)} is not valid: {rule[:1].lower()}{rule[1:]}; fix {where}"
        items.append(ProblemItem(field=where, message=message))
    count = len(items)
    head = f"{count} problem{'s' if count != 1 else ''} in the request: "
    return status, head + "; ".join(f"{i.field}: {i.message}" for i in items), items


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
