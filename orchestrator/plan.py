"""Task plans, tasks and task results: what the lead agent plans and the scheduler runs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.usage import TokenUsage

TASK_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"

TaskStatus = Literal["done", "failed", "skipped", "cancelled"]


class TaskSpec(BaseModel):
    """One unit of work in a task DAG.

    ``kind`` selects the handler that runs it (``research`` for a researcher subagent,
    ``tool`` for one tool call, ...); ``params`` are the handler's arguments.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=TASK_ID_PATTERN)
    kind: str = "research"
    description: str = Field(default="", max_length=2000)
    depends_on: tuple[str, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    # Estimated duration used for critical-path priorities (seconds, relative units).
    estimate: float = Field(default=1.0, ge=0)


class TaskPlan(BaseModel):
    """A set of tasks with dependencies; must form a DAG."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskSpec] = Field(min_length=1)


class TaskResult(BaseModel):
    """The outcome of one task, stored under the task's content key."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    status: TaskStatus
    text: str = ""
    output: Any = None
    sources: list[str] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    error: str | None = None
    attempts: int = 1
    started_at: float = Field(default_factory=time.time)
    finished_at: float = Field(default_factory=time.time)
    # Tasks this task asks to add to the DAG (replanning).
    new_tasks: list[TaskSpec] = Field(default_factory=list)


def task_key(task: TaskSpec, dependency_keys: Mapping[str, str]) -> str:
    """Content address of a task: its spec plus the content keys of its dependencies.

    Two runs of the same job that plan the same task over the same inputs get the
    same key, so a resumed job finds the stored result and skips the task.
    """
    payload = {
        "id": task.id,
        "kind": task.kind,
        "description": task.description,
        "params": task.params,
        "deps": {dep: dependency_keys[dep] for dep in sorted(task.depends_on)},
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]
