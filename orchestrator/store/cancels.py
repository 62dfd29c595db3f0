"""Cancel requests: persisted on the job (its ``cancel`` key) and announced on a channel.

The flag is what makes a cancel durable: a worker checks it before it starts a job and
with every heartbeat. The channel makes it fast: the worker running the job hears it at
once. A job still queued is cancelled here, in one transaction that only commits while
the job is still queued (``WATCH``), so a worker claiming it at that moment either sees
the flag or owns a running job that the announcement reaches.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as aioredis
from redis import exceptions as rexc

from orchestrator.errors import StoreUnavailable
from orchestrator.events import Event
from orchestrator.job import JobRecord
from orchestrator.store import keys
from orchestrator.store.redis_store import describe_redis_error, text, translated

CANCEL_REASON = "cancelled by the user"


class CancelRequests:
    """Cancel requests of the service under ``base``, for jobs in any of its namespaces."""

    def __init__(self, client: aioredis.Redis, base: str, *, url: str = "redis") -> None:
        self._client = client
        self.base = base
        self.channel = keys.cancels_channel(base)
        self.url = url

    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable:
        return describe_redis_error(exc, self.url)

    @translated
    async def request(self, namespace: str, job_id: str) -> JobRecord | None:
        """Persist a cancel of job ``job_id``; a queued job is cancelled at once.

        Returns the job as it stands after the request (None: no such job).
        """
        record_key = keys.job(namespace, job_id)
        async with self._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(record_key)
                    raw = await pipe.get(record_key)
                    if raw is None:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return None
                    record = JobRecord.model_validate_json(raw)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(keys.cancel(namespace, job_id), "1")
                    if record.state == "queued":
                        record.state, record.error = "cancelled", CANCEL_REASON
                        record.updated_at = time.time()
                        event = Event(type="job_cancelled", job_id=job_id)
                        pipe.set(record_key, record.model_dump_json())
                        pipe.srem(keys.active_jobs(namespace), job_id)
                        pipe.xadd(
                            keys.events(namespace, job_id),
                            {keys.EVENT_FIELD: event.model_dump_json()},
                        )
                        pipe.hincrby(keys.stats(self.base), "jobs_cancelled", 1)
                    pipe.publish(self.channel, f"{namespace}/{job_id}")
                    await pipe.execute()
                    return record
                except rexc.WatchError:
                    continue

    @translated
    async def requested(self, namespace: str, job_ids: Sequence[str]) -> set[str]:
        """Which of ``job_ids`` (in ``namespace``) a user asked to cancel."""
        if not job_ids:
            return set()
        flags = await self._client.mget([keys.cancel(namespace, job_id) for job_id in job_ids])
        return {job_id for job_id, flag in zip(job_ids, flags, strict=True) if flag}

    async def listen(self) -> AsyncIterator[tuple[str, str]]:
        """(namespace, job id) of each cancel announced from now on (until closed)."""
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                namespace, _, job_id = text(message["data"]).rpartition("/")
                if namespace and job_id:
                    yield namespace, job_id
        except rexc.RedisError as exc:
            raise self._unavailable(exc) from None
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
