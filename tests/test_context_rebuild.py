"""A task's context rebuilt from settings in another process, as a worker or Ray task does.

The job's process hands the task and its ``JobRef`` (plain settings, graph and request,
pickled) to a fresh Python process, which rebuilds the job's context from them (model
pool, tools, store, op registry) and runs the task there; its tokens and events reach the
job's stream in the store.
"""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.app import builtin_ops, load_job_graph, rebuild_context
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.plan import TaskResult, TaskSpec
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from orchestrator.tasks import JobRef

ROOT = Path(__file__).parents[1]

# What the other process runs: load the task and its job's reference, resolve the
# context (rebuilt from the settings, as no live context of this job is in that
# process) and run the task by its kind's handler.
CHILD = """
import asyncio, pickle, sys
from orchestrator.tasks import run_task

ref, task = pickle.loads(sys.stdin.buffer.read())

async def main():
    ctx = await ref.resolve()
    result = await run_task(ctx.handlers[task.kind], task, {}, ref)
    await ctx.store.aclose()
    return result

print(asyncio.run(main()).model_dump_json())
"""


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend()) as server:
        yield server


@pytest.mark.timeout(60)
async def test_a_task_runs_in_a_fresh_process_on_a_context_rebuilt_from_settings(
    simulator: SimulatorServer, redis_url: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    settings = Settings(model_urls=(simulator.base_url,), redis_url=redis_url, namespace=namespace)
    spec = load_job_graph("vote", builtin_ops())
    request = JobRequest(question="What is 2 + 2?", graph="vote")
    ref = JobRef("job-remote", settings, spec, request, rebuild_context)
    task = TaskSpec(
        id="check",
        kind="operator",
        params={
            "op": "vote",
            "params": {"n": 3, "extract": "last_number"},
            "question": "What is 2 + 2? End with 'the answer is N'.",
            "agent": "solver",
        },
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(pickle.dumps((ref, task))), timeout=50)
    assert child.returncode == 0, err.decode()[-3000:]
    result = TaskResult.model_validate_json(out.decode().strip().splitlines()[-1])
    assert result.status == "done" and result.text
    assert result.output["op"] == "vote"
    assert result.usage.total_tokens > 0
    assert simulator.stats.requests >= 1  # the rebuilt model pool reached the simulator
    events = await RedisStore(redis_client, namespace).read_events("job-remote")
    tokens = [event for _, event in events if event.type == "tokens"]
    assert tokens and all(event.task_id == "check" for event in tokens)
    assert sum(e.data["prompt_tokens"] + e.data["completion_tokens"] for e in tokens) == (
        result.usage.total_tokens
    )
