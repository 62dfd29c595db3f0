"""Which workers are alive: each heartbeats its name into a sorted set, scored by time.

``/readyz`` and ``/metrics`` read it; the queue's leases, not this registry, decide
which worker may run a job.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as rexc

from orchestrator.errors import StoreUnavailable
from orchestrator.store import keys
from orchestrator.store.redis_store import describe_redis_error, text, translated


class WorkerRegistry:
    """The live workers of the service under ``base``."""

    def __init__(self, client: aioredis.Redis, base: str, *, url: str = "redis") -> None:
        self._client = client
        self.key = keys.workers(base)
        self.url = url

    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable:
        return describe_redis_error(exc, self.url)

    @translated
    async def beat(self, name: str) -> None:
        await self._client.zadd(self.key, {name: time.time()})

    @translated
    async def leave(self, name: str) -> None:
        await self._client.zrem(self.key, name)

    @translated
    async def alive(self, within_s: float) -> list[str]:
        """Workers that heartbeat in the last ``within_s`` seconds (and forget older ones)."""
        cutoff = time.time() - within_s
        # Workers gone for a long while drop out, so the set does not grow for ever.
        await self._client.zremrangebyscore(self.key, "-inf", cutoff - 24 * 3600)
        names: list[Any] = await self._client.zrangebyscore(self.key, cutoff, "+inf")
        return [text(name) for name in names]
