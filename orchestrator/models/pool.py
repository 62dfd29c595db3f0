"""A pool of replicas that is itself a replica: routes, counts load and fails over.

Each request goes where the pool's ``router`` says (``routing.PrefixAware`` by default:
prefix affinity and load scored together, sibling branches kept on the replica holding
their shared prefix; ``RoundRobin`` and ``LeastLoaded`` for comparison).
A replica that fails with a retryable ``BackendUnavailable`` sits out ``cooldown_s``
while the request is retried on another; a stream is retried only if it failed
before its first chunk (after that the caller has seen output). A replica's 429 slows
it down instead (``backpressure.ReplicaThrottle``: a lower concurrency limit, a pause as
long as its Retry-After) and costs the request no attempt while the wait budget lasts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from orchestrator.errors import BackendUnavailable
from orchestrator.models.backpressure import ReplicaThrottle
from orchestrator.models.protocol import (
    Completion,
    GenerateRequest,
    Replica,
    ServedModel,
    StreamChunk,
    served_model,
)
from orchestrator.models.routing import (
    PrefixAware,
    Router,
    RouteRequest,
    prompt_blocks,
    prompt_text,
)


@dataclass
class ReplicaStats:
    """Load and outcome counters of one replica in a pool."""

    name: str
    outstanding: int = 0
    served: int = 0
    failures: int = 0
    affinity_hits: int = 0
    healthy: bool = True


class ModelPool:
    """A ``Replica`` over several replicas, with prefix-affinity routing and failover."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        *,
        name: str = "pool",
        max_attempts: int | None = None,
        cooldown_s: float = 5.0,
        slack: int = 2,
        retry_backoff_s: float = 0.25,
        affinity_capacity: int = 4096,
        clock: Callable[[], float] = time.monotonic,
        router: Router | None = None,
    ) -> None:
        if not replicas:
            raise ValueError("a ModelPool needs at least one replica")
        self.name = name
        self.replicas = list(replicas)
        # Every replica once, and at least one retry even for a pool of one.
        self.max_attempts = max_attempts or max(2, len(self.replicas))
        self.cooldown_s = cooldown_s
        self.slack = slack
        self.retry_backoff_s = retry_backoff_s
        self._clock = clock
        self.router = router or PrefixAware(
            len(self.replicas), slack=slack, affinity_capacity=affinity_capacity
        )
        self._stats = [ReplicaStats(name=r.name) for r in self.replicas]
        self._down_until = [0.0] * len(self.replicas)
        self._throttles = [ReplicaThrottle(clock=clock) for _ in self.replicas]

    def stats(self) -> list[ReplicaStats]:
        """A snapshot of each replica's counters, in replica order."""
        now = self._clock()
        return [
            ReplicaStats(
                name=s.name,
                outstanding=s.outstanding,
                served=s.served,
                failures=s.failures,
                affinity_hits=s.affinity_hits,
                healthy=now >= until,
            )
            for s, until in zip(self._stats, self._down_until, strict=True)
        ]

    # -- the replica protocol ----------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> Completion:
        errors: list[tuple[int, BackendUnavailable]] = []
        attempt = 0
        while attempt < self.max_attempts:
            index = await self._route(request, [i for i, _ in errors], attempt)
            stats = self._stats[index]
            stats.outstanding += 1
            try:
                completion = await self._throttles[index].generate(self.replicas[index], request)
            except BackendUnavailable as exc:
                self._failed(index, exc)
                if not exc.retryable:
                    raise
                errors.append((index, exc))
                attempt += self._throttles[index].attempt_cost(exc)
                continue
            finally:
                stats.outstanding -= 1
            stats.served += 1
            return completion
        raise self._exhausted(errors)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        errors: list[tuple[int, BackendUnavailable]] = []
        attempt = 0
        while attempt < self.max_attempts:
            index = await self._route(request, [i for i, _ in errors], attempt)
            stats = self._stats[index]
            stats.outstanding += 1
            chunks = self._throttles[index].stream(self.replicas[index], request)
            try:
                try:
                    first = await anext(chunks)
                except StopAsyncIteration:
                    stats.served += 1
                    return
                except BackendUnavailable as exc:
                    self._failed(index, exc)
                    if not exc.retryable:
                        raise
                    errors.append((index, exc))
                    attempt += self._throttles[index].attempt_cost(exc)
                    continue
                yield first
                try:
                    async for chunk in chunks:
                        yield chunk
                except BackendUnavailable as exc:
                    self._failed(index, exc)
                    raise
                stats.served += 1
                return
            finally:
                stats.outstanding -= 1
                await _close(chunks)
        raise self._exhausted(errors)

    async def describe(self, request: GenerateRequest) -> ServedModel:
        """The model the pool's replicas serve (one model behind every replica of a pool)."""
        return await served_model(self.replicas[0], request)

    async def aclose(self) -> None:
        await asyncio.gather(*(r.aclose() for r in self.replicas))

    # -- routing and health ------------------------------------------------------------

    async def _route(self, request: GenerateRequest, tried: list[int], attempt: int) -> int:
        """The replica for this attempt: healthy and untried first, then untried, then any."""
        now = self._clock()
        count = len(self.replicas)
        eligible = [now >= self._down_until[i] and i not in tried for i in range(count)]
        if not any(eligible):
            eligible = [i not in tried for i in range(count)]
        if not any(eligible):
            # Every replica failed this request once: back off before going round again.
            eligible = [True] * count
            await asyncio.sleep(min(self.cooldown_s, self.retry_backoff_s * attempt))
        text = prompt_text([(m.role, m.content) for m in request.messages])
        view = RouteRequest(request.prefix_key(), tuple(prompt_blocks(text)))
        route = self.router.choose(view, [s.outstanding for s in self._stats], eligible)
        if route.reason in ("sibling", "prefix"):
            self._stats[route.index].affinity_hits += 1
        self.router.observe(view, route.index)
        return route.index

    def _failed(self, index: int, exc: BackendUnavailable) -> None:
        self._stats[index].failures += 1
        if exc.retryable:
            self._down_until[index] = self._clock() + self.cooldown_s

    def _exhausted(self, errors: list[tuple[int, BackendUnavailable]]) -> BackendUnavailable:
        lines = "\n".join(f"  - {self.replicas[i].name}: {exc}" for i, exc in errors)
        return BackendUnavailable(
            f"model pool {self.name!r}: all {len(errors)} attempts failed on "
            f"{len({i for i, _ in errors})} of {len(self.replicas)} replicas:\n{lines}",
            retryable=True,
        )


async def _close(chunks: AsyncIterator[StreamChunk]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
