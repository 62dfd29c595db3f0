"""The service's side of a job's trace: a SERVER span per request, and the job's context.

``ServerSpans`` (ASGI middleware) continues the caller's W3C trace context in one span
per request, when the service traces (its runtime has ``tracing``); probes, metrics,
static files and event streams (which last as long as a job) get none. A submitted job
keeps the context of the request that made it (``job_traceparent``), so the worker's
job span joins the same trace; a service that does not trace passes on the caller's.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.trace_context import TRACEPARENT_HEADER, valid_traceparent

UNTRACED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/ui/static/")
UNTRACED_SUFFIXES = ("/events",)


def _untraced(path: str) -> bool:
    return path.startswith(UNTRACED_PREFIXES) or path.endswith(UNTRACED_SUFFIXES)


class ServerSpans:
    """One SERVER span per traced request, named after its route (``POST /v1/jobs``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None)
        service = getattr(state, "breadth", None)
        tracing = getattr(getattr(service, "runtime", None), "tracing", None)
        if scope["type"] != "http" or tracing is None or _untraced(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers") or []
        }
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracing.server(scope["method"], scope["path"], headers) as finish:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", "")
                finish(route, status)


def job_traceparent(request: Request) -> str | None:
    """The trace context a job submitted by ``request`` keeps: the service's request span,
    else the caller's ``traceparent`` (if valid), else none."""
    runtime = request.app.state.breadth.runtime
    tracing = runtime.tracing
    current = tracing.current_traceparent() if tracing is not None else None
    return current or valid_traceparent(request.headers.get(TRACEPARENT_HEADER))
