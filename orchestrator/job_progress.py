"""A stored job's progress as `breadth jobs` and `breadth show` print it, live while it runs.

A job record gets its task counts and token usage only when the job ends; while it runs
the same figures come from its events, folded by ``progress.Progress``. Everything here
but ``read_job_snapshot`` is pure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.events import Event
from orchestrator.job import JobRecord, JobState
from orchestrator.progress import Progress
from orchestrator.store.base import Store

JOBS_COLUMNS = ("job", "state", "tasks", "tokens", "time", "question")


@dataclass(frozen=True)
class JobSnapshot:
    """A job's counts at one moment: from its events while it runs, else from its record."""

    state: JobState
    node: str
    tasks_total: int
    tasks_done: int
    tasks_running: int
    tasks_failed: int
    tokens: int
    # Seconds since this run started (running) or since the job was created (queued);
    # None once the job has ended.
    elapsed_s: float | None


def job_snapshot(record: JobRecord, events: Iterable[Event], now: float) -> JobSnapshot:
    """The counts of ``record`` at time ``now``; ``events`` matter only while it runs."""
    if record.state != "running":
        return JobSnapshot(
            state=record.state,
            node="",
            tasks_total=record.tasks_total,
            tasks_done=record.tasks_done,
            tasks_running=0,
            tasks_failed=record.tasks_failed,
            tokens=record.usage.total_tokens,
            elapsed_s=max(0.0, now - record.created_at) if record.state == "queued" else None,
        )
    run = current_run(list(events))
    progress = Progress()
    for event in run:
        progress.apply(event)
    # The record's updated_at is set when a run starts and again only when it ends.
    started = run[0].ts if run and run[0].type == "job_started" else record.updated_at
    return JobSnapshot(
        state="running",
        node=progress.node,
        tasks_total=progress.total,
        tasks_done=len(progress.done),
        tasks_running=len(progress.running),
        tasks_failed=len(progress.failed),
        # A resumed job's record holds the usage of its earlier runs; the events this run's.
        tokens=record.usage.total_tokens + progress.tokens,
        elapsed_s=max(0.0, now - started),
    )


def current_run(events: Sequence[Event]) -> Sequence[Event]:
    """The events of a job's latest run: from its last ``job_started`` on (all if none)."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].type == "job_started":
            return events[index:]
    return events


def tasks_text(snapshot: JobSnapshot) -> str:
    """``3/5 done · 2 running · 1 failed``, or ``-`` for a job without tasks (yet)."""
    if not (snapshot.tasks_total or snapshot.tasks_running or snapshot.tasks_done):
        return "-"
    parts = [f"{snapshot.tasks_done}/{snapshot.tasks_total} done"]
    if snapshot.tasks_running:
        parts.append(f"{snapshot.tasks_running} running")
    if snapshot.tasks_failed:
        parts.append(f"{snapshot.tasks_failed} failed")
    return " · ".join(parts)


def duration_text(seconds: float) -> str:
    """A duration as people read it: ``42s``, ``3m 05s``, ``2h 07m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def jobs_row(record: JobRecord, snapshot: JobSnapshot) -> tuple[str, ...]:
    """One row of `breadth jobs`, in the order of ``JOBS_COLUMNS``."""
    state = f"{snapshot.state} ({snapshot.node})" if snapshot.node else snapshot.state
    elapsed = duration_text(snapshot.elapsed_s) if snapshot.elapsed_s is not None else ""
    return (
        record.id,
        state,
        tasks_text(snapshot),
        f"{snapshot.tokens:,}",
        elapsed,
        record.request.question[:70],
    )


def job_summary(record: JobRecord, snapshot: JobSnapshot | None = None) -> str:
    """The one-line summary `breadth research` and `breadth show` print under a job."""
    snap = snapshot or job_snapshot(record, (), time.time())
    parts = [f"job {record.id} {snap.state}"]
    if snap.node:
        parts.append(f"node {snap.node}")
    tasks = tasks_text(snap)
    # A graph without a task DAG (a lone strategy) has no tasks to count.
    if tasks != "-":
        parts.append(f"tasks {tasks}")
    parts.append(f"{snap.tokens:,} tokens")
    if snap.elapsed_s is not None:
        parts.append(f"{snap.state} for {duration_text(snap.elapsed_s)}")
    if record.stopped_early:
        parts.append(f"stopped early by {record.stopped_early}")
    parts.append(f"show again with `breadth show {record.id}`")
    return " · ".join(parts)


async def read_all_events(store: Store, job_id: str, *, page: int = 1000) -> list[Event]:
    """Every event of a job, oldest first, read a page at a time."""
    events: list[Event] = []
    after = "0"
    while True:
        batch = await store.read_events(job_id, after, count=page)
        events += [event for _, event in batch]
        if len(batch) < page:
            return events
        after = batch[-1][0]


async def read_job_snapshot(store: Store, record: JobRecord) -> JobSnapshot:
    """The snapshot of ``record`` now, reading its events only if it is running."""
    events = await read_all_events(store, record.id) if record.state == "running" else []
    return job_snapshot(record, events, time.time())
