"""The job queue on real Redis: atomic accept with idempotency and quota, leases renewed
only by their holder, reclaim after the lease with delivery counts, hand-back at once;
and cancel requests (a queued job is cancelled at once).
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from orchestrator.errors import ConfigError
from orchestrator.job import JobRecord, JobRequest
from orchestrator.store import keys
from orchestrator.store.cancels import CancelRequests
from orchestrator.store.job_pages import decode_cursor, list_job_page
from orchestrator.store.queue import JobQueue
from orchestrator.store.tenants import TenantStore

pytestmark = pytest.mark.redis


def record(job_id: str, created_at: float = 1.0) -> JobRecord:
    return JobRecord(id=job_id, request=JobRequest(question="q"), created_at=created_at)


@pytest.fixture
async def queue(redis_client: aioredis.Redis, namespace: str) -> JobQueue:
    queue = JobQueue(redis_client, namespace)
    await queue.ensure_group()
    await queue.ensure_group()  # twice is fine
    return queue


async def test_enqueue_is_atomic_idempotent_and_within_quota(
    queue: JobQueue, redis_client: aioredis.Redis, namespace: str
) -> None:
    tenant = keys.tenant_namespace(namespace, "acme")
    first = await queue.enqueue(tenant, record("a"), idempotency_key="k1", request_hash="h1")
    again = await queue.enqueue(tenant, record("b"), idempotency_key="k1", request_hash="h2")
    assert first.outcome == "created"
    assert (again.outcome, again.job_id, again.request_hash) == ("duplicate", "a", "h1")
    assert await redis_client.exists(keys.job(tenant, "b")) == 0  # nothing of the duplicate
    over = await queue.enqueue(tenant, record("c"), max_active=1)
    assert (over.outcome, over.active) == ("quota", 1)
    assert await redis_client.xlen(keys.queue(namespace)) == 1
    events = await redis_client.xrange(keys.events(tenant, "a"))
    assert len(events) == 1 and b"job_queued" in events[0][1][b"event"]


async def test_leases_are_renewed_by_their_holder_and_reclaimed_after_they_lapse(
    queue: JobQueue, namespace: str
) -> None:
    await queue.enqueue(namespace, record("a"))
    [entry] = await queue.claim("w1", 5, block_ms=100)
    assert (entry.job_id, entry.namespace, entry.deliveries) == ("a", namespace, 1)
    assert await queue.claim("w2", 5, block_ms=50) == []  # held: nobody else gets it
    assert await queue.renew("w1", [entry.entry_id]) == {entry.entry_id}
    assert await queue.reclaim("w2", min_idle_ms=5_000, count=5) == []  # lease still good
    await asyncio.sleep(0.3)
    [taken] = await queue.reclaim("w2", min_idle_ms=200, count=5)
    assert (taken.entry_id, taken.deliveries) == (entry.entry_id, 2)
    assert await queue.renew("w1", [entry.entry_id]) == set()  # w1 lost it
    assert await queue.depth() == (0, 1)
    await queue.finish(taken, record("a").model_copy(update={"state": "done"}))
    assert await queue.depth() == (0, 0)
    assert (await queue.stats())["jobs_done"] == 1


async def test_a_released_job_is_claimable_at_once(queue: JobQueue, namespace: str) -> None:
    await queue.enqueue(namespace, record("a"), headers={"traceparent": "00-abc-def-01"})
    [entry] = await queue.claim("w1", 1, block_ms=100)
    await queue.release(entry)
    [again] = await queue.claim("w2", 1, block_ms=100)
    assert again.job_id == "a" and again.deliveries == 1
    assert again.headers == {"traceparent": "00-abc-def-01"}


async def test_cancelling_a_queued_job_cancels_it_at_once(
    queue: JobQueue, redis_client: aioredis.Redis, namespace: str
) -> None:
    await queue.enqueue(namespace, record("a"))
    cancels = CancelRequests(redis_client, namespace)
    assert await cancels.request(namespace, "missing") is None
    cancelled = await cancels.request(namespace, "a")
    assert cancelled is not None and cancelled.state == "cancelled"
    assert await cancels.requested(namespace, ["a", "b"]) == {"a"}
    assert await redis_client.sismember(keys.active_jobs(namespace), "a") == 0


async def test_job_pages_follow_the_cursor_and_filter_by_state(
    queue: JobQueue, redis_client: aioredis.Redis, namespace: str
) -> None:
    for i in range(7):
        job = record(f"j{i}", created_at=100.0 + i // 2)  # ties on the score
        job.state = "done" if i % 2 else "queued"
        await queue.enqueue(namespace, job)
    seen: list[str] = []
    cursor = None
    while True:
        page = await list_job_page(redis_client, namespace, limit=3, cursor=cursor)
        seen += [job.id for job in page.jobs]
        cursor = page.next_cursor
        if cursor is None or not page.jobs:
            break
    assert sorted(seen) == [f"j{i}" for i in range(7)] and len(seen) == 7
    done = await list_job_page(redis_client, namespace, limit=10, state="done")
    assert sorted(job.id for job in done.jobs) == ["j1", "j3", "j5"]
    with pytest.raises(ConfigError, match="not one this service gave out"):
        decode_cursor("%%%")


async def test_tenant_keys_are_hashed_and_revocable(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    tenants = TenantStore(redis_client, namespace)
    key, stored, tenant = await tenants.create_key("acme", max_concurrent_jobs=2)
    assert tenant.max_concurrent_jobs == 2
    found = await tenants.authenticate(key)
    assert found is not None and found.name == "acme"
    assert await tenants.authenticate(key + "x") is None
    raw = await redis_client.hgetall(keys.api_keys(namespace))
    assert key.encode() not in b"".join(k + v for k, v in raw.items())
    assert await tenants.revoke(stored.key_id)
    assert await tenants.authenticate(key) is None
    with pytest.raises(ConfigError, match="tenant name"):
        await tenants.create_key("Not Valid")
