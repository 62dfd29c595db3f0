"""`breadth serve` on the embedded defaults (embedded store, one in-process worker) and the
job commands against it with `--server`: research (live progress from the event
stream), jobs, show, cancel.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from tests.service_support import (
    TINY_RESEARCH,
    breadth_command,
    free_port,
    processes,
    wait_http,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend()) as sim:
        yield sim


async def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(
        subprocess.run,
        breadth_command(*args),
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.timeout(180)
async def test_serve_on_the_embedded_defaults_and_the_cli_against_it(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    env = {"BREADTH_HOME": str(tmp_path / "home")}
    graph = tmp_path / "tiny.yaml"
    graph.write_text(TINY_RESEARCH)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with processes(tmp_path) as procs:
        # No store flags: the embedded store under BREADTH_HOME, one in-process worker.
        server = procs.start(
            "serve",
            breadth_command(
                "serve", "--port", str(port), "--no-auth", "--model-url", simulator.base_url
            ),
            env=env,
        )
        await wait_http(f"{base}/healthz", server)
        await wait_http(f"{base}/readyz", server)  # the in-process worker heartbeats
        done = await run_cli(
            "research",
            "What is a reference cycle?",
            "--graph",
            str(graph),
            "--server",
            base,
            env=env,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Sources" in done.stdout  # the report, rendered
        # The live progress, from the event stream: every planned task done.
        assert re.search(r"tasks ([1-9]\d*)/\1 done", done.stderr), done.stderr
        job_id = done.stderr.split("job ", 1)[1].split()[0]
        listed = await run_cli("jobs", "--server", base, env=env)
        assert job_id in listed.stdout
        shown = await run_cli("show", job_id, "--server", base, "--events", env=env)
        assert "done" in shown.stdout and "job_finished" in shown.stdout
        finished = await run_cli("cancel", job_id, "--server", base, env=env)
        assert finished.returncode == 2 and "nothing to cancel" in finished.stderr
        # The embedded store is the service's store: the local commands see the job too.
        local = await run_cli("show", job_id, env=env)
        assert local.returncode == 0 and job_id in local.stdout
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{base}/metrics")).text
        assert 'breadth_jobs{state="done"} 1.0' in metrics
        # SIGTERM: uvicorn shuts down gracefully (the in-process worker stops), then
        # exits by the signal, as its default handler would.
        server.terminate()
        log = server.output()
        assert "stopped" in log and "Traceback" not in log, log[-3000:]
