"""The API's wire types, as the client returns them (and the service answers with).

Plain pydantic models that ignore fields they do not know, so an older client keeps
working against a newer service.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINAL_STATES: tuple[str, ...] = ("done", "failed", "cancelled")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Usage(_Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Job(_Wire):
    """A job as the service reports it; ``report`` is set once it is done."""

    id: str
    state: JobState
    question: str
    graph: str
    created_at: float
    updated_at: float
    error: str | None = None
    report: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    tasks_total: int = 0
    tasks_done: int = 0
    tasks_failed: int = 0
    cancel_requested: bool = False
    # The job's trace (OpenTelemetry trace id), and its page in Jaeger when the service
    # knows where Jaeger is (BREADTH_JAEGER_URL).
    trace_id: str | None = None
    trace_url: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state (done, failed or cancelled)."""
        return self.state in FINAL_STATES


class JobList(_Wire):
    jobs: list[Job]
    next_cursor: str | None = None


class JobEvent(_Wire):
    """One event of a job's stream; ``id`` is its place in the stream (for Last-Event-ID).

    The stream's last event has type ``end`` and the job's final state in ``data``.
    """

    id: str
    type: str
    job_id: str = ""
    ts: float = 0.0
    task_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class GraphInfo(_Wire):
    name: str
    description: str = ""
    nodes: list[str] = Field(default_factory=list)


class GraphProblem(_Wire):
    line: int | None = None
    field: str
    message: str


class GraphValidation(_Wire):
    """What ``POST /v1/graphs/validate`` found: every problem with its line and field."""

    valid: bool
    name: str | None = None
    problems: list[GraphProblem] = Field(default_factory=list)


class ProblemItem(_Wire):
    field: str
    message: str
    line: int | None = None


class Problem(_Wire):
    """An RFC 9457 problem document: what every error response of the API carries."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)
