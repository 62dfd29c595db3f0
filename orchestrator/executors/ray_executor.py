"""The Ray executor: runs task functions on a pool of async Ray actors, across a cluster.

Each actor is one worker process with one event loop: every submission it gets runs as
an asyncio task there, so a job context rebuilt in that process (``JobRef.resolve``:
model pool, tools, store, all bound to that loop) is built once and reused by every
later task of the job. Actors are spread over the cluster's nodes and picked least
busy first.

- Results and exceptions come back unchanged (Ray's ``RayTaskError`` wrapper is removed).
- Cancelling the awaiting coroutine cancels the Ray work (``ray.cancel``, which cancels
  the actor's asyncio task) and waits until it has stopped.
- A worker that dies mid-task raises ``WorkerLost`` (transient, so the scheduler
  retries the task) and is replaced by a fresh actor.
- ``remote`` is True: what a task's model calls spend is counted in the worker's own
  budget, so the job's process adds each task result's usage to the job's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from orchestrator.errors import ConfigError, WorkerLost
from orchestrator.ray_cluster import cluster_resource, connect_ray, import_ray
from orchestrator.tasks import forget_rebuilt, rebuilt_job_ids

R = TypeVar("R")

# Concurrent submissions one actor runs (they are coroutines, mostly waiting on I/O).
DEFAULT_MAX_CONCURRENCY = 1000
# Default pool size: one worker per CPU of the cluster, at most this many (each is a
# process; being async, a few per node keep a node busy).
MAX_DEFAULT_WORKERS = 32


class TaskWorker:
    """The actor: runs submitted coroutine functions on its event loop (Ray async actor)."""

    async def run(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return await fn(*args)

    async def pid(self) -> int:
        return os.getpid()

    async def release(self, job_id: str | None = None) -> None:
        """Close the contexts rebuilt here for ``job_id`` (None: for every job)."""
        for rebuilt in [job_id] if job_id is not None else rebuilt_job_ids():
            ctx = forget_rebuilt(rebuilt)
            if ctx is not None:
                await close_context(ctx)


async def close_context(ctx: Any) -> None:
    """Close what a rebuilt context opened: its models and its store."""
    models = {id(m): m for m in getattr(ctx, "models", {}).values()}
    for model in models.values():
        with contextlib.suppress(Exception):
            await model.aclose()
    store = getattr(ctx, "store", None)
    if store is not None:
        with contextlib.suppress(Exception):
            await store.aclose()


class RayExecutor:
    """Runs each submission on one of ``workers`` async Ray actors (default: one per CPU of
    the cluster, at most ``MAX_DEFAULT_WORKERS``).

    ``address``: the Ray cluster to join (None: the one this process already joined, else
    a new local Ray). Needs the ``ray`` extra.
    """

    remote = True

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        name: str = "ray",
    ) -> None:
        self.name = name
        self._ray = import_ray()
        self._owns_ray = connect_ray(address)
        size = (
            workers
            if workers is not None
            else min(int(cluster_resource("CPU")), MAX_DEFAULT_WORKERS)
        )
        if size < 1:
            raise ConfigError(
                f"the Ray executor needs at least one worker, got {size!r}; the cluster has "
                f"{cluster_resource('CPU'):g} CPUs: add a node with CPUs or pass workers="
            )
        self._actor_class = self._ray.remote(TaskWorker).options(
            max_concurrency=max_concurrency, scheduling_strategy="SPREAD"
        )
        self._actors: list[Any] = [self._actor_class.remote() for _ in range(size)]
        self._load = [0] * size
        self._turn = itertools.count()
        # One future per running submission, done when it stops; valued by its task.
        self._running: dict[asyncio.Future[None], asyncio.Task[Any]] = {}
        self._closed = False

    @property
    def workers(self) -> int:
        return len(self._actors)

    async def worker_pids(self) -> list[int]:
        """The process id of each worker actor (they differ from this process's)."""
        return [int(pid) for pid in await asyncio.gather(*(a.pid.remote() for a in self._actors))]

    async def submit(self, fn: Callable[..., Awaitable[R]], /, *args: Any) -> R:
        if self._closed:
            raise RuntimeError(
                f"executor {self.name!r} is closed; submit work to a new RayExecutor"
            )
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError(
                f"executor {self.name!r}: submit() must be awaited inside an asyncio task"
            )
        index = self._pick()
        actor = self._actors[index]
        stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[stopped] = task
        self._load[index] += 1
        try:
            return await self._run_on(actor, index, fn, args)
        finally:
            self._load[index] -= 1
            del self._running[stopped]
            stopped.set_result(None)

    async def _run_on(
        self, actor: Any, index: int, fn: Callable[..., Awaitable[R]], args: tuple[Any, ...]
    ) -> R:
        exceptions = self._ray.exceptions
        try:
            ref = actor.run.remote(fn, *args)
        except TypeError as exc:
            raise TypeError(
                f"the Ray executor cannot ship {getattr(fn, '__qualname__', fn)!r} and its "
                f"arguments to a worker ({exc}); a task function must be module-level and its "
                f"arguments picklable"
            ) from None
        try:
            result: R = await ref
            return result
        except asyncio.CancelledError:
            self._ray.cancel(ref)
            # Wait until the work has stopped (its finally blocks ran) before going on.
            with contextlib.suppress(Exception):
                await ref
            raise
        except exceptions.TaskCancelledError:
            raise asyncio.CancelledError from None
        except exceptions.RayActorError as exc:
            self._replace(index, actor)
            raise WorkerLost(
                f"Ray worker {index} died while running "
                f"{getattr(fn, '__qualname__', fn)!r} ({_first_line(exc)}); a new worker "
                f"takes its place and the task is retried"
            ) from None
        except exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, exceptions.TaskCancelledError):
                raise asyncio.CancelledError from None
            if isinstance(cause, BaseException):
                raise cause from None
            raise

    def _pick(self) -> int:
        """The least busy worker; ties taken in turn."""
        lowest = min(self._load)
        tied = [i for i, load in enumerate(self._load) if load == lowest]
        return tied[next(self._turn) % len(tied)]

    def _replace(self, index: int, dead: Any) -> None:
        if self._actors[index] is dead and not self._closed:
            with contextlib.suppress(Exception):
                self._ray.kill(dead)
            self._actors[index] = self._actor_class.remote()

    async def release(self, job_id: str) -> None:
        """Let every worker close the context it rebuilt for ``job_id`` (the job has ended)."""
        await asyncio.gather(
            *(a.release.remote(job_id) for a in self._actors), return_exceptions=True
        )

    async def aclose(self) -> None:
        """Cancel every submission still running, wait until they stopped, stop the workers."""
        if self._closed:
            return
        self._closed = True
        running = dict(self._running)
        for task in set(running.values()):
            task.cancel()
        if running:
            await asyncio.wait(running)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(a.release.remote() for a in self._actors)), timeout=30
            )
        for actor in self._actors:
            with contextlib.suppress(Exception):
                self._ray.kill(actor)
        if self._owns_ray:
            self._ray.shutdown()


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
