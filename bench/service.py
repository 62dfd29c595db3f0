"""Service benchmark: N jobs through the Python client, against the same jobs in process.

Starts the built-in simulator (in this process), a `breadth serve --workers 0` and
``--workers`` `breadth worker` processes on Redis (``--redis-url``, default the local
server; a namespace of its own, deleted afterwards), submits ``--jobs`` jobs at once
with ``AsyncClient`` and waits for all of them. Then runs the same jobs in this process
through ``Runtime`` (``--concurrency`` x ``--workers`` at once, as many as the workers
run), on the same simulator and Redis.

Figures (one JSON line on stdout, also written to ``bench/results/service.json``):

- ``service.jobs_per_s``: jobs / wall time from the first submit to the last job done.
- ``service.p50_s`` / ``p99_s``: submit -> done per job (from the client's clock at
  submit to the job record's ``updated_at`` when it was stored done; one machine, one
  clock).
- ``in_process``: the same for the jobs run by ``Runtime.research`` here (start -> done).
- ``overhead``: ``wall_ratio`` (service wall time / in-process wall time) and
  ``p50_added_s`` (service p50 - in-process p50): what the HTTP API, the queue, leases
  and the worker processes cost per job.

Run: ``.venv/bin/python bench/service.py [--jobs 100] [--workers 2] [--concurrency 16]``
(``--graph research`` runs a 3-task research graph instead of one model call per job).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from orchestrator.app import Runtime
from orchestrator.client import AsyncClient
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import LatencyModel, SimulatorServer
from orchestrator.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service_support import (  # noqa: E402
    ONE_CALL,
    TINY_RESEARCH,
    free_port,
    processes,
    serve_args,
    wait_http,
    wait_log,
    worker_args,
)

RESULTS = ROOT / "bench" / "results" / "service.json"
GRAPHS = {"one_call": ONE_CALL, "research": TINY_RESEARCH}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def figures(latencies: list[float], wall_s: float) -> dict[str, float]:
    return {
        "wall_s": round(wall_s, 3),
        "jobs_per_s": round(len(latencies) / wall_s, 2),
        "p50_s": round(statistics.median(latencies), 4),
        "p99_s": round(percentile(latencies, 0.99), 4),
    }


async def through_service(
    args: argparse.Namespace, sim: SimulatorServer, namespace: str, graph: str
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder, processes(Path(folder)) as procs:
        port = free_port()
        api = procs.start(
            "serve", serve_args(port, args.redis_url, namespace, "--workers", "0", "--no-auth")
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/healthz", api)
        extra = ("--concurrency", str(args.concurrency))
        workers = [
            procs.start(f"worker-{i}", worker_args(args.redis_url, namespace, sim.base_url, *extra))
            for i in range(args.workers)
        ]
        for worker in workers:
            await wait_log(worker, "claiming jobs")
        async with AsyncClient(base, max_retries=5, timeout=120) as client:
            submitted: dict[str, float] = {}

            async def submit(i: int) -> str:
                started = time.time()
                job = await client.jobs.create(f"Benchmark question {i}?", graph=graph)
                submitted[job.id] = started
                return job.id

            began = time.time()
            ids = await asyncio.gather(*(submit(i) for i in range(args.jobs)))
            done = await asyncio.gather(*(client.jobs.wait(i, poll_s=0.25) for i in ids))
        states = {job.state for job in done}
        if states != {"done"}:
            raise SystemExit(f"not every job is done: {states}")
        wall = max(job.updated_at for job in done) - began
        latencies = [job.updated_at - submitted[job.id] for job in done]
        return figures(latencies, wall)


async def in_process(
    args: argparse.Namespace, sim: SimulatorServer, namespace: str, graph: str
) -> dict[str, float]:
    settings = Settings(
        model_urls=(sim.base_url,), redis_url=args.redis_url, namespace=f"{namespace}-local"
    )
    slots = asyncio.Semaphore(args.concurrency * args.workers)
    async with await Runtime.open(settings) as runtime:

        async def one(i: int) -> float:
            started = time.time()
            async with slots:
                request = JobRequest(
                    question=f"Benchmark question {i}?", graph="inline", graph_yaml=graph
                )
                record = await runtime.research(request)
            if record.state != "done":
                raise SystemExit(f"an in-process job ended {record.state}: {record.error}")
            return time.time() - started

        began = time.time()
        latencies = await asyncio.gather(*(one(i) for i in range(args.jobs)))
        return figures(list(latencies), time.time() - began)


async def cleanup(redis_url: str, namespace: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter(match=f"{namespace}*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"breadth-bench-{uuid.uuid4().hex[:8]}"
    graph = GRAPHS[args.graph]
    latency = LatencyModel(decode_s_per_token=args.decode_ms / 1000)
    try:
        async with SimulatorServer(default_backend(), latency=latency) as sim:
            service = await through_service(args, sim, namespace, graph)
            requests_service = sim.stats.requests
            local = await in_process(args, sim, namespace, graph)
    finally:
        await cleanup(args.redis_url, namespace)
    return {
        "bench": "service",
        "jobs": args.jobs,
        "graph": args.graph,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "decode_ms": args.decode_ms,
        "service": service,
        "in_process": local,
        "overhead": {
            "wall_ratio": round(service["wall_s"] / local["wall_s"], 3),
            "p50_added_s": round(service["p50_s"] - local["p50_s"], 4),
        },
        "sim_requests_service": requests_service,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=16, help="jobs per worker at once")
    parser.add_argument("--graph", choices=sorted(GRAPHS), default="one_call")
    parser.add_argument("--decode-ms", type=float, default=0.0, help="simulated ms per token")
    parser.add_argument(
        "--redis-url", default=os.environ.get("BREADTH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    return parser.parse_args()


if __name__ == "__main__":
    result = asyncio.run(main(parse_args()))
    line = json.dumps(result)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
