"""One task's attempts: run its handler on the executor with a timeout, retry what is transient.

The scheduler decides which task runs; this module runs it to a ``TaskResult``. Every
exception a handler raises ends up in that result (status "failed", the error's type and
message, the number of attempts), so a task failure never escapes as an exception.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from orchestrator.budget import Budgets
from orchestrator.executors.base import Executor
from orchestrator.plan import TaskResult, TaskSpec
from orchestrator.retry import backoff_delay, describe_error, is_transient
from orchestrator.tasks import TaskHandler, run_task

# Called before each retry with attempt=, error=, delay_s= (the scheduler emits task_retry).
RetryHook = Callable[..., Awaitable[None]]


async def run_attempts(
    spec: TaskSpec,
    deps: Mapping[str, TaskResult],
    *,
    executor: Executor,
    handler: TaskHandler,
    context: Any,
    budgets: Budgets,
    rng: random.Random,
    on_retry: RetryHook,
) -> TaskResult:
    """Run ``handler(spec, deps, ctx)`` on ``executor`` until it succeeds or may not try again.

    ``context`` is resolved to ``ctx`` where the task runs (``orchestrator.tasks.run_task``).

    Transient errors (``orchestrator.retry.is_transient``; a timeout is one) are retried
    up to the task's ``max_retries`` (else ``budgets.max_retries``) after a backoff with
    jitter from ``rng``; any other error fails the task at once.
    """
    retries = spec.max_retries if spec.max_retries is not None else budgets.max_retries
    timeout = spec.timeout_s if spec.timeout_s is not None else budgets.task_timeout_s
    started = time.time()
    attempt = 0
    while True:
        attempt += 1
        stop_if_cancelled()
        try:
            result = await _attempt(spec, deps, executor, handler, context, timeout, attempt)
        except Exception as exc:
            if attempt > retries or not is_transient(exc):
                return TaskResult(
                    task_id=spec.id,
                    status="failed",
                    error=describe_error(exc),
                    attempts=attempt,
                    started_at=started,
                )
            delay = backoff_delay(attempt, budgets.retry_backoff_s, rng)
            await on_retry(attempt=attempt, error=describe_error(exc), delay_s=round(delay, 3))
            if delay > 0:
                await asyncio.sleep(delay)
            continue
        update: dict[str, Any] = {"task_id": spec.id, "attempts": attempt, "started_at": started}
        if result.status not in ("done", "failed"):
            update["status"] = "failed"
            update["error"] = result.error or (
                f"the task handler returned status {result.status!r} for task {spec.id!r}; "
                f"a handler returns 'done' or 'failed'"
            )
        return result.model_copy(update=update)


async def _attempt(
    spec: TaskSpec,
    deps: Mapping[str, TaskResult],
    executor: Executor,
    handler: TaskHandler,
    context: Any,
    timeout: float | None,
    attempt: int,
) -> TaskResult:
    if timeout is None:
        result = await executor.submit(run_task, handler, spec, deps, context)
    else:
        try:
            async with asyncio.timeout(timeout) as scope:
                result = await executor.submit(run_task, handler, spec, deps, context)
        except TimeoutError:
            if not scope.expired():
                raise
            raise TimeoutError(
                f"task {spec.id!r} did not finish within its timeout of {timeout:g} s "
                f"(attempt {attempt}); raise the task's timeout_s or budgets.task_timeout_s"
            ) from None
    if not isinstance(result, TaskResult):
        raise TypeError(
            f"the task handler returned {type(result).__name__}, not a TaskResult, for "
            f"task {spec.id!r}; a handler must return orchestrator.plan.TaskResult"
        )
    return result


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` if this task was cancelled but the cancellation got lost.

    Python 3.11's ``asyncio.wait_for`` (which redis-py uses for socket timeouts) drops a
    cancellation that arrives just as its inner call finishes; a cancelled task must
    still stop instead of starting more work.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
