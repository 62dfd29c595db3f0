"""What a job's process does differently when its tasks run in other processes (Ray).

A remote executor (``remote = True``) runs tasks on contexts rebuilt from settings: their
events reach the job's stream in the store, not the in-process listeners, so the
listeners follow the stream instead (``tail_events``); the settings the tasks carry must
name the same store from any process (``shippable``); and each worker closes what it
rebuilt for a job once the job ends (``release_job``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from orchestrator.events import Event
from orchestrator.settings import Settings
from orchestrator.store.base import Store

EventListener = Callable[[Event], Awaitable[None] | None]

# How long one blocking read of the stream waits before checking whether the job ended.
TAIL_BLOCK_MS = 200


def is_remote(executor: Any) -> bool:
    """Whether ``executor`` runs tasks in other processes (their tokens counted there)."""
    return bool(getattr(executor, "remote", False))


def shippable(settings: Settings) -> Settings:
    """``settings`` that name the same embedded store from any process on this machine.

    The embedded store's folder defaults to ``$BREADTH_HOME``, which another process may
    not have: the folder is written into the settings. On a cluster, other machines
    cannot reach it at all: give the job a Redis server (``--redis-url``).
    """
    if settings.redis_url is not None or settings.data_dir is not None:
        return settings
    from orchestrator.store.embedded import default_data_dir

    return settings.model_copy(update={"data_dir": str(default_data_dir())})


async def release_job(executor: Any, job_id: str) -> None:
    """Tell a remote executor's workers that ``job_id`` ended (they close its context)."""
    release = getattr(executor, "release", None)
    if release is not None:
        await release(job_id)


async def _last_event_id(store: Store, job_id: str) -> str:
    last = "0"
    while batch := await store.read_events(job_id, after=last, count=1000):
        last = batch[-1][0]
    return last


async def _deliver(listeners: Sequence[EventListener], event: Event) -> None:
    for listener in listeners:
        outcome = listener(event)
        if outcome is not None:
            await outcome


@contextlib.asynccontextmanager
async def tail_events(
    store: Store, job_id: str, listeners: Sequence[EventListener]
) -> AsyncIterator[None]:
    """Hand every event appended to the job's stream while the block runs to ``listeners``.

    Events already in the stream (an earlier run of a resumed job) are skipped; on exit,
    the events appended so far are delivered before the block's result is returned.
    """
    after = await _last_event_id(store, job_id)
    done = asyncio.Event()

    async def follow() -> None:
        nonlocal after
        while True:
            finishing = done.is_set()
            batch = await store.read_events(
                job_id, after=after, block_ms=None if finishing else TAIL_BLOCK_MS
            )
            for stream_id, event in batch:
                after = stream_id
                await _deliver(listeners, event)
            if finishing and not batch:
                return

    follower = asyncio.create_task(follow(), name=f"tail-events:{job_id}")
    try:
        yield
    finally:
        done.set()
        try:
            await asyncio.shield(follower)
        except asyncio.CancelledError:
            follower.cancel()
            raise
