"""The HTTP service: ``create_app(config)`` builds the FastAPI app (OpenAPI at ``/docs``).

At startup it opens the runtime from the config's settings (the store; the model only
if workers run in process), makes sure the queue's consumer group exists and starts
``config.workers`` in-process workers; at shutdown it stops them (running jobs get the
grace period, then go back to the queue) and closes the runtime.

Routes: ``/v1/jobs`` and ``/v1/graphs`` (API key), ``/healthz``, ``/readyz``, ``/metrics``,
and the live pages under ``/ui`` (a session cookie made from an API key).
More route groups plug in with ``ROUTERS`` (e.g. a UI under ``/ui``); trace context
headers of a submitted job travel with its queue entry (``QueueEntry.headers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.app import Runtime
from orchestrator.service import routes_graphs, routes_health, routes_jobs, ui
from orchestrator.service.problems import install_problem_handlers, problem_response
from orchestrator.service.state import ServiceConfig, ServiceState
from orchestrator.service.tracing import ServerSpans
from orchestrator.worker import Worker

log = logging.getLogger("breadth.service")

# Every route group of the service; later ones (a UI under /ui) are appended here.
ROUTERS: list[APIRouter] = [
    routes_jobs.router,
    routes_graphs.router,
    routes_health.router,
    ui.router,
]
MAX_BODY_BYTES = 1 << 20


def create_app(config: ServiceConfig, *, runtime: Runtime | None = None) -> FastAPI:
    """The service's app; ``runtime`` (optional) is used as given and left open."""
    config = config.checked()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or await Runtime.open(config.settings)
        tasks: list[asyncio.Task[None]] = []
        try:
            state = ServiceState.build(config, rt)
            state.store.keep_reconnecting()
            await state.queue.ensure_group()
            for _ in range(config.workers):
                worker = Worker(rt, config.worker_options)
                state.workers.append(worker)
                tasks.append(asyncio.create_task(worker.run(), name="breadth-worker"))
            app.state.breadth = state
            yield
        finally:
            for worker in app.state.breadth.workers if hasattr(app.state, "breadth") else []:
                worker.stop()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            if owned:
                await rt.aclose()

    app = FastAPI(
        title="breadth",
        summary="Submit deep-research jobs, watch them run, fetch their reports.",
        version="1",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(ServerSpans)
    for router in ROUTERS:
        app.include_router(router)
    return app


class BodyLimit:
    """Refuse a body over ``MAX_BODY_BYTES`` (by its Content-Length) before reading it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length", b"").decode("latin-1")
            if length and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                response = problem_response(
                    Request(scope),
                    413,
                    f"the body is {length[:20]!r} bytes; the service takes at most "
                    f"{MAX_BODY_BYTES} bytes per request (a question is at most 20,000 "
                    f"characters, a graph 200,000)",
                    slug="body-too-large",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
