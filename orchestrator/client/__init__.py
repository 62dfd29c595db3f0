"""The Python client of the breadth service (light: httpx, httpx-sse and pydantic only).

from orchestrator.client import Client

client = Client("http://127.0.0.1:8080", api_key="bk_...")
job = client.jobs.create("How do generators work?", graph="deep_research")
for event in client.jobs.stream(job.id):
    print(event.type, event.task_id or "")
print(client.jobs.wait(job.id).report)
"""

from orchestrator.client.async_client import AsyncClient
from orchestrator.client.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from orchestrator.client.sync_client import Client
from orchestrator.client.types import (
    GraphInfo,
    GraphProblem,
    GraphValidation,
    Job,
    JobEvent,
    JobList,
    Problem,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "GraphInfo",
    "GraphProblem",
    "GraphValidation",
    "InternalServerError",
    "Job",
    "JobEvent",
    "JobList",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "UnprocessableEntityError",
]
