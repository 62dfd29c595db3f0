"""A worker: claims jobs from the queue and runs each through the composition root.

It holds a lease on every job it runs and renews it with each heartbeat; its janitor
takes over jobs whose worker stopped heartbeating and resumes them (their finished tasks
are in the store, so they are not run again); a job delivered more than
``max_deliveries`` times is failed with that cause. A cancel reaches it through the
cancel channel (at once) and the job's cancel flag (checked with every heartbeat). On
``stop()`` (SIGTERM) it claims no more, gives running jobs ``grace_s`` to finish, then
hands the rest back to the queue so another worker resumes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from orchestrator.app import Runtime
from orchestrator.errors import BreadthError, ConfigError, StoreUnavailable
from orchestrator.events import Event
from orchestrator.job import JobRecord, JobState
from orchestrator.store import keys
from orchestrator.store.cancels import CANCEL_REASON, CancelRequests
from orchestrator.store.queue import FINAL_STATES, JobQueue, QueueEntry
from orchestrator.store.redis_store import RedisStore
from orchestrator.store.workers import WorkerRegistry

log = logging.getLogger("breadth.worker")
T = TypeVar("T")

# How long to wait before trying Redis again after it failed.
RETRY_S = 0.5
# How often to cancel a job again whose cancellation got lost (see attempts.stop_if_cancelled).
RECANCEL_S = 5.0


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs: jobs at once, lease length, redelivery limit, shutdown grace."""

    concurrency: int = 4
    lease_s: float = 30.0
    max_deliveries: int = 5
    grace_s: float = 10.0
    claim_block_s: float = 1.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency {self.concurrency!r} must be at least 1")
        if self.lease_s < 1:
            raise ConfigError(f"--lease-s {self.lease_s!r} must be at least 1 second")
        if self.max_deliveries < 1:
            raise ConfigError(f"--max-deliveries {self.max_deliveries!r} must be at least 1")
        if self.grace_s < 0:
            raise ConfigError(f"--grace-s {self.grace_s!r} must not be negative")


@dataclass
class _Running:
    entry: QueueEntry
    task: asyncio.Task[None] | None = None
    # Handed back (worker stopping, or lease lost): stored as queued, not cancelled.
    released: bool = False
    # The job's run saw its cancellation (so it is not cancelled again).
    interrupted: bool = False


class Worker:
    """Runs queued jobs of the service whose base namespace is ``runtime.settings.namespace``."""

    def __init__(
        self, runtime: Runtime, options: WorkerOptions | None = None, *, name: str | None = None
    ) -> None:
        store = runtime.store
        if not isinstance(store, RedisStore):
            raise ConfigError("a worker needs a Redis store (a server, or the embedded one)")
        self.runtime = runtime
        self.options = options or WorkerOptions()
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.base = runtime.settings.namespace
        self.queue = JobQueue(store.client, self.base, url=store.url)
        self.cancels = CancelRequests(store.client, self.base, url=store.url)
        self.registry = WorkerRegistry(store.client, self.base, url=store.url)
        self.jobs_finished = 0
        self._runtimes: dict[str, Runtime] = {}
        self._running: dict[str, _Running] = {}
        self._stopping = asyncio.Event()
        self._freed = asyncio.Event()

    @property
    def running(self) -> int:
        return len(self._running)

    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period, then go back to the queue."""
        self._stopping.set()

    async def run(self) -> None:
        """Work until ``stop()``; returns once every job has finished or been handed back."""
        await self.queue.ensure_group()
        await self.registry.beat(self.name)
        log.info("worker %s: claiming jobs of namespace %r", self.name, self.base)
        claim = asyncio.create_task(self._claim_loop(), name="breadth-claim")
        background = [
            asyncio.create_task(self._heartbeat_loop(), name="breadth-heartbeat"),
            asyncio.create_task(self._janitor_loop(), name="breadth-janitor"),
            asyncio.create_task(self._cancel_loop(), name="breadth-cancels"),
        ]
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            self._freed.set()
            # The claim loop ends after its current read, so no claimed entry is dropped.
            with contextlib.suppress(asyncio.CancelledError, BreadthError):
                await asyncio.wait_for(asyncio.shield(claim), self.options.claim_block_s + 5)
            await self._drain()
            for task in (claim, *background):
                task.cancel()
            await asyncio.gather(claim, *background, return_exceptions=True)
            with contextlib.suppress(BreadthError):
                await self.registry.leave(self.name)
            log.info("worker %s stopped", self.name)

    # -- loops --------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        block_ms = int(self.options.claim_block_s * 1000)
        while not self._stopping.is_set():
            free = self.options.concurrency - len(self._running)
            if free <= 0:
                self._freed.clear()
                await self._freed.wait()
                continue
            entries = await self._retrying(
                lambda n=free: self.queue.claim(self.name, n, block_ms)  # type: ignore[misc]
            )
            for entry in entries or []:
                await self._start(entry)

    async def _heartbeat_loop(self) -> None:
        interval = self.options.lease_s / 3
        while True:
            await asyncio.sleep(interval)
            await self._retrying(self._heartbeat, once=True)

    async def _heartbeat(self) -> None:
        await self.registry.beat(self.name)
        running = dict(self._running)
        held = await self.queue.renew(self.name, list(running))
        for entry_id, job in running.items():
            if entry_id not in held and not job.released:
                log.warning("worker %s lost the lease on job %s", self.name, job.entry.job_id)
                job.released = True
                self._interrupt(job)
        by_namespace: dict[str, list[_Running]] = {}
        for job in running.values():
            by_namespace.setdefault(job.entry.namespace, []).append(job)
        for namespace, jobs in by_namespace.items():
            wanted = await self.cancels.requested(namespace, [j.entry.job_id for j in jobs])
            for job in jobs:
                if job.entry.job_id in wanted:
                    self._interrupt(job)

    async def _janitor_loop(self) -> None:
        lease_ms = int(self.options.lease_s * 1000)
        interval = max(0.2, self.options.lease_s / 2)
        while not self._stopping.is_set():
            free = self.options.concurrency - len(self._running)
            if free > 0:
                entries = await self._retrying(
                    lambda n=free: self.queue.reclaim(self.name, lease_ms, n),  # type: ignore[misc]
                    once=True,
                )
                for entry in entries or []:
                    if entry.entry_id in self._running:
                        continue  # its own job: the claim only renewed the lease
                    if entry.deliveries > self.options.max_deliveries:
                        await self._retrying(lambda e=entry: self._give_up(e), once=True)  # type: ignore[misc]
                    else:
                        log.info("worker %s reclaimed job %s", self.name, entry.job_id)
                        await self._start(entry)
            await asyncio.sleep(interval)

    async def _cancel_loop(self) -> None:
        while True:
            try:
                async for namespace, job_id in self.cancels.listen():
                    for job in list(self._running.values()):
                        if (job.entry.namespace, job.entry.job_id) == (namespace, job_id):
                            self._interrupt(job)
            except StoreUnavailable as exc:
                log.warning("worker %s: cancel channel lost (%s); resubscribing", self.name, exc)
            await asyncio.sleep(RETRY_S)

    # -- one job ------------------------------------------------------------------------

    async def _start(self, entry: QueueEntry) -> None:
        if self._stopping.is_set():
            await self._retrying(lambda: self.queue.release(entry), once=True)
            return
        job = _Running(entry)
        self._running[entry.entry_id] = job
        job.task = asyncio.create_task(self._run_job(job), name=f"breadth-job:{entry.job_id}")
        job.task.add_done_callback(lambda _: self._finished(entry.entry_id))

    def _finished(self, entry_id: str) -> None:
        self._running.pop(entry_id, None)
        self._freed.set()

    async def _run_job(self, job: _Running) -> None:
        entry = job.entry
        try:
            runtime = self._runtime_for(entry.namespace)
        except ConfigError:
            log.error("worker %s: queue entry %s names a bad namespace", self.name, entry)
            await self.queue.ack(entry)
            return
        store = runtime.store
        try:
            record = await store.get_job(entry.job_id)
            if record is None:
                await self.queue.ack(entry)  # deleted meanwhile
                return
            if record.state in FINAL_STATES:
                await self.queue.finish(entry, record)  # its worker stopped before the ack
                return
            if await self.cancels.requested(entry.namespace, [entry.job_id]):
                await self._end(runtime, entry, record, "cancelled", CANCEL_REASON)
                return
            started = await runtime.start(None, resume=entry.job_id)
            final = await runtime.run(started, released=lambda: job.released)
            self.jobs_finished += 1
            await self.queue.finish(entry, final)
        except asyncio.CancelledError:
            job.interrupted = True
            await asyncio.shield(self._after_interrupt(runtime, job))
        except StoreUnavailable as exc:
            # Left pending: when Redis answers again, this lease runs out and a worker
            # (maybe this one) resumes the job.
            log.error(
                "worker %s: job %s stopped, the store failed: %s", self.name, entry.job_id, exc
            )
        except BreadthError as exc:
            record = await store.get_job(entry.job_id)
            if record is not None and record.state not in FINAL_STATES:
                await self._end(runtime, entry, record, "failed", str(exc))

    async def _after_interrupt(self, runtime: Runtime, job: _Running) -> None:
        entry = job.entry
        if job.released:
            if self._stopping.is_set():
                await self.queue.release(entry)
                log.info("worker %s handed job %s back to the queue", self.name, entry.job_id)
            return
        record = await runtime.store.get_job(entry.job_id)
        if record is None:
            await self.queue.ack(entry)
        elif record.state in FINAL_STATES:
            await self.queue.finish(entry, record)
        else:  # cancelled before its run began
            await self._end(runtime, entry, record, "cancelled", CANCEL_REASON)

    async def _end(
        self, runtime: Runtime, entry: QueueEntry, record: JobRecord, state: JobState, error: str
    ) -> None:
        """Store a job that never ran (again) as ``state`` and take it off the queue."""
        record = record.model_copy(
            update={"state": state, "error": error, "updated_at": time.time()}
        )
        await runtime.store.put_job(record)
        if state == "cancelled":
            event = Event(type="job_cancelled", job_id=record.id)
        else:
            event = Event(type="job_failed", job_id=record.id, data={"error": error})
        await runtime.store.append_event(event)
        await self.queue.finish(entry, record)

    async def _give_up(self, entry: QueueEntry) -> None:
        runtime = self._runtime_for(entry.namespace)
        record = await runtime.store.get_job(entry.job_id)
        if record is None or record.state in FINAL_STATES:
            await self.queue.ack(entry)
            return
        cause = (
            f"job {entry.job_id!r} was delivered {entry.deliveries} times and each worker "
            f"running it stopped before it finished (crashed, was killed or lost its lease); "
            f"it is failed so it takes down no more workers (the limit is "
            f"--max-deliveries {self.options.max_deliveries}). Its finished tasks are kept: "
            f"check the workers' logs, then submit it again"
        )
        await self._end(runtime, entry, record, "failed", cause)

    def _interrupt(self, job: _Running) -> None:
        """Cancel a job's run, and again while the cancellation got lost (Python 3.11's
        ``asyncio.wait_for`` in redis-py can swallow one).
        """
        task = job.task
        if task is None or task.done():
            return

        async def cancel_until_stopped() -> None:
            while not task.done() and not job.interrupted:
                task.cancel()
                await asyncio.wait({task}, timeout=RECANCEL_S)

        asyncio.get_running_loop().create_task(cancel_until_stopped())

    async def _drain(self) -> None:
        """Give running jobs the grace period, then hand back the ones still running."""
        tasks = {job.task for job in self._running.values() if job.task is not None}
        if tasks and self.options.grace_s > 0:
            await asyncio.wait(tasks, timeout=self.options.grace_s)
        for job in list(self._running.values()):
            job.released = True
            self._interrupt(job)
        tasks = {job.task for job in self._running.values() if job.task is not None}
        if tasks:
            await asyncio.wait(tasks, timeout=RECANCEL_S * 2)

    # -- helpers ------------------------------------------------------------------------

    def _runtime_for(self, namespace: str) -> Runtime:
        if namespace != self.base and not namespace.startswith(f"{self.base}.t."):
            raise ConfigError(f"namespace {namespace!r} is not under {self.base!r}")
        keys.check_namespace(namespace)
        runtime = self._runtimes.get(namespace)
        if runtime is None:
            runtime = self.runtime if namespace == self.base else self.runtime.scoped(namespace)
            self._runtimes[namespace] = runtime
        return runtime

    async def _retrying(self, call: Callable[[], Awaitable[T]], *, once: bool = False) -> T | None:
        """``call()``; while the store is unavailable, log and try again (``once``: give up)."""
        while True:
            try:
                return await call()
            except StoreUnavailable as exc:
                log.warning("worker %s: %s", self.name, exc)
                if once or self._stopping.is_set():
                    return None
                await asyncio.sleep(RETRY_S)
