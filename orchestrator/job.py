"""Job requests and job records."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.usage import TokenUsage

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobRequest(BaseModel):
    """What a user submits: a question and the agent graph to answer it with."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=20_000)
    graph: str = "deep_research"
    corpus: str | None = None


class JobRecord(BaseModel):
    """A job as stored: request, state, outcome and accounting."""

    model_config = ConfigDict(extra="forbid")

    id: str
    request: JobRequest
    state: JobState = "queued"
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    error: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    report: str | None = None
    stopped_early: str | None = None
    tasks_total: int = 0
    tasks_done: int = 0
    tasks_failed: int = 0
