"""JobRef.resolve: a worker rebuilds a job's context once, however many tasks arrive at once."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from orchestrator.graph.spec import GraphSpec, NodeSpec
from orchestrator.job import JobRequest
from orchestrator.settings import Settings
from orchestrator.tasks import JobRef, forget_rebuilt

pytestmark = pytest.mark.timeout(10)


async def test_tasks_arriving_together_share_one_rebuilt_context() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    built: list[object] = []

    async def rebuild(ref: JobRef) -> Any:
        started.set()
        await release.wait()  # every other task of the job arrives meanwhile
        built.append(object())
        return built[-1]

    request = JobRequest(question="q")
    ref = JobRef(
        job_id="job-ref-test",
        settings=Settings(),
        graph=GraphSpec(name="probe", nodes={"only": NodeSpec(op="noop")}),
        request=request,
        rebuild=cast(Any, rebuild),
    )
    try:
        first = asyncio.ensure_future(ref.resolve())
        await asyncio.wait_for(started.wait(), 5)
        others = [asyncio.ensure_future(ref.resolve()) for _ in range(3)]
        await asyncio.sleep(0)
        release.set()
        contexts = await asyncio.wait_for(asyncio.gather(first, *others), 5)
        assert len(built) == 1
        assert all(ctx is built[0] for ctx in contexts)
        assert await ref.resolve() is built[0]  # and later tasks find it at once
    finally:
        forget_rebuilt("job-ref-test")
