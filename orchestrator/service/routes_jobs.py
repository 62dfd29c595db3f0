"""``/v1/jobs``: submit, get, list, stream events, cancel, fetch the report, delete."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from orchestrator.client.types import Job, JobList, JobState, Usage
from orchestrator.ids import new_job_id
from orchestrator.job import JobRecord
from orchestrator.service.admission import JobCreate, apply_token_quota, job_request
from orchestrator.service.auth import Caller, caller, service_state
from orchestrator.service.problems import ApiProblem
from orchestrator.service.sse import check_last_event_id, event_stream
from orchestrator.service.tracing import job_traceparent
from orchestrator.store import keys
from orchestrator.store.job_pages import list_job_page
from orchestrator.store.queue import FINAL_STATES, Enqueued
from orchestrator.trace_context import trace_id_of, trace_url

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
CallerDep = Annotated[Caller, Depends(caller)]

_IDEMPOTENCY = re.compile(keys.IDEMPOTENCY_PATTERN)
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Seconds a client over its concurrent-jobs quota is asked to wait.
QUOTA_RETRY_S = 5
TRACE_HEADERS = ("traceparent", "tracestate", "baggage")


def job_view(record: JobRecord, *, report: bool = True, cancel_requested: bool = False) -> Job:
    trace_id = trace_id_of(record.traceparent)
    return Job(
        id=record.id,
        state=record.state,
        question=record.request.question,
        graph=record.request.graph,
        created_at=record.created_at,
        updated_at=record.updated_at,
        error=record.error,
        report=record.report if report else None,
        metadata=record.request.metadata,
        usage=Usage(
            prompt_tokens=record.usage.prompt_tokens,
            completion_tokens=record.usage.completion_tokens,
            total_tokens=record.usage.total_tokens,
        ),
        tasks_total=record.tasks_total,
        tasks_done=record.tasks_done,
        tasks_failed=record.tasks_failed,
        cancel_requested=cancel_requested,
        trace_id=trace_id,
        trace_url=trace_url(trace_id),
    )


async def _record(request: Request, who: Caller, job_id: str) -> JobRecord:
    store = service_state(request).store.with_namespace(who.namespace)
    record = await store.get_job(job_id) if _JOB_ID.match(job_id) else None
    if record is None:
        raise ApiProblem(
            404,
            f"no job {job_id[:80]!r} here; list your jobs with GET /v1/jobs",
            slug="unknown-job",
        )
    return record


@router.post("", status_code=202, response_model=Job, summary="Submit a job")
async def create_job(
    body: JobCreate,
    request: Request,
    who: CallerDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    state = service_state(request)
    if idempotency_key is not None and not _IDEMPOTENCY.match(idempotency_key):
        raise ApiProblem(
            400,
            f"Idempotency-Key {idempotency_key[:80]!r} is not valid: it must be 1-128 letters, "
            f"digits, '_', '-', '.' or ':'; send e.g. a UUID",
            slug="bad-idempotency-key",
        )
    job_request_, spec = job_request(body, state.runtime.ops, state.config.corpora)
    job_request_ = apply_token_quota(job_request_, spec, who.tenant)
    record = JobRecord(
        id=new_job_id(),
        request=job_request_,
        state="queued",
        traceparent=job_traceparent(request),
    )
    limit = who.tenant.max_concurrent_jobs if who.tenant is not None else None
    headers = {name: request.headers[name] for name in TRACE_HEADERS if name in request.headers}
    fingerprint = body.fingerprint()

    async def enqueue() -> Enqueued:
        return await state.queue.enqueue(
            who.namespace,
            record,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            max_active=limit,
            headers=headers,
        )

    outcome = await enqueue()
    if outcome.outcome == "quota":
        # Jobs that ended without reaching a worker's bookkeeping do not count.
        await state.queue.prune_active(who.namespace)
        outcome = await enqueue()
    if outcome.outcome == "quota":
        assert who.tenant is not None
        raise ApiProblem(
            429,
            f"tenant {who.tenant.name!r} already has {outcome.active} jobs queued or running, "
            f"its quota of max_concurrent_jobs={limit}; wait for one to finish (retry after "
            f"{QUOTA_RETRY_S} s) or cancel one",
            slug="quota-exceeded",
            headers={"Retry-After": str(QUOTA_RETRY_S)},
        )
    if outcome.outcome == "duplicate":
        if outcome.request_hash != fingerprint:
            raise ApiProblem(
                422,
                f"Idempotency-Key {idempotency_key!r} was used for a different request (job "
                f"{outcome.job_id!r}); use a new key for a new request",
                slug="idempotency-key-reused",
            )
        existing = await _record(request, who, outcome.job_id)
        return JSONResponse(
            job_view(existing).model_dump(mode="json"),
            status_code=200,
            headers={"Idempotent-Replayed": "true", "Location": f"/v1/jobs/{existing.id}"},
        )
    return JSONResponse(
        job_view(record).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/jobs/{record.id}"},
    )


@router.get("", response_model=JobList, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    who: CallerDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobList:
    client = service_state(request).store.client
    page = await list_job_page(client, who.namespace, limit=limit, state=state, cursor=cursor)
    jobs = [job_view(record, report=False) for record in page.jobs]
    return JobList(jobs=jobs, next_cursor=page.next_cursor)


@router.get("/{job_id}", response_model=Job, summary="Get a job (with its report once done)")
async def get_job(job_id: str, request: Request, who: CallerDep) -> Job:
    record = await _record(request, who, job_id)
    flagged = await service_state(request).cancels.requested(who.namespace, [job_id])
    return job_view(record, cancel_requested=bool(flagged))


@router.get(
    "/{job_id}/events",
    summary="Stream a job's events (SSE; Last-Event-ID resumes)",
    response_class=StreamingResponse,
)
async def job_events(
    job_id: str,
    request: Request,
    who: CallerDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    after = check_last_event_id(last_event_id)
    await _record(request, who, job_id)
    store = service_state(request).store.with_namespace(who.namespace)
    return StreamingResponse(
        event_stream(store, job_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/{job_id}/cancel", response_model=Job, status_code=202, summary="Cancel a job")
async def cancel_job(job_id: str, request: Request, who: CallerDep) -> Response:
    record = await _record(request, who, job_id)
    if record.state in ("done", "failed"):
        raise ApiProblem(
            409,
            f"job {job_id!r} already ended ({record.state}); there is nothing to cancel",
            slug="job-finished",
        )
    if record.state == "cancelled":
        return JSONResponse(job_view(record).model_dump(mode="json"), status_code=200)
    updated = await service_state(request).cancels.request(who.namespace, job_id)
    view = job_view(updated or record, cancel_requested=True)
    return JSONResponse(view.model_dump(mode="json"), status_code=202)


@router.get(
    "/{job_id}/report",
    response_class=PlainTextResponse,
    summary="The job's report (Markdown), once it is done",
    responses={200: {"content": {"text/markdown": {}}}},
)
async def job_report(job_id: str, request: Request, who: CallerDep) -> Response:
    record = await _record(request, who, job_id)
    if record.state != "done" or record.report is None:
        why = f": {record.error}" if record.error else ""
        raise ApiProblem(
            409,
            f"job {job_id!r} has no report: it is {record.state}{why}. Wait for it to be done "
            f"(GET /v1/jobs/{job_id}/events streams its progress)",
            slug="no-report",
        )
    return PlainTextResponse(record.report, media_type="text/markdown")


@router.delete("/{job_id}", status_code=204, summary="Delete a finished job and its data")
async def delete_job(job_id: str, request: Request, who: CallerDep) -> Response:
    record = await _record(request, who, job_id)
    if record.state not in FINAL_STATES:
        raise ApiProblem(
            409,
            f"job {job_id!r} is {record.state}; cancel it first (POST /v1/jobs/{job_id}/cancel), "
            f"then delete it",
            slug="job-active",
        )
    state = service_state(request)
    await state.store.with_namespace(who.namespace).delete_job(job_id)
    await state.queue.forget_active(who.namespace, job_id)
    return Response(status_code=204)
