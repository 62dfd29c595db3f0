"""Probes and metrics: ``/healthz`` (the process answers), ``/readyz`` (Redis answers and
a worker is alive), ``/metrics`` (Prometheus text). No API key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from orchestrator.errors import StoreUnavailable
from orchestrator.service import metrics
from orchestrator.service.auth import service_state
from orchestrator.service.problems import ApiProblem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Redis answers and at least one worker is alive")
async def readyz(request: Request) -> Response:
    state = service_state(request)
    try:
        await state.store.ping()
    except StoreUnavailable as exc:
        raise ApiProblem(503, f"not ready: {exc}", slug="store-unavailable") from None
    alive = await state.registry.alive(state.config.liveness_s)
    if not alive:
        raise ApiProblem(
            503,
            f"not ready: no worker heartbeat within {state.config.liveness_s:g} s, so queued "
            f"jobs would wait; start one with `breadth worker` (same --redis-url and "
            f"--namespace), or serve with --workers 1",
            slug="no-workers",
        )
    return JSONResponse({"status": "ready", "workers": len(alive)})


@router.get("/metrics", summary="Prometheus metrics")
async def service_metrics(request: Request) -> Response:
    body, content_type = metrics.render(await metrics.snapshot(service_state(request)))
    return Response(body, media_type=content_type)
