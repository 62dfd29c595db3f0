"""The service survives what its users complain about, with real processes on loopback.

A real `breadth serve` (uvicorn), real `breadth worker` processes, real Redis and the
simulator as the model: a worker SIGKILLed mid-job (reclaimed, finished, no finished
task run again), Redis restarted mid-job, a client reconnecting to the event stream,
a cancel reaching the worker, SIGTERM handing a job back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from orchestrator.client import AsyncClient, JobEvent
from orchestrator.events import Event
from orchestrator.models.protocol import Completion, GenerateRequest, StreamChunk
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import LatencyModel, SimulatorServer
from orchestrator.store import keys
from tests.service_support import (
    TINY_RESEARCH,
    Processes,
    RedisServer,
    free_port,
    processes,
    serve_args,
    wait_http,
    wait_log,
    worker_args,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]
QUESTION = "How does Python's garbage collector handle reference cycles?"


class Turnstile:
    """The simulator's backend: while closed, each request waits until the test lets it in.

    Records a key per answered request (a hash of its messages, n and seed), so the test
    can tell which prompts were sent again.
    """

    def __init__(self) -> None:
        self.inner = default_backend()
        self.name = self.inner.name
        self.closed = True
        self.arrived: asyncio.Queue[tuple[str, asyncio.Event]] = asyncio.Queue()
        self.answered: list[str] = []

    @staticmethod
    def key(request: GenerateRequest) -> str:
        body = json.dumps([[m.role, m.content] for m in request.messages] + [request.n])
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    async def generate(self, request: GenerateRequest) -> Completion:
        key = self.key(request)
        if self.closed:
            gate = asyncio.Event()
            await self.arrived.put((key, gate))
            await gate.wait()
        self.answered.append(key)
        return await self.inner.generate(request)

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def procs(tmp_path: Path) -> AsyncIterator[Processes]:
    with processes(tmp_path) as started:
        yield started


async def start_api(procs: Processes, redis_url: str, namespace: str) -> str:
    port = free_port()
    server = procs.start(
        "serve", serve_args(port, redis_url, namespace, "--workers", "0", "--no-auth")
    )
    base = f"http://127.0.0.1:{port}"
    await wait_http(f"{base}/healthz", server)
    return base


async def stored_events(client: aioredis.Redis, namespace: str, job_id: str) -> list[Event]:
    entries = await client.xrange(keys.events(namespace, job_id))
    return [Event.model_validate_json(fields[b"event"]) for _, fields in entries]


async def sim_requests(sim: SimulatorServer) -> int:
    """The simulator's request counter, read from its /metrics page like a scraper would."""
    async with httpx.AsyncClient() as http:
        page = (await http.get(sim.base_url.removesuffix("/v1") + "/metrics")).text
    line = next(t for t in page.splitlines() if t.startswith("breadth_sim_requests_total"))
    return int(float(line.rsplit(" ", 1)[1]))


@pytest.mark.timeout(120)
async def test_a_killed_workers_job_is_reclaimed_and_no_finished_task_runs_again(
    procs: Processes, redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    turnstile = Turnstile()
    async with SimulatorServer(turnstile) as sim:  # type: ignore[arg-type]
        base = await start_api(procs, redis_url, namespace)
        lease = ("--lease-s", "2", "--concurrency", "1")
        first = procs.start("worker-a", worker_args(redis_url, namespace, sim.base_url, *lease))
        async with AsyncClient(base) as client:
            job = await client.jobs.create(QUESTION, graph=TINY_RESEARCH)
            # Let requests in one at a time until a research task has finished; the
            # request then waiting is the next task's (tasks run one at a time).
            while True:
                key, gate = await asyncio.wait_for(turnstile.arrived.get(), 60)
                events = await stored_events(redis_client, namespace, job.id)
                finished = {e.task_id for e in events if e.type == "task_finished"}
                if finished:
                    break
                gate.set()
            first.kill()
            before = list(turnstile.answered)
            held = key
            turnstile.closed = False
            gate.set()
            procs.start("worker-b", worker_args(redis_url, namespace, sim.base_url, *lease))
            done = await asyncio.wait_for(client.jobs.wait(job.id, poll_s=0.2), 90)
        after = turnstile.answered[len(before) :]
        total = await sim_requests(sim)
    assert done.state == "done", done.error
    assert done.report
    # Nothing answered before the kill (the plan, the finished tasks) was asked again.
    assert not set(before) & set(after)
    # Prompts are the same from worker to worker: the unfinished task's held request
    # was sent again by the second worker (so a re-run finished task would show too).
    assert after.count(held) == 2
    assert total == len(before) + len(after)
    events = await stored_events(redis_client, namespace, job.id)
    resumed = {e.task_id for e in events if e.type == "task_finished" and e.data.get("resumed")}
    assert finished <= resumed
    assert [e.type for e in events].count("job_finished") == 1
    assert [e.type for e in events].count("job_started") == 2


@pytest.mark.timeout(120)
async def test_a_redis_restart_mid_job_loses_nothing_acknowledged(
    procs: Processes, tmp_path: Path
) -> None:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(free_port(), folder)
    server.start()
    namespace = "restart"
    latency = LatencyModel(decode_s_per_token=0.004)
    try:
        async with SimulatorServer(default_backend(), latency=latency) as sim:
            base = await start_api(procs, server.url, namespace)
            worker = procs.start("worker", worker_args(server.url, namespace, sim.base_url))
            await wait_log(worker, "claiming jobs")
            async with AsyncClient(base, max_retries=8) as client:
                job = await client.jobs.create(QUESTION, graph=TINY_RESEARCH)
                seen: list[JobEvent] = []
                async for event in client.jobs.stream(job.id):
                    seen.append(event)
                    if event.type == "task_finished":
                        break
                server.kill()
                server.start()  # same port, same data dir: the AOF is replayed
                done = await asyncio.wait_for(client.jobs.wait(job.id, poll_s=0.2), 90)
                replay = [e async for e in client.jobs.stream(job.id)]
    finally:
        server.kill()
    assert done.state == "done", done.error
    replayed = {e.id: e for e in replay}
    for event in seen:  # every event acknowledged before the restart is still there
        assert event.id in replayed and replayed[event.id].type == event.type
    assert replay[-1].type == "end" and replay[-1].data["state"] == "done"


@pytest.mark.timeout(120)
async def test_a_client_that_reconnects_with_last_event_id_gets_every_event_once(
    procs: Processes, redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    latency = LatencyModel(decode_s_per_token=0.003)
    async with SimulatorServer(default_backend(), latency=latency) as sim:
        port = free_port()
        api = procs.start(
            "serve", serve_args(port, redis_url, namespace, "--workers", "0", "--no-auth")
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", api)
        procs.start("worker", worker_args(redis_url, namespace, sim.base_url))
        async with AsyncClient(base, max_retries=10) as client:
            job = await client.jobs.create(QUESTION, graph=TINY_RESEARCH)
            received: list[JobEvent] = []
            # Disconnect by hand after a few events, and come back with Last-Event-ID.
            async for event in client.jobs.stream(job.id):
                received.append(event)
                if len(received) == 3:
                    break
            restarted = False
            async for event in client.jobs.stream(job.id, last_event_id=received[-1].id):
                received.append(event)
                if event.type == "task_finished" and not restarted:
                    # The server goes away mid-stream: the client reconnects by itself.
                    restarted = True
                    api.kill()
                    api = procs.start(
                        "serve",
                        serve_args(port, redis_url, namespace, "--workers", "0", "--no-auth"),
                    )
            assert restarted
    stored = await redis_client.xrange(keys.events(namespace, job.id))
    stored_ids = [entry_id.decode() for entry_id, _ in stored]
    assert [e.id for e in received[:-1]] == stored_ids  # each exactly once, in order
    assert received[-1].type == "end" and received[-1].data["state"] == "done"


@pytest.mark.timeout(120)
async def test_a_cancel_reaches_the_worker_and_keeps_what_was_done(
    procs: Processes, redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    latency = LatencyModel(decode_s_per_token=0.01)
    async with SimulatorServer(default_backend(), latency=latency) as sim:
        base = await start_api(procs, redis_url, namespace)
        procs.start("worker", worker_args(redis_url, namespace, sim.base_url))
        async with AsyncClient(base) as client:
            job = await client.jobs.create(QUESTION, graph=TINY_RESEARCH)
            async for event in client.jobs.stream(job.id):
                if event.type == "task_finished":
                    break
            requested = await client.jobs.cancel(job.id)
            assert requested.cancel_requested
            final = await asyncio.wait_for(client.jobs.wait(job.id, poll_s=0.2), 60)
            streamed = [e.type async for e in client.jobs.stream(job.id)]
    assert final.state == "cancelled"
    assert "task_finished" in streamed and streamed[-2:] == ["job_cancelled", "end"]
    results = await redis_client.hgetall(keys.results(namespace, job.id))
    assert results  # the finished task's result is kept
    # A second cancel of a cancelled job is a no-op, not an error.
    async with AsyncClient(base) as client:
        assert (await client.jobs.cancel(job.id)).state == "cancelled"


@pytest.mark.timeout(120)
async def test_sigterm_hands_a_running_job_back_to_another_worker(
    procs: Processes, redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    latency = LatencyModel(decode_s_per_token=0.01)
    async with SimulatorServer(default_backend(), latency=latency) as sim:
        base = await start_api(procs, redis_url, namespace)
        # A long lease: only the hand-back, not the janitor, can make the job move on.
        slow = ("--lease-s", "120", "--grace-s", "0")
        first = procs.start("worker-a", worker_args(redis_url, namespace, sim.base_url, *slow))
        async with AsyncClient(base) as client:
            job = await client.jobs.create(QUESTION, graph=TINY_RESEARCH)
            async for event in client.jobs.stream(job.id):
                if event.type == "task_finished":
                    break
            assert first.terminate() == 0
            procs.start("worker-b", worker_args(redis_url, namespace, sim.base_url, *slow))
            final = await asyncio.wait_for(client.jobs.wait(job.id, poll_s=0.2), 60)
    assert final.state == "done", final.error
    types = [e.type for e in await stored_events(redis_client, namespace, job.id)]
    assert "job_released" in types and "job_cancelled" not in types
