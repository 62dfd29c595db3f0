"""The task-DAG scheduler: runs each task the moment its dependencies are done.

No waves and no barriers: a finished task releases its dependents at once, and the ready
task with the longest remaining path starts first, within ``budgets.concurrency``. A
task's ``kind`` picks its handler (``handlers``, see ``orchestrator.tasks``); every task
runs through the ``Executor`` seam, with a timeout and retries for transient errors.
Results are written to the store under content keys before dependents start, so a
resumed job skips finished tasks. Budgets stop the job early with what it has (anytime):
no new task starts; running ones finish, or are cancelled at the deadline.

Decisions worth knowing:
- ``max_tasks`` is a runtime budget here, not a plan check: tasks past it are not
  started and end as "cancelled" (the plan node validates plan sizes itself). Tasks
  taken from the store on resume count too, so a resumed job stops where the first did.
- A finished task whose ``new_tasks`` are invalid (cycle, unknown id, ...) fails with
  the ``PlanError`` text: its plan was bad, so what depends on it cannot trust it.
  Valid new tasks are added to the DAG before the task's dependents are released.
- Tasks that never ran, or were cancelled while running (budget stop, ``fail_job``,
  the deadline), get a "cancelled" result in the outcome but nothing in the store, so a
  resumed job runs them; "skipped" results (a dependency failed) are not stored either.
- Handlers count their own tokens against the budget (their model calls go through the
  job's ``BudgetedReplica``); the scheduler only reads ``budget.exhausted()`` and never
  adds ``result.usage`` again, unless the executor is ``remote`` (Ray): then the
  handler counted in its worker's budget, and the job's budget gets ``result.usage``.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from orchestrator.attempts import run_attempts, stop_if_cancelled
from orchestrator.budget import BudgetTracker
from orchestrator.dag import build_dag
from orchestrator.dag_progress import DagProgress
from orchestrator.errors import PlanError, TaskFailed
from orchestrator.events import Event, EventSink, EventType
from orchestrator.executors.base import Executor
from orchestrator.plan import TaskPlan, TaskResult
from orchestrator.retry import describe_error
from orchestrator.store.base import Store
from orchestrator.tasks import TaskHandler

__all__ = ["ScheduleOutcome", "Scheduler", "TaskHandler"]

# Put on the reaper's queue when the job's deadline passes.
_DEADLINE = object()


@dataclass
class ScheduleOutcome:
    """What a run produced: a result per task (in DAG order), and why it stopped early."""

    results: dict[str, TaskResult]
    # The budget that stopped the job ("max_tasks", "max_tokens", "deadline_s"), if any.
    stopped_by: str | None
    # The final task DAG, with the tasks added while it ran.
    dag: nx.DiGraph
    # Each task's content key (where its result is stored).
    keys: dict[str, str] = field(default_factory=dict)


class Scheduler:
    """Runs task plans on an executor, within the budgets of ``budget``."""

    def __init__(
        self,
        *,
        executor: Executor,
        handlers: Mapping[str, TaskHandler],
        budget: BudgetTracker,
        job_id: str,
        context: Any = None,
        store: Store | None = None,
        events: EventSink | None = None,
        seed: int | None = None,
    ) -> None:
        """``handlers``: one per task kind (a plan with another kind is a ``PlanError``);
        ``context``: what each handler gets as ``ctx`` (a ``ContextSource`` is resolved
        where the task runs, see ``orchestrator.tasks``).
        """
        self.executor = executor
        self.handlers = dict(handlers)
        self.budget = budget
        self.job_id = job_id
        self.context = context
        self.store = store
        self.events = events
        self.known_kinds = sorted(self.handlers)
        self.rng = random.Random(seed)

    async def run(self, plan: TaskPlan) -> ScheduleOutcome:
        """Run every task of ``plan`` (and the tasks they add) until done or stopped.

        Raises ``PlanError`` if the plan is not a valid DAG, ``TaskFailed`` on the first
        failure when ``on_task_failure`` is ``fail_job`` (after the finished results are
        stored), and ``CancelledError`` when cancelled (after its tasks have stopped).
        """
        progress = DagProgress(build_dag(plan, known_kinds=self.known_kinds))
        return await _Run(self, progress).drive()

    async def emit(self, type: EventType, task_id: str | None = None, **data: Any) -> None:
        """Send one event of this job to the event sink, if there is one."""
        if self.events is not None:
            await self.events.emit(Event(type=type, job_id=self.job_id, task_id=task_id, data=data))


class _Run:
    """The state of one ``Scheduler.run``: workers, results, and why it stopped.

    Each task runs in a worker coroutine that, once its result is final and stored,
    settles it and starts the tasks it released itself: no hop through a central loop
    between a task finishing and its dependents starting. The driver only starts the
    first tasks, reaps finished workers (their errors and cancellations) and watches the
    deadline. Everything runs on one event loop, so the state needs no locks.
    """

    def __init__(self, scheduler: Scheduler, progress: DagProgress) -> None:
        self.s = scheduler
        self.budgets = scheduler.budget.budgets
        self.progress = progress
        self.results: dict[str, TaskResult] = {}
        # Live worker coroutines (until reaped), by task id; ``active`` counts those whose
        # task has not settled yet: they are what ``concurrency`` limits.
        self.workers: dict[asyncio.Task[None], str] = {}
        self.active = 0
        self.stopped_by: str | None = None
        self.failure: TaskFailed | None = None
        self.closing = False
        # Why a task that did not finish was cancelled, by task id.
        self.cancel_reasons: dict[str, str] = {}
        self._reaped: asyncio.Queue[object] = asyncio.Queue()

    async def drive(self) -> ScheduleOutcome:
        loop = asyncio.get_running_loop()
        remaining = self.s.budget.remaining_s()
        timer = (
            loop.call_later(max(remaining, 0.0), self._reaped.put_nowait, _DEADLINE)
            if remaining is not None
            else None
        )
        try:
            await self._advance()
            while self.workers:
                await self._reap(await self._reaped.get())
                while not self._reaped.empty():
                    await self._reap(self._reaped.get_nowait())
        finally:
            self.closing = True
            if timer is not None:
                timer.cancel()
            await self._cancel_workers()
        self._cancel_unstarted()
        if self.failure is not None:
            raise self.failure
        dag = self.progress.dag
        results = {node: self.results[node] for node in dag if node in self.results}
        return ScheduleOutcome(results, self.stopped_by, dag, self.progress.keys())

    async def _advance(self, worker: asyncio.Task[None] | None = None) -> str | None:
        """Start ready tasks, best first, while the budgets and ``concurrency`` allow.

        A worker that just settled its task passes itself: it takes the best ready task
        (returned) and runs it next, which saves starting a new worker for each task of
        a chain; the other ready tasks get new workers.
        """
        if self.closing or self.stopped_by is not None or self.failure is not None:
            return None
        budget, progress = self.s.budget, self.progress
        spent = budget.exhausted()
        if spent is not None:
            await self._stop(spent)
            return None
        own: str | None = None
        while progress.has_ready() and self.active < self.budgets.concurrency:
            if not budget.may_start_task():
                await self._stop("max_tasks")
                break
            budget.tasks_started += 1
            task_id = progress.pop_ready()
            self.active += 1
            if worker is not None and own is None:
                own = task_id
                self.workers[worker] = task_id
                continue
            new = asyncio.create_task(self._work(task_id), name="breadth-task")
            self.workers[new] = task_id
            new.add_done_callback(self._reaped.put_nowait)
        return own

    async def _work(self, task_id: str) -> None:
        """Run tasks to their stored results, one after another: settle each, start what
        it released, and go on with the best ready task.
        """
        worker = asyncio.current_task()
        assert worker is not None
        next_task: str | None = task_id
        while next_task is not None:
            result = await self._produce(next_task)
            stop_if_cancelled()
            self.active -= 1
            self.results[next_task] = result
            if result.status == "done":
                self.progress.finish(next_task)
            else:
                await self._fail(next_task, result.error or "failed")
            next_task = await self._advance(worker)

    async def _reap(self, item: object) -> None:
        if item is _DEADLINE:
            if self.s.budget.exhausted() == "deadline_s":
                await self._stop("deadline_s")
            return
        assert isinstance(item, asyncio.Task)
        task_id = self.workers.pop(item)
        if item.cancelled():
            if task_id not in self.results:
                self.active -= 1
                reason = self.cancel_reasons.get(task_id, "cancelled while it ran")
                self.results[task_id] = _cancelled(task_id, reason)
            return
        error = item.exception()
        if error is not None:
            # Not a task failure (those are results) but the store or the event sink
            # failing: the job cannot go on.
            raise error

    async def _stop(self, budget_name: str) -> None:
        """Stop starting tasks; at the deadline, cancel the running ones too."""
        if self.stopped_by is not None:
            return
        self.stopped_by = budget_name
        if budget_name == "deadline_s":
            self._cancel_unsettled(f"cancelled: budget {budget_name!r} reached while it ran")
        budget = self.s.budget
        await self.s.emit(
            "budget_reached",
            budget=budget_name,
            tasks_started=budget.tasks_started,
            total_tokens=budget.usage.total_tokens,
            elapsed_s=round(budget.elapsed(), 3),
        )

    def _cancel_unsettled(self, reason: str) -> None:
        """Cancel the workers whose task has no result yet."""
        for worker, task_id in self.workers.items():
            if task_id not in self.results:
                self.cancel_reasons.setdefault(task_id, reason)
                worker.cancel()

    async def _fail(self, task_id: str, cause: str) -> None:
        if self.budgets.on_task_failure == "fail_job":
            if self.failure is None:
                self.failure = TaskFailed(task_id, cause)
                self._cancel_unsettled(f"cancelled: task {task_id!r} failed and the job stopped")
            return
        why = f"skipped: depends on task {task_id!r}, which failed: {cause}"
        await self._skip(self.progress.give_up(task_id), why)

    async def _skip(self, task_ids: list[str], why: str) -> None:
        # Every result first: the events may be cut short by a cancellation.
        for skipped in task_ids:
            self.results[skipped] = TaskResult(
                task_id=skipped, status="skipped", error=why, attempts=0
            )
        for skipped in task_ids:
            await self.s.emit("task_skipped", task_id=skipped, cause=why)

    async def _cancel_workers(self) -> None:
        """Cancel every live worker (an error, or a cancelled run) and wait until they stop."""
        while self.workers:
            workers = list(self.workers)
            for worker in workers:
                worker.cancel()
            await asyncio.wait(workers)
            for worker in workers:
                task_id = self.workers.pop(worker)
                if task_id not in self.results:
                    self.results[task_id] = _cancelled(task_id, "cancelled while it ran")

    def _cancel_unstarted(self) -> None:
        """Give every task that never started a "cancelled" result that says why."""
        if self.failure is not None:
            reason = f"not started: task {self.failure.task_id!r} failed and the job stopped"
        elif self.stopped_by is not None:
            reason = f"not started: budget {self.stopped_by!r} reached"
        else:
            reason = "not started: a task it depends on was cancelled"
        if len(self.results) < len(self.progress.dag):
            for task_id in self.progress.unsettled():
                self.results[task_id] = _cancelled(task_id, reason)

    async def _produce(self, task_id: str) -> TaskResult:
        """Run one task (or take its stored result), apply its new tasks, store the result."""
        s = self.s
        spec = self.progress.spec(task_id)
        key = self.progress.key(task_id)
        resumed = None
        if s.store is not None:
            resumed = await s.store.get_result(s.job_id, key)
            stop_if_cancelled()
            if resumed is not None and resumed.status != "done":
                resumed = None
        if resumed is None:
            await s.emit("task_started", task_id=task_id, kind=spec.kind)
            deps = {dep: self.results[dep] for dep in spec.depends_on}
            result = await run_attempts(
                spec,
                deps,
                executor=s.executor,
                handler=s.handlers[spec.kind],
                context=s.context,
                budgets=self.budgets,
                rng=s.rng,
                on_retry=functools.partial(s.emit, "task_retry", spec.id),
            )
            if getattr(s.executor, "remote", False):
                # Counted in the worker's own budget there; the job's budget counts it here,
                # and the progress view hears the job's new total (no tokens spent anew).
                s.budget.record(result.usage)
                await s.emit(
                    "tokens",
                    spec.id,
                    prompt_tokens=0,
                    completion_tokens=0,
                    total_tokens=s.budget.usage.total_tokens,
                )
        else:
            result = resumed
        if result.status == "done" and result.new_tasks:
            result = await self._replan(task_id, result)
        if s.store is not None and result is not resumed:
            await s.store.put_result(s.job_id, key, result)
        if result.status == "done":
            await s.emit(
                "task_finished",
                task_id=task_id,
                attempts=result.attempts,
                resumed=resumed is not None,
                total_tokens=result.usage.total_tokens,
            )
        else:
            await s.emit(
                "task_failed", task_id=task_id, error=result.error, attempts=result.attempts
            )
        return result

    async def _replan(self, task_id: str, result: TaskResult) -> TaskResult:
        """Add the tasks ``result`` asks for; invalid ones make the task fail instead."""
        try:
            added, blocked = self.progress.add(result.new_tasks, known_kinds=self.s.known_kinds)
        except PlanError as exc:
            return result.model_copy(update={"status": "failed", "error": describe_error(exc)})
        await self.s.emit("tasks_added", task_id=task_id, task_ids=added)
        for node in blocked:
            await self._skip([node], self._blocked_cause(node))
        return result

    def _blocked_cause(self, task_id: str) -> str:
        """Why a new task can never start: the first dependency that failed or was skipped."""
        for dep in self.progress.spec(task_id).depends_on:
            cause = self.results.get(dep)
            if cause is not None and cause.status == "skipped" and cause.error:
                return cause.error
            if cause is not None and cause.status != "done":
                return f"skipped: depends on task {dep!r}, which {cause.status}: {cause.error}"
        return "skipped: a task it depends on failed"


def _cancelled(task_id: str, reason: str) -> TaskResult:
    return TaskResult(task_id=task_id, status="cancelled", error=reason, attempts=0)
