"""The Store contract: one suite, run against every store.

``redis`` is ``RedisStore`` on the real server (a namespace of the test's own, whose keys
are deleted afterwards); ``embedded`` is the embedded store in the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.events import Event
from orchestrator.job import JobRecord, JobRequest
from orchestrator.plan import TaskResult
from orchestrator.store import keys
from orchestrator.store.base import Store
from orchestrator.store.embedded import EmbeddedStore, open_embedded_store
from orchestrator.store.redis_store import RedisStore
from orchestrator.usage import TokenUsage
from tests.support import within

# Every test here waits on a server (the embedded Redis server starts): a hang fails it within 30 s,
# not the global 120 s.
pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["redis", "embedded"])
async def store(
    request: pytest.FixtureRequest, redis_url: str, namespace: str, tmp_path: Path
) -> AsyncIterator[RedisStore]:
    if request.param == "redis":
        opened = await RedisStore.connect(redis_url, namespace)
    else:
        opened = await open_embedded_store(tmp_path / "data", namespace)
    try:
        yield opened
    finally:
        if request.param == "redis":
            async for key in opened._client.scan_iter(match=f"{namespace}:*", count=500):
                await opened._client.delete(key)
        await opened.aclose()


@pytest.fixture
async def raw(store: RedisStore) -> AsyncIterator[aioredis.Redis]:
    """A plain client of the store's server, to look at the keys behind the store's back."""
    client = aioredis.Redis.from_url(store.url, decode_responses=True)
    yield client
    await client.aclose()


def new_job(question: str = "Why is the sky blue?", created_at: float = 1000.0) -> JobRecord:
    return JobRecord(
        id=uuid.uuid4().hex[:12], request=JobRequest(question=question), created_at=created_at
    )


def result(task_id: str, text: str = "an answer") -> TaskResult:
    return TaskResult(
        task_id=task_id,
        status="done",
        text=text,
        sources=["doc-1"],
        usage=TokenUsage(prompt_tokens=3, completion_tokens=4),
    )


async def fill_job(store: Store, job: JobRecord) -> None:
    """Write something of every kind for ``job``."""
    await store.put_job(job)
    await store.put_result(job.id, "key-a", result("a"))
    await store.put_artifact(job.id, "plan", '{"tasks": []}')
    await store.append_event(Event(type="job_started", job_id=job.id))
    await store.put_call(job.id, "model:abc#0", '{"text": "hi"}')


async def test_store_implements_the_protocol(store: RedisStore) -> None:
    assert isinstance(store, Store)


async def test_job_round_trips_and_is_replaced_on_put(store: RedisStore) -> None:
    job = new_job()
    assert await store.get_job(job.id) is None
    await store.put_job(job)
    assert await store.get_job(job.id) == job
    finished = job.model_copy(update={"state": "done", "report": "# Report"})
    await store.put_job(finished)
    stored = await store.get_job(job.id)
    assert stored is not None and stored.state == "done" and stored.report == "# Report"
    assert [j.id for j in await store.list_jobs()] == [job.id]


async def test_list_jobs_is_newest_first_and_limited(store: RedisStore) -> None:
    jobs = [new_job(f"question {i}", created_at=1000.0 + i) for i in range(5)]
    for job in (jobs[2], jobs[0], jobs[4], jobs[1], jobs[3]):
        await store.put_job(job)
    newest_first = [job.id for job in reversed(jobs)]
    assert [j.id for j in await store.list_jobs()] == newest_first
    assert [j.id for j in await store.list_jobs(limit=2)] == newest_first[:2]
    assert await store.list_jobs(limit=0) == []


async def test_results_round_trip_by_content_key(store: RedisStore) -> None:
    job = new_job()
    assert await store.get_result(job.id, "key-a") is None
    assert await store.list_results(job.id) == {}
    replaced = result("a", "replaced")
    await store.put_result(job.id, "key-a", result("a", "first"))
    await store.put_result(job.id, "key-b", result("b", "second"))
    await store.put_result(job.id, "key-a", replaced)
    assert await store.get_result(job.id, "key-a") == replaced
    listed = await store.list_results(job.id)
    assert {key: r.text for key, r in listed.items()} == {"key-a": "replaced", "key-b": "second"}
    assert listed["key-b"].usage.total_tokens == 7


async def test_artifacts_round_trip(store: RedisStore) -> None:
    job = new_job()
    assert await store.get_artifact(job.id, "report") is None
    await store.put_artifact(job.id, "report", "# Título ✓\nline two")
    await store.put_artifact(job.id, "plan", "{}")
    await store.put_artifact(job.id, "plan", '{"tasks": [1]}')
    assert await store.get_artifact(job.id, "report") == "# Título ✓\nline two"
    assert await store.get_artifact(job.id, "plan") == '{"tasks": [1]}'


async def test_recorded_calls_round_trip_per_job(store: RedisStore) -> None:
    job, other = new_job(), new_job()
    await store.put_call(job.id, "tool:k#0", '"result"')
    assert await store.get_call(job.id, "tool:k#0") == '"result"'
    assert await store.get_call(job.id, "tool:k#1") is None
    assert await store.get_call(other.id, "tool:k#0") is None


async def test_cached_calls_are_shared_by_every_job_of_the_namespace(store: RedisStore) -> None:
    assert await store.get_cached("model:k") is None
    await store.put_cached("model:k", '{"choices": []}')
    assert await store.get_cached("model:k") == '{"choices": []}'


async def test_events_read_in_order_after_an_id_and_by_count(store: RedisStore) -> None:
    job = new_job()
    assert await store.read_events(job.id) == []
    sent = [
        Event(type="task_started", job_id=job.id, task_id=f"t{i}", data={"i": i}) for i in range(5)
    ]
    ids = [await store.append_event(event) for event in sent]
    assert len(set(ids)) == 5
    everything = await store.read_events(job.id)
    assert [stream_id for stream_id, _ in everything] == ids
    assert [event for _, event in everything] == sent
    assert [e.task_id for _, e in await store.read_events(job.id, after=ids[1])] == [
        "t2",
        "t3",
        "t4",
    ]
    assert [e.task_id for _, e in await store.read_events(job.id, count=2)] == ["t0", "t1"]
    assert await store.read_events(job.id, after=ids[-1]) == []


async def test_blocking_read_returns_when_an_event_arrives(store: RedisStore) -> None:
    job = new_job()
    first = await store.append_event(Event(type="job_started", job_id=job.id))
    reader = asyncio.create_task(store.read_events(job.id, after=first, block_ms=60_000))
    done, _ = await asyncio.wait({reader}, timeout=0.2)
    assert not done, "a blocking read with no new event must wait, not return empty"
    arrived = Event(type="plan_ready", job_id=job.id, data={"tasks": 3})
    arrived_id = await store.append_event(arrived)
    assert await within(reader, "the blocking read to return the new event") == [
        (arrived_id, arrived)
    ]


async def test_blocking_read_with_no_event_returns_empty(store: RedisStore) -> None:
    job = new_job()
    assert await store.read_events(job.id, block_ms=20) == []


async def test_delete_job_removes_every_key_of_the_job(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    doomed, kept = new_job(created_at=1.0), new_job(created_at=2.0)
    await fill_job(store, doomed)
    await fill_job(store, kept)
    pattern = keys.job_keys_pattern(store.namespace, doomed.id)
    assert len([key async for key in raw.scan_iter(match=pattern)]) == 5
    await store.delete_job(doomed.id)
    assert [key async for key in raw.scan_iter(match=pattern)] == []
    assert await store.get_job(doomed.id) is None
    assert await store.list_results(doomed.id) == {}
    assert await store.read_events(doomed.id) == []
    assert [j.id for j in await store.list_jobs()] == [kept.id]
    assert await store.get_artifact(kept.id, "plan") == '{"tasks": []}'


async def test_every_key_lies_under_the_namespace(store: RedisStore, raw: aioredis.Redis) -> None:
    job = new_job()
    await fill_job(store, job)
    ns = store.namespace
    # Every key on the server that mentions the job belongs to the namespace ...
    mentioning = [key async for key in raw.scan_iter(match=f"*{job.id}*", count=1000)]
    assert mentioning and all(key.startswith(f"{ns}:") for key in mentioning)
    # ... and the namespace holds exactly the keys the key module names.
    under = {key async for key in raw.scan_iter(match=f"{ns}:*", count=1000)}
    assert under == {keys.jobs_index(ns), *keys.job_keys(ns, job.id)}


async def test_namespaces_do_not_see_each_other(store: RedisStore) -> None:
    job = new_job()
    await fill_job(store, job)
    other = RedisStore(aioredis.Redis.from_url(store.url), f"{store.namespace}-other")
    try:
        assert await other.get_job(job.id) is None
        assert await other.list_jobs() == []
        assert await other.read_events(job.id) == []
    finally:
        await other.aclose()


# The embedded store's own promises: it persists, and data dirs can be shared.


async def test_embedded_store_keeps_data_across_reopen(tmp_path: Path) -> None:
    job = new_job()
    first = await open_embedded_store(tmp_path, "breadth")
    await fill_job(first, job)
    await first.aclose()
    assert (tmp_path / "store.rdb").is_file()
    again = await open_embedded_store(tmp_path, "breadth")
    try:
        assert await again.get_job(job.id) == job
        assert (await again.list_results(job.id))["key-a"].text == "an answer"
        assert await again.get_artifact(job.id, "plan") == '{"tasks": []}'
        assert [e.type for _, e in await again.read_events(job.id)] == ["job_started"]
    finally:
        await again.aclose()


async def test_embedded_store_starts_from_the_snapshot_when_its_log_is_gone(
    tmp_path: Path,
) -> None:
    job = new_job()
    first = await open_embedded_store(tmp_path)
    await first.put_job(job)
    await first.aclose()
    (tmp_path / "store.aof").unlink()  # only the snapshot is left
    again = await open_embedded_store(tmp_path)
    try:
        assert await again.get_job(job.id) == job
    finally:
        await again.aclose()
    assert (tmp_path / "store.aof").is_file()
    (tmp_path / "store.rdb").unlink()  # now only the rebuilt log is left
    third = await open_embedded_store(tmp_path)
    try:
        assert await third.get_job(job.id) == job
    finally:
        await third.aclose()


async def test_embedded_store_reads_what_another_process_wrote(tmp_path: Path) -> None:
    writer = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from orchestrator.job import JobRecord, JobRequest
        from orchestrator.store.embedded import open_embedded_store

        async def main() -> None:
            store = await open_embedded_store(Path(sys.argv[1]))
            await store.put_job(JobRecord(id="job-from-cli", request=JobRequest(question="q")))
            await store.aclose()

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", writer, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    store = await open_embedded_store(tmp_path)
    try:
        stored = await store.get_job("job-from-cli")
        assert stored is not None and stored.request.question == "q"
    finally:
        await store.aclose()


async def test_embedded_stores_share_a_data_dir_and_the_last_one_stops_it(
    tmp_path: Path,
) -> None:
    first = await open_embedded_store(tmp_path)
    second = await open_embedded_store(tmp_path)
    job = new_job()
    try:
        assert isinstance(first, EmbeddedStore)
        assert second.url == first.url  # one server, attached to
        await first.put_job(job)
        assert await second.get_job(job.id) == job
    finally:
        await first.aclose()
    socket = Path(second.url.removeprefix("unix://"))
    try:
        assert socket.exists(), "closing one store must not stop a server another still uses"
        await second.put_artifact(job.id, "report", "written after the first closed")
    finally:
        await second.aclose()
    assert not socket.exists()
    reopened = await open_embedded_store(tmp_path)
    try:
        assert await reopened.get_artifact(job.id, "report") == "written after the first closed"
    finally:
        await reopened.aclose()
