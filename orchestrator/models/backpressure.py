"""Model back-pressure: a replica that answers 429 gets fewer requests, later, not failures.

``AdaptiveLimit`` is the policy, pure arithmetic: a replica's concurrency limit grows by
one with each success up to a ceiling and halves on each 429 (AIMD, as TCP does), and a
429 pauses the replica for what its ``Retry-After`` asks (else an exponential backoff).
``ReplicaThrottle`` applies it around one replica's calls in a ``ModelPool``: a call waits
while the replica is paused or at its limit; a 429 costs the pool no attempt while the
throttle's wait budget lasts, so parallel researchers slow down instead of failing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from orchestrator.errors import BackendUnavailable
from orchestrator.models.protocol import Completion, GenerateRequest, Replica, StreamChunk

RATE_LIMITED = 429


@dataclass
class AdaptiveLimit:
    """A replica's concurrency limit and the pause after a 429 (pure, no clock of its own)."""

    ceiling: int = 64
    floor: int = 1
    base_backoff_s: float = 0.5
    max_pause_s: float = 60.0
    limit: float = 0.0
    # 429s in a row, for the backoff when the server names no Retry-After.
    strikes: int = 0

    def __post_init__(self) -> None:
        if self.limit <= 0:
            self.limit = float(self.ceiling)

    @property
    def allowed(self) -> int:
        """How many requests may be in flight at once now."""
        return max(self.floor, int(self.limit))

    def succeeded(self) -> None:
        self.strikes = 0
        self.limit = min(float(self.ceiling), self.limit + 1.0)

    def throttled(self, in_flight: int, retry_after: float | None) -> float:
        """Halve the limit (below what was in flight) and return the pause in seconds."""
        self.strikes += 1
        self.limit = max(float(self.floor), min(self.limit, float(max(in_flight, 1))) / 2)
        if retry_after is not None and retry_after >= 0:
            pause = retry_after
        else:
            pause = self.base_backoff_s * 2 ** (self.strikes - 1)
        return min(pause, self.max_pause_s)


class ReplicaThrottle:
    """Admits calls to one replica under its ``AdaptiveLimit`` and waits out its pauses."""

    def __init__(
        self,
        *,
        ceiling: int = 64,
        max_wait_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = AdaptiveLimit(ceiling=ceiling)
        self.max_wait_s = max_wait_s
        self.in_flight = 0
        self.throttled_total = 0
        self._clock = clock
        self._resume_at = 0.0
        # The first 429 of the current run of them, to bound how long calls keep waiting.
        self._throttled_since: float | None = None
        self._changed = asyncio.Condition()

    def attempt_cost(self, exc: BackendUnavailable) -> int:
        """What a failed call costs the pool's attempts: a 429 nothing while within budget."""
        if exc.status != RATE_LIMITED or self._throttled_since is None:
            return 1
        return 0 if self._clock() - self._throttled_since < self.max_wait_s else 1

    async def generate(self, replica: Replica, request: GenerateRequest) -> Completion:
        await self._acquire()
        try:
            completion = await replica.generate(request)
        except BackendUnavailable as exc:
            self._failed(exc)
            raise
        finally:
            await self._release()
        self._succeeded()
        return completion

    async def stream(
        self, replica: Replica, request: GenerateRequest
    ) -> AsyncIterator[StreamChunk]:
        await self._acquire()
        chunks = replica.stream(request)
        try:
            first = True
            async for chunk in chunks:
                if first:
                    self._succeeded()
                    first = False
                yield chunk
        except BackendUnavailable as exc:
            self._failed(exc)
            raise
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            await self._release()

    def _succeeded(self) -> None:
        self.policy.succeeded()
        self._throttled_since = None

    def _failed(self, exc: BackendUnavailable) -> None:
        if exc.status != RATE_LIMITED:
            return
        now = self._clock()
        self.throttled_total += 1
        if self._throttled_since is None:
            self._throttled_since = now
        pause = self.policy.throttled(self.in_flight, exc.retry_after)
        self._resume_at = max(self._resume_at, now + pause)

    async def _acquire(self) -> None:
        async with self._changed:
            while True:
                wait = self._resume_at - self._clock()
                if wait > 0:
                    try:
                        async with asyncio.timeout(wait):
                            await self._changed.wait()
                    except TimeoutError:
                        pass
                    continue
                if self.in_flight < self.policy.allowed:
                    self.in_flight += 1
                    return
                await self._changed.wait()

    async def _release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()
