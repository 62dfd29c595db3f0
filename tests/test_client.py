"""The Python client on its own: retries (honouring Retry-After), typed errors, options,
and that importing it pulls in none of the engine or the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestrator.client import (
    APIConnectionError,
    AsyncClient,
    Client,
    InternalServerError,
    NotFoundError,
)
from tests.service_support import free_port

JOB = {
    "id": "abc",
    "state": "done",
    "question": "q",
    "graph": "g",
    "created_at": 1.0,
    "updated_at": 2.0,
    "report": "# r",
}


class FlakyApi:
    """Answers each job request with 503 (Retry-After: 1) ``failures`` times, then the job."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.arrivals: list[float] = []
        self.app = Starlette(routes=[Route("/v1/jobs/{job_id}", self.job)])

    async def job(self, request: Request) -> Response:
        self.arrivals.append(time.monotonic())
        if request.path_params["job_id"] != "abc":
            return JSONResponse(
                {"title": "Not found", "status": 404, "detail": "no job 'x' here"},
                status_code=404,
                media_type="application/problem+json",
            )
        if self.failures > 0:
            self.failures -= 1
            return JSONResponse(
                {"title": "Service unavailable", "status": 503, "detail": "Redis is down"},
                status_code=503,
                headers={"Retry-After": "1"},
                media_type="application/problem+json",
            )
        return JSONResponse(JOB)


@contextlib.asynccontextmanager
async def serving(api: FlakyApi) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.timeout(30)
async def test_retries_honour_retry_after_and_then_give_a_typed_error() -> None:
    api = FlakyApi(failures=2)
    async with serving(api) as base, AsyncClient(base, max_retries=2) as client:
        job = await client.jobs.get("abc")
        assert job.state == "done" and job.finished and job.report == "# r"
        gaps = [b - a for a, b in zip(api.arrivals, api.arrivals[1:], strict=False)]
        assert len(gaps) == 2 and min(gaps) >= 0.9
        api.failures = 5
        with pytest.raises(InternalServerError) as failed:
            await client.with_options(max_retries=0).jobs.get("abc")
        assert failed.value.status_code == 503 and "Redis is down" in str(failed.value)
        with pytest.raises(NotFoundError) as missing:
            await client.jobs.get("x")
        assert missing.value.problem is not None
        assert missing.value.problem.detail == "no job 'x' here"


@pytest.mark.timeout(30)
async def test_the_sync_client_has_the_same_surface() -> None:
    api = FlakyApi(failures=1)
    async with serving(api) as base:

        def fetch() -> str:
            with Client(base) as client:
                return client.jobs.wait("abc", timeout=10).state

        assert await asyncio.to_thread(fetch) == "done"


@pytest.mark.timeout(30)
def test_no_server_is_a_connection_error() -> None:
    with (
        Client(f"http://127.0.0.1:{free_port()}", max_retries=1) as client,
        pytest.raises(APIConnectionError, match="breadth serve"),
    ):
        client.jobs.get("abc")


def test_importing_the_client_pulls_in_no_engine_or_service() -> None:
    code = (
        "import sys, orchestrator.client\n"
        "heavy = {'fastapi', 'redis', 'langgraph', 'networkx', 'agents', 'tools', 'uvicorn'}\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & heavy\n"
        "engine = [m for m in sys.modules if m.startswith('orchestrator.')\n"
        "          and not m.startswith('orchestrator.client') and m != 'orchestrator.errors']\n"
        "print(sorted(loaded), engine)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[] []", done.stdout + done.stderr
