"""Job requests and job records."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.budget import BudgetOverrides
from orchestrator.usage import TokenUsage

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobRequest(BaseModel):
    """What a user submits: a question and the agent graph to answer it with."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=20_000)
    graph: str = "deep_research"
    corpus: str | None = None
    # A graph sent as YAML text (over the API) rather than named: ``graph`` is then its name.
    graph_yaml: str | None = Field(default=None, max_length=200_000)
    budgets: BudgetOverrides | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, metadata: dict[str, str]) -> dict[str, str]:
        if len(metadata) > 32:
            raise ValueError(f"at most 32 metadata entries are allowed, got {len(metadata)}")
        for key, value in metadata.items():
            if not 1 <= len(key) <= 64 or len(value) > 1024:
                raise ValueError(
                    f"metadata entry {key[:80]!r} is too long: keys are 1-64 characters and "
                    f"values at most 1024"
                )
        return metadata


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
    # The W3C trace context every run of the job continues (one trace per job): the
    # submitting request's, else the first traced run's own (``orchestrator.trace_context``).
    traceparent: str | None = None
