"""A whole research job on the simulator and the real Redis store: run, interrupt, resume.

Drain, then assert: each job runs to its end (or is cancelled), then the stored job,
results and events are checked. Every test runs on both executors: in process, and on
the session's local Ray, where the tasks run in Ray workers on contexts rebuilt from the
settings, and the listeners follow the job's event stream in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime
from orchestrator.events import Event
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.protocol import Replica
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import LatencyModel, SimulatorServer
from orchestrator.runner import EventListener
from orchestrator.settings import Settings
from orchestrator.store.base import Store
from orchestrator.store.redis_store import RedisStore
from orchestrator.testing import ScriptedModel
from tests.support import within

# Every test here waits on a server (the simulator server answers): a hang fails it within 30 s,
# not the global 120 s.
pytestmark = pytest.mark.timeout(30)


QUESTION = "How does Python's garbage collector handle reference cycles?"


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    # A little decode latency, so that tasks are still running when the job is interrupted.
    latency = LatencyModel(decode_s_per_token=0.002)
    async with SimulatorServer(default_backend(), latency=latency) as server:
        yield server


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "corpus"
    docs.mkdir()
    (docs / "gc.md").write_text(
        "# Garbage collection\n\nCPython frees most objects by reference counting. A cyclic "
        "garbage collector finds reference cycles that counting cannot free, in generations.\n"
    )
    (docs / "weakref.md").write_text(
        "# Weak references\n\nA weak reference does not keep its object alive, which helps "
        "break reference cycles in caches.\n"
    )
    return docs


@pytest.fixture(params=["local", pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow])])
def executor(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return str(request.param)


@pytest.fixture
def settings_for(
    executor: str, redis_url: str
) -> Callable[[SimulatorServer | None, str], Settings]:
    """The job's settings: the simulator, the test's Redis namespace, the executor."""

    def make(simulator: SimulatorServer | None, namespace: str) -> Settings:
        urls = (simulator.base_url,) if simulator is not None else ()
        return Settings(
            model_urls=urls, redis_url=redis_url, namespace=namespace, executor=executor
        )

    return make


async def research(
    request: JobRequest,
    settings: Settings,
    *,
    store: Store,
    model: Replica | None = None,
    resume: str | None = None,
    listeners: Sequence[EventListener] = (),
    on_start: Callable[[JobRecord], None] | None = None,
) -> JobRecord:
    """Run a job through the composition root, on the given store (and model)."""
    async with await Runtime.open(settings, store=store, model=model) as runtime:
        return await runtime.research(
            request, resume=resume, listeners=listeners, on_start=on_start
        )


async def test_a_research_job_runs_end_to_end_and_is_stored(
    simulator: SimulatorServer,
    redis_client: aioredis.Redis,
    namespace: str,
    corpus: Path,
    settings_for: Callable[[SimulatorServer | None, str], Settings],
) -> None:
    store = RedisStore(redis_client, namespace)
    seen: list[Event] = []
    record = await research(
        JobRequest(question=QUESTION, corpus=str(corpus)),
        settings_for(simulator, namespace),
        store=store,
        listeners=[seen.append],
    )
    assert record.state == "done", record.error
    assert record.report and "## Sources" in record.report
    assert record.tasks_total >= 1 and record.usage.total_tokens > 0
    stored = await store.get_job(record.id)
    assert stored is not None and stored.report == record.report
    assert await store.get_artifact(record.id, "plan")
    results = await store.list_results(record.id)
    assert {r.status for r in results.values()} <= {"done", "failed"}
    types = [event.type for event in seen]
    assert types[0] == "job_started" and types[-1] == "job_finished"
    assert {"plan_ready", "task_started", "task_finished", "tokens"} <= set(types)
    streamed = [event.type for _, event in await store.read_events(record.id)]
    assert streamed == types


async def test_an_interrupted_job_resumes_without_redoing_finished_tasks(
    simulator: SimulatorServer,
    redis_client: aioredis.Redis,
    namespace: str,
    corpus: Path,
    settings_for: Callable[[SimulatorServer | None, str], Settings],
) -> None:
    store = RedisStore(redis_client, namespace)
    settings = settings_for(simulator, namespace)
    first_done = asyncio.Event()
    started: list[JobRecord] = []

    def interrupt_after_first_task(event: Event) -> None:
        if event.type == "task_finished":
            first_done.set()

    job = asyncio.ensure_future(
        research(
            JobRequest(question=QUESTION, corpus=str(corpus)),
            settings,
            store=store,
            listeners=[interrupt_after_first_task],
            on_start=started.append,
        )
    )
    waiter = asyncio.ensure_future(first_done.wait())
    await within(
        asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED),
        "the first task to finish",
        seconds=60,
    )
    job.cancel()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(job, "the cancelled job to stop")
    job_id = started[0].id
    interrupted = await store.get_job(job_id)
    assert interrupted is not None and interrupted.state == "cancelled"
    kept = {r.task_id for r in (await store.list_results(job_id)).values() if r.status == "done"}
    assert kept, "the first finished task must be stored before the interruption"

    resumed_events: list[Event] = []
    record = await research(
        JobRequest(question=QUESTION, corpus=str(corpus)),
        settings,
        store=store,
        resume=job_id,
        listeners=[resumed_events.append],
    )
    assert record.id == job_id and record.state == "done", record.error
    started_again = {e.task_id for e in resumed_events if e.type == "task_started"}
    reused = {
        e.task_id for e in resumed_events if e.type == "task_finished" and e.data.get("resumed")
    }
    assert kept <= reused
    assert not (kept & started_again), "a stored task ran again"


async def test_a_model_that_returns_garbage_fails_the_job_with_its_output(
    redis_client: aioredis.Redis,
    namespace: str,
    settings_for: Callable[[SimulatorServer | None, str], Settings],
) -> None:
    store = RedisStore(redis_client, namespace)
    garbage = ScriptedModel({"*": "I am not JSON at all <<<"})
    record = await research(
        JobRequest(question=QUESTION), settings_for(None, namespace), store=store, model=garbage
    )
    assert record.state == "failed"
    assert record.error is not None and "I am not JSON at all" in record.error
    stored = await store.get_job(record.id)
    assert stored is not None and stored.state == "failed" and stored.error == record.error
    assert "plan" in record.error
