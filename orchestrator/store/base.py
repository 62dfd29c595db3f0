"""The ``Store`` protocol every store implements (Redis server, embedded Redis).

One contract test suite (``tests/test_store_contract.py``) runs against each.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from orchestrator.events import Event
from orchestrator.job import JobRecord
from orchestrator.plan import TaskResult


@runtime_checkable
class Store(Protocol):
    """Persistent state of jobs. Every key lives under the store's namespace."""

    namespace: str

    async def put_job(self, job: JobRecord) -> None:
        """Create or replace a job record (and index it for ``list_jobs``)."""
        ...

    async def get_job(self, job_id: str) -> JobRecord | None: ...

    async def list_jobs(self, limit: int = 20) -> list[JobRecord]:
        """The most recently created jobs first."""
        ...

    async def put_result(self, job_id: str, key: str, result: TaskResult) -> None:
        """Store a task result under its content key (see ``orchestrator.plan.task_key``)."""
        ...

    async def get_result(self, job_id: str, key: str) -> TaskResult | None: ...

    async def list_results(self, job_id: str) -> dict[str, TaskResult]:
        """Every stored result of a job, by content key."""
        ...

    async def put_artifact(self, job_id: str, name: str, value: str) -> None:
        """Store a named text artifact of a job (the plan, the report, ...)."""
        ...

    async def get_artifact(self, job_id: str, name: str) -> str | None: ...

    async def append_event(self, event: Event) -> str:
        """Append to the job's event stream; returns the event's stream id."""
        ...

    async def read_events(
        self, job_id: str, after: str = "0", *, count: int = 1000, block_ms: int | None = None
    ) -> list[tuple[str, Event]]:
        """Events after stream id ``after``, oldest first; blocks up to ``block_ms`` if none."""
        ...

    async def put_call(self, job_id: str, key: str, value: str) -> None:
        """Record one model or tool call of a job (its key and its result), for replay."""
        ...

    async def get_call(self, job_id: str, key: str) -> str | None:
        """A recorded call of a job by key, or None."""
        ...

    async def get_cached(self, key: str) -> str | None:
        """A cached call result shared by every job of the namespace, or None."""
        ...

    async def put_cached(self, key: str, value: str) -> None: ...

    async def delete_job(self, job_id: str) -> None:
        """Remove a job and everything stored under it."""
        ...

    def with_namespace(self, namespace: str) -> Store:
        """The same store under another namespace (a tenant's), sharing its connection;
        closing the returned store leaves this one open.
        """
        ...

    async def aclose(self) -> None: ...
