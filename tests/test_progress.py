"""The progress view: counts from the job's events, printed as plain text off a terminal."""

from __future__ import annotations

import io

from orchestrator.events import Event
from orchestrator.progress import Progress, ProgressView


def event(type_: str, task: str | None = None, **data: object) -> Event:
    return Event(type=type_, job_id="j", task_id=task, data=data)  # type: ignore[arg-type]


def test_progress_counts_tasks_tokens_and_reuse() -> None:
    progress = Progress()
    for e in [
        event("node_started", node="research"),
        event("plan_ready", tasks=3),
        event("task_started", "a"),
        event("task_finished", "b", resumed=True),
        event("tasks_added", "a", task_ids=["c", "d"]),
        event("task_failed", "a"),
        event("tokens", total_tokens=1234),
        event("budget_reached", budget="max_tokens"),
    ]:
        progress.apply(e)
    line = progress.line()
    assert "[research]" in line
    assert "tasks 1/5 done" in line and "0 running" in line
    assert "1 failed" in line and "1 reused" in line
    assert "1,234 tokens" in line and "stopped by max_tokens" in line


def test_plain_output_keeps_the_node_name_in_brackets() -> None:
    stream = io.StringIO()
    with ProgressView(stream) as view:
        view(event("node_started", node="plan"))
    assert stream.getvalue().startswith("[plan] · tasks 0/0 done")
