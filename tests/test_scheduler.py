"""The task-DAG scheduler: dispatch as ready, priorities, limits, retries, failures, budgets,
replanning and resume. Handlers are plain async functions synchronised with asyncio events,
so every ordering claim is proven by the events, never by timing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest
import redis.asyncio as aioredis

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.errors import BackendUnavailable, PlanError, TaskFailed
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec, task_key
from orchestrator.scheduler import ScheduleOutcome, Scheduler
from orchestrator.store.redis_store import RedisStore
from orchestrator.tasks import TaskHandler
from orchestrator.usage import TokenUsage
from tests.support import within

JOB = "job-sched"
# What the scheduler hands every handler as its context (checked by the handlers).
CONTEXT = object()
Deps = Mapping[str, TaskResult]


class EventLog:
    """An event sink that keeps every event and can wake a test when one arrives."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._waiters: dict[tuple[str, str | None], asyncio.Event] = {}

    async def emit(self, event: Event) -> None:
        self.events.append(event)
        for key in ((event.type, event.task_id), (event.type, None)):
            if key in self._waiters:
                self._waiters[key].set()

    def seen(self, type: str, task_id: str | None = None) -> asyncio.Event:
        return self._waiters.setdefault((type, task_id), asyncio.Event())

    def of(self, type: str) -> list[Event]:
        return [e for e in self.events if e.type == type]


def spec(task_id: str, *deps: str, **extra: Any) -> TaskSpec:
    return TaskSpec(id=task_id, depends_on=deps, **extra)


def plan(*tasks: TaskSpec) -> TaskPlan:
    return TaskPlan(tasks=list(tasks))


def done(task: TaskSpec, text: str = "") -> TaskResult:
    return TaskResult(task_id=task.id, status="done", text=text or f"result of {task.id}")


async def echo(task: TaskSpec, deps: Deps) -> TaskResult:
    return done(task, "+".join([task.id, *sorted(deps)]))


Handler = Callable[[TaskSpec, Deps], Awaitable[TaskResult]]


def scheduler(
    handler: Handler,
    *,
    store: RedisStore | None = None,
    events: EventLog | None = None,
    known_kinds: tuple[str, ...] = ("research",),
    **budgets: Any,
) -> tuple[Scheduler, BudgetTracker]:
    """A scheduler whose every known kind runs ``handler`` (these handlers need no context)."""

    async def with_context(task: TaskSpec, deps: Deps, ctx: Any) -> TaskResult:
        assert ctx is CONTEXT
        return await handler(task, deps)

    handlers: dict[str, TaskHandler] = {kind: with_context for kind in known_kinds}
    budget = BudgetTracker(Budgets(retry_backoff_s=0, **budgets))
    sched = Scheduler(
        executor=LocalExecutor(),
        handlers=handlers,
        context=CONTEXT,
        budget=budget,
        job_id=JOB,
        store=store,
        events=events,
        seed=7,
    )
    return sched, budget


async def run(sched: Scheduler, task_plan: TaskPlan) -> ScheduleOutcome:
    """Run with a guard, so that a scheduler that deadlocks (or a handler that waits for a
    task that never starts) fails with a message instead of hanging.
    """
    return await within(sched.run(task_plan), "the scheduler's run to finish")


@pytest.fixture
async def store(redis_client: aioredis.Redis, namespace: str) -> AsyncIterator[RedisStore]:
    yield RedisStore(redis_client, namespace)


def statuses(outcome: ScheduleOutcome) -> dict[str, str]:
    return {task_id: result.status for task_id, result in outcome.results.items()}


async def test_runs_every_task_with_its_dependencies_results() -> None:
    sched, budget = scheduler(echo)
    outcome = await run(sched, plan(spec("a"), spec("b"), spec("c", "a", "b"), spec("d", "c")))
    assert statuses(outcome) == {"a": "done", "b": "done", "c": "done", "d": "done"}
    assert outcome.results["c"].text == "c+a+b"
    assert outcome.results["d"].text == "d+c"
    assert outcome.stopped_by is None
    assert budget.tasks_started == 4
    assert set(outcome.dag.edges) == {("a", "c"), ("b", "c"), ("c", "d")}
    a_key = task_key(spec("a"), {})
    assert outcome.keys["a"] == a_key


async def test_dependent_starts_as_soon_as_its_dependencies_finish() -> None:
    # "slow" only finishes once "after_fast" has started: a scheduler that waits for a
    # whole wave (fast and slow) before starting the next would deadlock here.
    after_fast_started = asyncio.Event()
    log: list[str] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        log.append(f"start {task.id}")
        if task.id == "after_fast":
            after_fast_started.set()
        if task.id == "slow":
            await after_fast_started.wait()
        log.append(f"end {task.id}")
        return done(task)

    sched, _ = scheduler(handler, concurrency=4)
    outcome = await run(sched, plan(spec("fast"), spec("slow"), spec("after_fast", "fast")))
    assert set(statuses(outcome).values()) == {"done"}
    assert log.index("start after_fast") < log.index("end slow")


async def test_longest_remaining_path_starts_first() -> None:
    order: list[str] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        order.append(task.id)
        return done(task)

    sched, _ = scheduler(handler, concurrency=1)
    tasks = plan(
        spec("a_short"),
        spec("b_head", estimate=1.0),
        spec("c_tail", "b_head", estimate=5.0),
        spec("d_mid", estimate=2.0),
        spec("e_tie"),
    )
    await run(sched, tasks)
    # b_head leads the longest path (6); then c_tail (5) beats d_mid (2); ties by id.
    assert order == ["b_head", "c_tail", "d_mid", "a_short", "e_tie"]


async def test_concurrency_limit_is_reached_and_never_exceeded() -> None:
    # Every task stays in its handler until all the slots are taken, and the tasks are let
    # go one at a time, oldest first: so at every release all `limit` slots are busy, and a
    # scheduler that allowed one task more (or ignored the limit) would start it while the
    # others are held, which the peak shows. (Tasks arriving after the last release of the
    # run are let go as the run drains.)
    limit, total = 3, 20
    running = peak = finished = 0
    held: deque[asyncio.Event] = deque()

    def release_if_full() -> None:
        if held and running >= min(limit, total - finished):
            held.popleft().set()

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        nonlocal running, peak, finished
        running += 1
        peak = max(peak, running)
        gate = asyncio.Event()
        held.append(gate)
        release_if_full()
        await gate.wait()
        running -= 1
        finished += 1
        release_if_full()
        return done(task)

    sched, _ = scheduler(handler, concurrency=limit)
    outcome = await run(sched, plan(*(spec(f"t{i:02d}") for i in range(total))))
    assert set(statuses(outcome).values()) == {"done"}
    assert len(outcome.results) == total
    assert peak == limit, f"{peak} tasks ran at once; the limit is {limit}"


async def test_transient_errors_are_retried_until_success() -> None:
    calls = 0

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise BackendUnavailable("replica overloaded", status=503)
        return done(task)

    events = EventLog()
    sched, _ = scheduler(handler, events=events, max_retries=2)
    outcome = await run(sched, plan(spec("a")))
    result = outcome.results["a"]
    assert (result.status, result.attempts, calls) == ("done", 3, 3)
    retries = events.of("task_retry")
    assert [e.data["attempt"] for e in retries] == [1, 2]
    assert "BackendUnavailable: replica overloaded" in retries[0].data["error"]


async def test_transient_errors_fail_the_task_once_retries_are_spent() -> None:
    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        raise ConnectionError("connection reset")

    sched, _ = scheduler(handler, max_retries=5)
    outcome = await run(sched, plan(spec("a", max_retries=1)))
    result = outcome.results["a"]
    assert (result.status, result.attempts) == ("failed", 2)
    assert result.error == "ConnectionError: connection reset"


async def test_permanent_errors_are_not_retried() -> None:
    calls = 0

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        nonlocal calls
        calls += 1
        raise ValueError("bad tool arguments")

    events = EventLog()
    sched, _ = scheduler(handler, events=events, max_retries=3)
    outcome = await run(sched, plan(spec("a")))
    result = outcome.results["a"]
    assert (result.status, result.attempts, calls) == ("failed", 1, 1)
    assert result.error == "ValueError: bad tool arguments"
    assert events.of("task_retry") == []
    assert [e.data["error"] for e in events.of("task_failed")] == [result.error]


async def test_a_task_that_runs_past_its_timeout_is_cancelled_and_retried() -> None:
    never = asyncio.Event()
    cancelled = 0

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        nonlocal cancelled
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return done(task)

    sched, _ = scheduler(handler)
    outcome = await run(sched, plan(spec("a", timeout_s=0.02, max_retries=1)))
    result = outcome.results["a"]
    assert (result.status, result.attempts, cancelled) == ("failed", 2, 2)
    assert result.error is not None
    assert result.error.startswith("TimeoutError: task 'a' did not finish within its timeout")


async def test_failure_skips_every_descendant_and_keeps_the_cause() -> None:
    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "a":
            raise ValueError("no sources found")
        return done(task)

    events = EventLog()
    sched, _ = scheduler(handler, events=events)
    outcome = await run(
        sched, plan(spec("a"), spec("b", "a"), spec("c", "b"), spec("d"), spec("e", "d"))
    )
    assert statuses(outcome) == {
        "a": "failed",
        "b": "skipped",
        "c": "skipped",
        "d": "done",
        "e": "done",
    }
    for skipped in ("b", "c"):
        error = outcome.results[skipped].error
        assert error is not None
        assert "'a'" in error and "ValueError: no sources found" in error
    assert sorted(e.task_id or "" for e in events.of("task_skipped")) == ["b", "c"]


@pytest.mark.redis
async def test_fail_job_raises_after_storing_and_cancels_the_rest(store: RedisStore) -> None:
    slow_started = asyncio.Event()
    slow_cancelled = asyncio.Event()

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "slow":
            slow_started.set()
            try:
                await asyncio.Event().wait()
            finally:
                slow_cancelled.set()
        if task.id == "bad":
            # Fail only once "slow" runs, so that the failure has a running task to cancel.
            await slow_started.wait()
            raise ValueError("broken")
        return done(task)

    sched, _ = scheduler(handler, store=store, on_task_failure="fail_job", concurrency=4)
    tasks = plan(spec("first"), spec("bad", "first"), spec("slow"), spec("after", "bad"))
    with pytest.raises(TaskFailed) as info:
        await run(sched, tasks)
    assert info.value.task_id == "bad"
    assert info.value.cause == "ValueError: broken"
    assert slow_cancelled.is_set()
    stored = await store.list_results(JOB)
    first_key = task_key(spec("first"), {})
    bad_key = task_key(spec("bad", "first"), {"first": first_key})
    assert {key: r.status for key, r in stored.items()} == {first_key: "done", bad_key: "failed"}


@pytest.mark.redis
async def test_results_are_stored_before_dependents_start(store: RedisStore) -> None:
    a_key = task_key(spec("a"), {})
    seen_by_b: list[TaskResult | None] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "b":
            seen_by_b.append(await store.get_result(JOB, a_key))
        return done(task)

    sched, _ = scheduler(handler, store=store)
    await run(sched, plan(spec("a"), spec("b", "a")))
    assert [r.status if r else None for r in seen_by_b] == ["done"]


async def test_max_tasks_stops_starting_tasks() -> None:
    events = EventLog()
    sched, budget = scheduler(echo, events=events, concurrency=1, max_tasks=3)
    outcome = await run(sched, plan(*(spec(f"t{i}") for i in range(6))))
    assert outcome.stopped_by == "max_tasks"
    assert statuses(outcome) == {
        "t0": "done",
        "t1": "done",
        "t2": "done",
        "t3": "cancelled",
        "t4": "cancelled",
        "t5": "cancelled",
    }
    assert outcome.results["t3"].error == "not started: budget 'max_tasks' reached"
    assert budget.tasks_started == 3
    assert [e.data["budget"] for e in events.of("budget_reached")] == ["max_tasks"]


async def test_max_tokens_stops_new_tasks_and_lets_running_ones_finish() -> None:
    events = EventLog()
    budget_reached = events.seen("budget_reached")
    tracker: list[BudgetTracker] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "spender":
            # The handler counts its own tokens (as the job's budgeted replica does).
            tracker[0].record(TokenUsage(prompt_tokens=60, completion_tokens=60))
        if task.id == "still_running":
            await budget_reached.wait()
        return done(task)

    sched, budget = scheduler(handler, events=events, concurrency=2, max_tokens=100)
    tracker.append(budget)
    outcome = await run(
        sched,
        plan(
            spec("spender"),
            spec("still_running", estimate=1.5),
            spec("later"),
            spec("child", "spender"),
        ),
    )
    # Priorities: spender (2, through child), still_running (1.5), later (1): the first two
    # run; spender spends the token budget, so later never starts.
    assert outcome.stopped_by == "max_tokens"
    assert statuses(outcome) == {
        "spender": "done",
        "still_running": "done",
        "later": "cancelled",
        "child": "cancelled",
    }
    assert budget.usage.total_tokens == 120


async def test_deadline_cancels_running_tasks() -> None:
    never = asyncio.Event()
    cancelled: list[str] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "quick":
            return done(task)
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(task.id)
            raise
        return done(task)

    events = EventLog()
    sched, _ = scheduler(handler, events=events, deadline_s=0.2)
    outcome = await run(sched, plan(spec("quick"), spec("stuck"), spec("next", "stuck")))
    assert outcome.stopped_by == "deadline_s"
    assert statuses(outcome) == {"quick": "done", "stuck": "cancelled", "next": "cancelled"}
    assert cancelled == ["stuck"]
    assert [e.data["budget"] for e in events.of("budget_reached")] == ["deadline_s"]


async def test_replanning_adds_tasks_that_run_after_their_dependencies() -> None:
    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        result = done(task, "+".join([task.id, *sorted(deps)]))
        if task.id == "lead":
            result.new_tasks = [spec("extra", "lead"), spec("extra2", "extra", "other")]
        return result

    events = EventLog()
    sched, _ = scheduler(handler, events=events)
    outcome = await run(sched, plan(spec("lead"), spec("other")))
    assert statuses(outcome) == {"lead": "done", "other": "done", "extra": "done", "extra2": "done"}
    assert outcome.results["extra2"].text == "extra2+extra+other"
    assert ("extra", "extra2") in outcome.dag.edges
    assert set(outcome.keys) == {"lead", "other", "extra", "extra2"}
    [added] = events.of("tasks_added")
    assert (added.task_id, added.data["task_ids"]) == ("lead", ["extra", "extra2"])


async def test_invalid_new_tasks_fail_the_task_that_proposed_them() -> None:
    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        result = done(task)
        if task.id == "lead":
            result.new_tasks = [spec("extra", "nowhere")]
        return result

    sched, _ = scheduler(handler)
    outcome = await run(sched, plan(spec("lead"), spec("after", "lead")))
    assert statuses(outcome) == {"lead": "failed", "after": "skipped"}
    error = outcome.results["lead"].error
    assert error is not None and error.startswith("PlanError:") and "'nowhere'" in error
    assert "extra" not in outcome.dag


async def test_new_tasks_that_depend_on_a_failed_task_are_skipped() -> None:
    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        if task.id == "broken":
            raise ValueError("boom")
        result = done(task)
        if task.id == "lead":
            result.new_tasks = [spec("extra", "broken")]
        return result

    sched, _ = scheduler(handler, concurrency=1)
    # "broken" runs first (ties break by id), so it has failed when "lead" adds "extra".
    outcome = await run(sched, plan(spec("broken"), spec("lead")))
    assert statuses(outcome) == {"broken": "failed", "lead": "done", "extra": "skipped"}
    error = outcome.results["extra"].error
    assert error is not None and "'broken'" in error and "ValueError: boom" in error


async def test_invalid_plans_and_unknown_kinds_raise_plan_error() -> None:
    sched, _ = scheduler(echo, known_kinds=("research",))
    with pytest.raises(PlanError, match="a → b → a"):
        await run(sched, plan(spec("a", "b"), spec("b", "a")))
    with pytest.raises(PlanError, match="unknown kind 'dance'"):
        await run(sched, plan(spec("a", kind="dance")))


@pytest.mark.redis
async def test_resume_reuses_stored_results(store: RedisStore) -> None:
    first_calls: list[str] = []

    async def flaky(task: TaskSpec, deps: Deps) -> TaskResult:
        first_calls.append(task.id)
        if task.id == "c":
            raise ValueError("lost")
        return done(task)

    tasks = plan(spec("a"), spec("b", "a"), spec("c", "a"), spec("d", "b", "c"))
    sched, _ = scheduler(flaky, store=store)
    first = await run(sched, tasks)
    assert statuses(first) == {"a": "done", "b": "done", "c": "failed", "d": "skipped"}

    second_calls: list[str] = []

    async def counting(task: TaskSpec, deps: Deps) -> TaskResult:
        second_calls.append(task.id)
        return done(task, f"second {task.id}")

    events = EventLog()
    sched, _ = scheduler(counting, store=store, events=events)
    second = await run(sched, tasks)
    assert sorted(first_calls) == ["a", "b", "c"]
    assert sorted(second_calls) == ["c", "d"]
    assert set(statuses(second).values()) == {"done"}
    assert second.results["a"].text == "result of a"
    resumed = {e.task_id for e in events.of("task_finished") if e.data["resumed"]}
    assert resumed == {"a", "b"}
    assert second.keys == first.keys


async def test_cancelling_the_run_cancels_its_tasks_and_leaves_none_behind() -> None:
    events = EventLog()
    both_started = asyncio.Event()
    started = 0
    stopped: list[str] = []

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(task.id)
        return done(task)

    sched, _ = scheduler(handler, events=events)
    before = asyncio.all_tasks()
    job = asyncio.create_task(sched.run(plan(spec("a"), spec("b"), spec("c", "a"))))
    await within(both_started.wait(), "both tasks to start")
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(job, "the cancelled run to stop")
    assert sorted(stopped) == ["a", "b"]
    assert asyncio.all_tasks() == before


async def test_store_failure_ends_the_run_with_the_store_error() -> None:
    class BrokenStore:
        namespace = "broken"

        async def get_result(self, job_id: str, key: str) -> TaskResult | None:
            return None

        async def put_result(self, job_id: str, key: str, result: TaskResult) -> None:
            raise OSError("disk full")

    sched, _ = scheduler(echo)
    sched.store = BrokenStore()  # type: ignore[assignment]
    with pytest.raises(OSError, match="disk full"):
        await run(sched, plan(spec("a"), spec("b")))


async def test_a_worker_stops_even_when_a_library_swallows_its_cancellation() -> None:
    # Python 3.11's asyncio.wait_for (inside redis-py) can drop a cancellation; the
    # scheduler must not start the task's handler anyway.
    lookup_started = asyncio.Event()
    ran: list[str] = []

    class SwallowingStore:
        namespace = "swallowing"

        async def get_result(self, job_id: str, key: str) -> TaskResult | None:
            if key == task_key(spec("stuck"), {}):
                lookup_started.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    return None
            return None

        async def put_result(self, job_id: str, key: str, result: TaskResult) -> None:
            return None

    async def handler(task: TaskSpec, deps: Deps) -> TaskResult:
        ran.append(task.id)
        if task.id == "bad":
            await lookup_started.wait()
            raise ValueError("broken")
        return done(task)

    sched, _ = scheduler(handler, on_task_failure="fail_job")
    sched.store = SwallowingStore()  # type: ignore[assignment]
    with pytest.raises(TaskFailed):
        await run(sched, plan(spec("bad"), spec("stuck")))
    assert ran == ["bad"]
