"""The durable job queue: a Redis stream read by one consumer group, with leases and reclaim.

A job is accepted in one atomic step (a Lua script): its record, its place in the jobs
index and the tenant's active set, a ``job_queued`` event and a queue entry are written
together, or nothing is (and an ``Idempotency-Key`` seen before returns the job it made).

A worker claims entries with ``XREADGROUP``; an entry it holds stays in the group's
pending list until it is acknowledged, and the time since the holder last renewed it
(``XCLAIM ... JUSTID`` resets it) is the lease. ``reclaim`` (the janitor, ``XAUTOCLAIM``)
takes over entries whose lease ran out: their worker stopped heartbeating. Redis counts
each delivery, so a job that keeps killing its workers can be failed instead of retried
for ever. Works on Redis >= 6.2 (``XAUTOCLAIM``), so on 7.0 and the embedded server.

Delivery is at least once; a job's finished tasks are stored under content keys, so a
redelivered job resumes without running them again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import redis.asyncio as aioredis
from redis import exceptions as rexc

from orchestrator.errors import StoreUnavailable
from orchestrator.events import Event
from orchestrator.job import JobRecord, JobState
from orchestrator.store import keys
from orchestrator.store.redis_store import describe_redis_error, text, translated

FINAL_STATES: tuple[JobState, ...] = ("done", "failed", "cancelled")
IDEMPOTENCY_TTL_S = 24 * 3600

# KEYS: record, jobs index, queue, active set, events stream, idempotency key.
# ARGV: job id, record JSON, created_at, namespace, event JSON, use idempotency (0/1),
#       idempotency value, its TTL, headers JSON, most active jobs (0: no limit).
_ENQUEUE = """
if ARGV[6] == '1' then
  local existing = redis.call('GET', KEYS[6])
  if existing then return 'dup ' .. existing end
end
local limit = tonumber(ARGV[10])
if limit > 0 then
  local active = redis.call('SCARD', KEYS[4])
  if active >= limit then return 'quota ' .. active end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'event', ARGV[5])
redis.call('XADD', KEYS[3], '*', 'job', ARGV[1], 'ns', ARGV[4], 'headers', ARGV[9])
if ARGV[6] == '1' then redis.call('SET', KEYS[6], ARGV[7], 'EX', ARGV[8]) end
return false
"""

# KEYS: queue. ARGV: group, consumer, entry ids. Renews the entries the consumer still
# holds (another worker may have reclaimed some) and returns their ids.
_RENEW = """
local held = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #entry > 0 and entry[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    held[#held + 1] = ARGV[i]
  end
end
return held
"""


@dataclass(frozen=True)
class QueueEntry:
    """One claimed job: where it is in the queue, which job, and how often it was delivered."""

    entry_id: str
    job_id: str
    namespace: str
    deliveries: int = 1
    # Propagation headers the service received with the job (e.g. W3C trace context).
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Enqueued:
    """What ``enqueue`` did: ``created`` a new job, or found the one an idempotency key made,
    or refused it over the tenant's quota (``active`` jobs already)."""

    outcome: Literal["created", "duplicate", "quota"]
    job_id: str = ""
    request_hash: str = ""
    active: int = 0


class JobQueue:
    """The queue of the service whose keys live under ``base`` (see ``orchestrator.store.keys``)."""

    def __init__(self, client: aioredis.Redis, base: str, *, url: str = "redis") -> None:
        self._client = client
        self.base = keys.check_namespace(base)
        self.url = url
        self.stream = keys.queue(base)
        self.group = keys.QUEUE_GROUP
        self._enqueue = client.register_script(_ENQUEUE)
        self._renew = client.register_script(_RENEW)

    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable:
        return describe_redis_error(exc, self.url)

    @translated
    async def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist yet."""
        try:
            await self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @translated
    async def enqueue(
        self,
        namespace: str,
        record: JobRecord,
        *,
        idempotency_key: str | None = None,
        request_hash: str = "",
        max_active: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Enqueued:
        """Store ``record`` (state queued) in ``namespace`` and queue it, atomically."""
        event = Event(type="job_queued", job_id=record.id, data={"graph": record.request.graph})
        idem_key = keys.idempotency(namespace, idempotency_key or "-")
        reply = await self._enqueue(
            keys=[
                keys.job(namespace, record.id),
                keys.jobs_index(namespace),
                self.stream,
                keys.active_jobs(namespace),
                keys.events(namespace, record.id),
                idem_key,
            ],
            args=[
                record.id,
                record.model_dump_json(),
                repr(record.created_at),
                namespace,
                event.model_dump_json(),
                "1" if idempotency_key else "0",
                f"{request_hash} {record.id}",
                IDEMPOTENCY_TTL_S,
                json.dumps(dict(headers or {})),
                max_active or 0,
            ],
        )
        if reply is None:
            return Enqueued("created", record.id, request_hash)
        kind, _, rest = text(reply).partition(" ")
        if kind == "quota":
            return Enqueued("quota", active=int(rest))
        stored_hash, _, job_id = rest.partition(" ")
        return Enqueued("duplicate", job_id, stored_hash)

    @translated
    async def claim(self, consumer: str, count: int, block_ms: int) -> list[QueueEntry]:
        """Up to ``count`` new entries for ``consumer``, waiting up to ``block_ms`` for one."""
        reply: Any = await self._client.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        entries: list[QueueEntry] = []
        for _stream, items in reply or []:
            for entry_id, fields in items:
                entries.append(_entry(text(entry_id), fields, deliveries=1))
        return entries

    @translated
    async def renew(self, consumer: str, entry_ids: list[str]) -> set[str]:
        """Renew ``consumer``'s leases on ``entry_ids``; returns those it still holds."""
        if not entry_ids:
            return set()
        held = await self._renew(keys=[self.stream], args=[self.group, consumer, *entry_ids])
        return {text(entry_id) for entry_id in held or []}

    @translated
    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[QueueEntry]:
        """Take over up to ``count`` entries whose lease ran out (idle >= ``min_idle_ms``)."""
        reply = await self._client.xautoclaim(
            self.stream, self.group, consumer, min_idle_ms, "0-0", count=count
        )
        claimed: list[tuple[Any, Any]] = list(reply[1]) if len(reply) > 1 else []
        entries = []
        for entry_id, fields in claimed:
            if not fields:
                continue  # deleted from the stream while pending
            ident = text(entry_id)
            pending = await self._client.xpending_range(
                self.stream, self.group, min=ident, max=ident, count=1
            )
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            entries.append(_entry(ident, fields, deliveries=deliveries))
        return entries

    @translated
    async def ack(self, entry: QueueEntry) -> None:
        """Remove a handled entry from the queue (acknowledged and deleted)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry.entry_id)
            pipe.xdel(self.stream, entry.entry_id)
            await pipe.execute()

    @translated
    async def finish(self, entry: QueueEntry, record: JobRecord) -> None:
        """Acknowledge a job that reached a final state, and count it in the service's stats."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry.entry_id)
            pipe.xdel(self.stream, entry.entry_id)
            pipe.srem(keys.active_jobs(entry.namespace), entry.job_id)
            stats = keys.stats(self.base)
            pipe.hincrby(stats, f"jobs_{record.state}", 1)
            pipe.hincrby(stats, "tasks_done", record.tasks_done)
            pipe.hincrby(stats, "tasks_failed", record.tasks_failed)
            pipe.hincrby(stats, "prompt_tokens", record.usage.prompt_tokens)
            pipe.hincrby(stats, "completion_tokens", record.usage.completion_tokens)
            await pipe.execute()

    @translated
    async def release(self, entry: QueueEntry) -> None:
        """Hand a job back at once (a worker stopping): a fresh entry any worker can claim."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry.entry_id)
            pipe.xdel(self.stream, entry.entry_id)
            pipe.xadd(
                self.stream,
                {"job": entry.job_id, "ns": entry.namespace, "headers": json.dumps(entry.headers)},
            )
            await pipe.execute()

    @translated
    async def prune_active(self, namespace: str) -> int:
        """Drop jobs no longer queued or running from ``namespace``'s active set; how many."""
        key = keys.active_jobs(namespace)
        members: list[Any] = list(await self._client.smembers(key))
        job_ids = [text(m) for m in members]
        if not job_ids:
            return 0
        raws = await self._client.mget([keys.job(namespace, job_id) for job_id in job_ids])
        gone = [
            job_id
            for job_id, raw in zip(job_ids, raws, strict=True)
            if raw is None or JobRecord.model_validate_json(raw).state in FINAL_STATES
        ]
        if gone:
            await self._client.srem(key, *gone)
        return len(gone)

    @translated
    async def forget_active(self, namespace: str, job_id: str) -> None:
        await self._client.srem(keys.active_jobs(namespace), job_id)

    @translated
    async def depth(self) -> tuple[int, int]:
        """(jobs waiting for a worker, jobs held by workers)."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.xpending(self.stream, self.group)
            length, pending = await pipe.execute()
        held = int(pending["pending"]) if isinstance(pending, dict) else 0
        return max(0, int(length) - held), held

    @translated
    async def stats(self) -> dict[str, int]:
        """The service's counters (jobs finished by state, tasks, tokens)."""
        raw = cast("dict[Any, Any]", await self._client.hgetall(keys.stats(self.base)))
        return {text(k): int(v) for k, v in raw.items()}


def _entry(entry_id: str, fields: Mapping[Any, Any], *, deliveries: int) -> QueueEntry:
    values = {text(k): text(v) for k, v in fields.items()}
    try:
        headers = json.loads(values.get("headers") or "{}")
    except ValueError:
        headers = {}
    return QueueEntry(
        entry_id=entry_id,
        job_id=values.get("job", ""),
        namespace=values.get("ns", ""),
        deliveries=deliveries,
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
    )
