"""The per-job ``CallLog``: every model and tool call recorded, reused or replayed.

Every call of a job is recorded in the store under its key and its occurrence in the
job (``model:…#0``, ``model:…#1`` for the second identical request), so ``breadth
replay`` can answer each call of a re-run from the recording, in whatever order the
calls complete: a call's occurrence number is taken when it is issued, and identical
requests are issued in the same order in every run of the same job (the job's work is
deterministic given the answers it gets). With ``cache`` a call's result is also shared
with later jobs (a sampled call without a seed only with ``cache_sampled``, and then
per occurrence, so a job that samples twice gets two draws). A replayed job makes no
call at all: a call missing from the recording is a ``ReplayMismatch`` naming it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from orchestrator.errors import ReplayMismatch
from orchestrator.store.base import Store


@dataclass(frozen=True)
class CallPolicy:
    """What a job does with its calls besides recording them (always)."""

    cache: bool = False
    cache_sampled: bool = False
    replay_of: str | None = None


@dataclass(frozen=True)
class Call:
    """One call about to be made: its keys, whether it may be reused, and how to name it."""

    key: str
    cache_key: str
    reusable: bool
    per_occurrence: bool
    description: str


@dataclass(frozen=True)
class Slot:
    """A call's place in the job: its recording key and its key in the shared cache."""

    call: Call
    recorded_key: str
    shared_key: str


class CallLog:
    """Records one job's calls in the store; serves them from the cache or a recording."""

    def __init__(self, store: Store, job_id: str, policy: CallPolicy | None = None) -> None:
        self.store = store
        self.job_id = job_id
        self.policy = policy or CallPolicy()
        self._issued: Counter[str] = Counter()
        self.hits = 0

    def occurrence(self, key: str) -> int:
        """This call's number among the job's calls with the same key (taken at issue time)."""
        number = self._issued[key]
        self._issued[key] += 1
        return number

    async def resolve(
        self,
        call: Call,
        produce: Callable[[], Awaitable[tuple[str, bool]]],
    ) -> str:
        """The call's result as recorded text: replayed, cached, or ``produce``d and recorded.

        ``produce`` makes the real call and returns the result's text and whether it may
        be cached (a tool's error is recorded for replay but never cached).
        """
        slot, found = await self.lookup(call)
        if found is not None:
            return found
        value, cacheable = await produce()
        await self.record(slot, value, cacheable=cacheable)
        return value

    async def lookup(self, call: Call) -> tuple[Slot, str | None]:
        """Take the call's occurrence number; its replayed or cached result, if there is one."""
        policy = self.policy
        number = self.occurrence(call.key)
        slot = Slot(
            call=call,
            recorded_key=f"{call.key}#{number}",
            shared_key=f"{call.cache_key}#{number}" if call.per_occurrence else call.cache_key,
        )
        if policy.replay_of is not None:
            value = await self.store.get_call(policy.replay_of, slot.recorded_key)
            if value is None:
                raise ReplayMismatch(
                    f"the replayed job {policy.replay_of!r} never made this call: "
                    f"{call.description} (key {slot.recorded_key}); the job's graph, question "
                    f"or code changed since it was recorded, so it cannot be replayed exactly"
                )
            await self.store.put_call(self.job_id, slot.recorded_key, value)
            return slot, value
        if policy.cache and call.reusable:
            hit = await self.store.get_cached(slot.shared_key)
            if hit is not None:
                self.hits += 1
                await self.store.put_call(self.job_id, slot.recorded_key, hit)
                return slot, hit
        return slot, None

    async def record(self, slot: Slot, value: str, *, cacheable: bool) -> None:
        """Record a call's result for replay (and share it when caching allows)."""
        if self.policy.cache and slot.call.reusable and cacheable:
            await self.store.put_cached(slot.shared_key, value)
        await self.store.put_call(self.job_id, slot.recorded_key, value)
