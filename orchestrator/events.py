"""Job events: what the progress view, `breadth show` and SSE readers consume."""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "job_queued",
    "job_started",
    "node_started",
    "node_finished",
    "plan_ready",
    "task_started",
    "task_finished",
    "task_failed",
    "task_retry",
    "task_skipped",
    "tasks_added",
    "tokens",
    "execute_tool",
    "budget_reached",
    "job_finished",
    "job_failed",
    "job_cancelled",
    "job_released",
    "log",
]


class Event(BaseModel):
    """One thing that happened in a job."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    job_id: str
    ts: float = Field(default_factory=time.time)
    task_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EventSink(Protocol):
    """Where a job's events go (the store's stream, a test's list, ...)."""

    async def emit(self, event: Event) -> None: ...
