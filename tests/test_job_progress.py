"""`breadth jobs` and `breadth show` count a running job's tasks and tokens from its events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from orchestrator.cli import main
from orchestrator.events import Event
from orchestrator.ids import new_job_id
from orchestrator.job import JobRecord, JobRequest, JobState
from orchestrator.job_progress import (
    duration_text,
    job_snapshot,
    job_summary,
    jobs_row,
    read_all_events,
)
from orchestrator.store.redis_store import RedisStore
from orchestrator.usage import TokenUsage

NOW = 10_000.0


def record(state: JobState = "running", **fields: object) -> JobRecord:
    return JobRecord(
        id="j1",
        request=JobRequest(question="Why is the sky blue?"),
        state=state,
        created_at=NOW - 600,
        updated_at=NOW - 300,
        **fields,  # type: ignore[arg-type]
    )


def event(type_: str, task: str | None = None, ts: float = NOW, **data: object) -> Event:
    return Event(type=type_, job_id="j1", task_id=task, ts=ts, data=data)  # type: ignore[arg-type]


def first_run(started: float) -> list[Event]:
    return [
        event("job_started", ts=started),
        event("node_started", node="plan"),
        event("plan_ready", tasks=3),
        event("node_started", node="research"),
        event("task_started", "a"),
        event("task_started", "b"),
        event("task_finished", "a"),
        event("tokens", total_tokens=1_500),
    ]


def test_a_running_job_counts_from_its_events() -> None:
    snap = job_snapshot(record(), first_run(started=NOW - 125), NOW)
    assert (snap.tasks_done, snap.tasks_running, snap.tasks_total) == (1, 1, 3)
    assert snap.tokens == 1_500 and snap.node == "research" and snap.elapsed_s == 125
    assert job_summary(record(), snap) == (
        "job j1 running · node research · tasks 1/3 done · 1 running · 1,500 tokens · "
        "running for 2m 05s · show again with `breadth show j1`"
    )
    assert jobs_row(record(), snap) == (
        "j1",
        "running (research)",
        "1/3 done · 1 running",
        "1,500",
        "2m 05s",
        "Why is the sky blue?",
    )


def test_a_resumed_job_counts_only_its_current_run_and_adds_earlier_tokens() -> None:
    earlier = first_run(started=NOW - 500)
    resumed = [
        event("job_started", ts=NOW - 60),
        event("plan_ready", tasks=3),
        event("task_finished", "a", resumed=True),
        event("task_started", "b"),
        event("tokens", total_tokens=200),
    ]
    stored = record(usage=TokenUsage(prompt_tokens=1_000, completion_tokens=500))
    snap = job_snapshot(stored, earlier + resumed, NOW)
    assert (snap.tasks_done, snap.tasks_running, snap.tasks_total) == (1, 1, 3)
    assert snap.tokens == 1_700 and snap.elapsed_s == 60


def test_a_running_job_without_events_yet_times_from_its_start() -> None:
    snap = job_snapshot(record(), [], NOW)
    assert snap.elapsed_s == 300
    assert job_summary(record(), snap).startswith("job j1 running · 0 tokens · running for 5m 00s")


def test_a_finished_job_counts_from_its_record_and_ignores_events() -> None:
    done = record(
        "done",
        tasks_total=3,
        tasks_done=2,
        tasks_failed=1,
        usage=TokenUsage(prompt_tokens=1_000, completion_tokens=234),
        stopped_early="max_tokens",
    )
    snap = job_snapshot(done, first_run(started=NOW - 125), NOW)
    assert snap.elapsed_s is None and snap.tasks_running == 0
    assert job_summary(done, snap) == (
        "job j1 done · tasks 2/3 done · 1 failed · 1,234 tokens · stopped early by "
        "max_tokens · show again with `breadth show j1`"
    )
    assert jobs_row(done, snap)[2:5] == ("2/3 done · 1 failed", "1,234", "")


def test_a_job_without_tasks_and_a_queued_one() -> None:
    assert jobs_row(record("done"), job_snapshot(record("done"), [], NOW))[2] == "-"
    queued = job_snapshot(record("queued"), [], NOW)
    assert queued.elapsed_s == 600
    assert "queued for 10m 00s" in job_summary(record("queued"), queued)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m 00s"), (3599, "59m 59s"), (7_380, "2h 03m")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


# Against real Redis: a running job whose events are appended by hand, no model needed.


@pytest.fixture
def running_job(redis_url: str, namespace: str) -> Iterator[str]:
    job_id = new_job_id()
    started = time.time() - 2 * 3600 - 30  # "2h 00m" for the next 29 minutes

    async def write() -> None:
        store = await RedisStore.connect(redis_url, namespace)
        try:
            job = JobRecord(id=job_id, request=JobRequest(question="Live?"), state="running")
            await store.put_job(job)
            for e in first_run(started):
                await store.append_event(e.model_copy(update={"job_id": job_id}))
        finally:
            await store.aclose()

    async def delete() -> None:
        store = await RedisStore.connect(redis_url, namespace)
        try:
            await store.delete_job(job_id)
        finally:
            await store.aclose()

    asyncio.run(write())
    yield job_id
    asyncio.run(delete())


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide console, so rich neither wraps nor cuts the rows asserted on."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.mark.timeout(30)
@pytest.mark.usefixtures("wide")
def test_breadth_jobs_shows_live_counts(
    running_job: str, redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "--redis-url", redis_url, "--namespace", namespace]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if running_job in line]
    for cell in ["running (research)", "1/3 done · 1 running", "1,500", "2h 00m", "Live?"]:
        assert cell in row


@pytest.mark.timeout(30)
@pytest.mark.usefixtures("wide")
def test_breadth_show_shows_live_counts(
    running_job: str, redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", running_job, "--redis-url", redis_url, "--namespace", namespace]) == 0
    assert (
        f"job {running_job} running · node research · tasks 1/3 done · 1 running · "
        f"1,500 tokens · running for 2h 00m" in capsys.readouterr().out
    )


@pytest.mark.timeout(30)
async def test_all_events_are_read_page_by_page(redis_url: str, namespace: str) -> None:
    store = await RedisStore.connect(redis_url, namespace)
    try:
        for index in range(5):
            await store.append_event(event("log", ts=NOW + index, message=str(index)))
        events = await read_all_events(store, "j1", page=2)
        assert [e.data["message"] for e in events] == ["0", "1", "2", "3", "4"]
    finally:
        await store.delete_job("j1")
        await store.aclose()
