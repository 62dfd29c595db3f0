"""``AsyncClient``: the breadth service from asyncio code, the same surface as ``Client``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from orchestrator.client._base import (
    DEFAULT_TIMEOUT_S,
    ClientOptions,
    connection_error,
    job_body,
    new_idempotency_key,
    parse_event,
    retry_wait,
    should_retry,
    stream_order,
)
from orchestrator.client.errors import APIConnectionError, status_error
from orchestrator.client.types import (
    FINAL_STATES,
    GraphInfo,
    GraphValidation,
    Job,
    JobEvent,
    JobList,
)


class AsyncClient:
    """An asyncio client of a breadth service: ``client.jobs`` and ``client.graphs``.

    ``AsyncClient("http://127.0.0.1:8080", api_key="bk_...")``; retries connection errors and
    408/429/5xx answers ``max_retries`` times with backoff, honouring ``Retry-After``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._options = ClientOptions(base_url.rstrip("/"), api_key, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(base_url=self._options.base_url)
        self.jobs = AsyncJobs(self)
        self.graphs = AsyncGraphs(self)

    def with_options(
        self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None
    ) -> AsyncClient:
        """A client with other settings on the same connection pool."""
        clone = AsyncClient.__new__(AsyncClient)
        clone._options = ClientOptions(
            self._options.base_url,
            self._options.api_key,
            self._options.timeout if timeout is None else timeout,
            self._options.max_retries if max_retries is None else max_retries,
        )
        clone._owns_http = False
        clone._http = self._http
        clone.jobs = AsyncJobs(clone)
        clone.graphs = AsyncGraphs(clone)
        return clone

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request with retries; an error status raises its typed error."""
        options = self._options
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers={**options.request_headers(), **(headers or {})},
                    timeout=options.timeout,
                )
            except httpx.HTTPError as exc:
                if attempt > options.max_retries:
                    raise connection_error(exc, options.base_url) from None
                await asyncio.sleep(retry_wait(attempt, options.backoff_s, None))
                continue
            if response.status_code < 400:
                return response
            if should_retry(response) and attempt <= options.max_retries:
                await asyncio.sleep(
                    retry_wait(attempt, options.backoff_s, response.headers.get("retry-after"))
                )
                continue
            raise status_error(response)


class AsyncJobs:
    """``client.jobs`` (async): create, get, list, cancel, stream, wait, report, delete."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        question: str,
        *,
        graph: str = "deep_research",
        corpus: str | None = None,
        budgets: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit a job (``graph``: a built-in name or YAML text); returns it queued.

        Retries reuse one ``Idempotency-Key`` (made up unless given), so a retried
        submit never makes two jobs.
        """
        body = job_body(question, graph, corpus, budgets, metadata)
        key = idempotency_key or new_idempotency_key()
        response = await self._client.request(
            "POST", "/v1/jobs", json=body, headers={"Idempotency-Key": key}
        )
        return Job.model_validate_json(response.content)

    async def get(self, job_id: str) -> Job:
        response = await self._client.request("GET", f"/v1/jobs/{job_id}")
        return Job.model_validate_json(response.content)

    async def list(
        self, *, state: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> JobList:
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        response = await self._client.request("GET", "/v1/jobs", params=params)
        return JobList.model_validate_json(response.content)

    async def cancel(self, job_id: str) -> Job:
        response = await self._client.request("POST", f"/v1/jobs/{job_id}/cancel")
        return Job.model_validate_json(response.content)

    async def report(self, job_id: str) -> str:
        response = await self._client.request("GET", f"/v1/jobs/{job_id}/report")
        return response.text

    async def delete(self, job_id: str) -> None:
        await self._client.request("DELETE", f"/v1/jobs/{job_id}")

    async def wait(self, job_id: str, timeout: float | None = None, *, poll_s: float = 1.0) -> Job:
        """The job once it is done, failed or cancelled (``TimeoutError`` after ``timeout``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = min(0.1, poll_s)
        while True:
            job = await self.get(job_id)
            if job.state in FINAL_STATES:
                return job
            if deadline is not None and time.monotonic() + delay > deadline:
                raise TimeoutError(
                    f"job {job_id!r} is still {job.state} after {timeout:g} s; wait longer or "
                    f"cancel it with client.jobs.cancel({job_id!r})"
                )
            await asyncio.sleep(delay)
            delay = min(poll_s, delay * 1.5)

    async def stream(
        self, job_id: str, last_event_id: str | None = None
    ) -> AsyncIterator[JobEvent]:
        """The job's events from the start (or after ``last_event_id``), ending with ``end``.

        Reconnects with ``Last-Event-ID`` when the connection drops and never yields an
        event twice.
        """
        options = self._client._options
        last = last_event_id
        failures = 0
        while True:
            headers = options.request_headers() | {"Accept": "text/event-stream"}
            if last:
                headers["Last-Event-ID"] = last
            try:
                async with aconnect_sse(
                    self._client._http,
                    "GET",
                    f"/v1/jobs/{job_id}/events",
                    headers=headers,
                    timeout=options.timeout,
                ) as source:
                    if source.response.status_code >= 400:
                        await source.response.aread()
                        raise status_error(source.response)
                    async for sse in source.aiter_sse():
                        if sse.event == "end":
                            yield parse_event(last or "", "end", sse.data)
                            return
                        if not sse.id or (last and stream_order(sse.id) <= stream_order(last)):
                            continue
                        last = sse.id
                        failures = 0
                        yield parse_event(sse.id, sse.event, sse.data)
            except (httpx.HTTPError, SSEError) as exc:
                failures += 1
                if failures > options.max_retries + 3:
                    if isinstance(exc, httpx.HTTPError):
                        raise connection_error(exc, options.base_url) from None
                    raise APIConnectionError(
                        f"the event stream of job {job_id!r} broke: {exc}"
                    ) from None
                await asyncio.sleep(retry_wait(failures, options.backoff_s, None))


class AsyncGraphs:
    """``client.graphs`` (async): the built-in graphs, and checking a graph's YAML."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[GraphInfo]:
        response = await self._client.request("GET", "/v1/graphs")
        return [GraphInfo.model_validate(item) for item in response.json()]

    async def validate(self, yaml_text: str) -> GraphValidation:
        response = await self._client.request(
            "POST", "/v1/graphs/validate", json={"yaml": yaml_text}
        )
        return GraphValidation.model_validate_json(response.content)
