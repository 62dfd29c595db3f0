"""Load: 200 jobs submitted at once through ``AsyncClient`` to two worker processes, on
the simulator: every job reaches ``done``, none is lost, none runs twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.client import AsyncClient
from orchestrator.events import Event
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.store import keys
from tests.service_support import (
    ONE_CALL,
    Processes,
    free_port,
    processes,
    serve_args,
    wait_http,
    wait_log,
    worker_args,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]
JOBS = 200


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with processes(tmp_path) as started:
        yield started


@pytest.mark.timeout(180)
async def test_two_hundred_jobs_through_two_workers_all_done_none_lost_or_duplicated(
    procs: Processes, redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    async with SimulatorServer(default_backend()) as sim:
        port = free_port()
        api = procs.start(
            "serve", serve_args(port, redis_url, namespace, "--workers", "0", "--no-auth")
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", api)
        workers = [
            procs.start(
                f"worker-{i}",
                worker_args(redis_url, namespace, sim.base_url, "--concurrency", "16"),
            )
            for i in range(2)
        ]
        for worker in workers:
            await wait_log(worker, "claiming jobs")
        async with AsyncClient(base, max_retries=5, timeout=60) as client:
            created = await asyncio.gather(
                *(client.jobs.create(f"Question number {i}?", graph=ONE_CALL) for i in range(JOBS))
            )
            finished = await asyncio.wait_for(
                asyncio.gather(*(client.jobs.wait(job.id, poll_s=0.5) for job in created)), 150
            )
            listed = []
            cursor = None
            while True:
                page = await client.jobs.list(limit=100, cursor=cursor)
                listed += page.jobs
                cursor = page.next_cursor
                if not page.jobs or cursor is None:
                    break
        requests = sim.stats.requests
    ids = [job.id for job in created]
    assert len(set(ids)) == JOBS
    assert Counter(job.state for job in finished) == {"done": JOBS}
    assert sorted(job.id for job in listed) == sorted(ids)  # none lost, none extra
    # None ran twice: one job_started per job, and one model request per job.
    for job_id in ids:
        entries = await redis_client.xrange(keys.events(namespace, job_id))
        types = [Event.model_validate_json(f[b"event"]).type for _, f in entries]
        assert types.count("job_started") == 1 and types.count("job_finished") == 1
    assert requests == JOBS
    assert await redis_client.xlen(keys.queue(namespace)) == 0  # every entry acknowledged
