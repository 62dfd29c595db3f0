"""``/ui``: the live DAG page of a job, the job list, and the login that opens them.

Pages: ``/ui/jobs`` and ``/ui/jobs/{id}`` (HTML; their scripts and the vendored
cytoscape are under ``/ui/static/``); what their scripts read, with the session cookie
(``session``): ``/ui/api/jobs``, ``/ui/api/jobs/{id}`` (the snapshot) and
``/ui/api/jobs/{id}/events`` (the job's SSE stream; the browser's ``EventSource``
reconnects with ``Last-Event-ID``). Every page is served with a Content-Security-Policy
that allows only the service's own scripts, styles and connections.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from orchestrator.app import load_request_graph
from orchestrator.errors import BreadthError
from orchestrator.job import JobRecord
from orchestrator.plan import TaskPlan
from orchestrator.service.auth import Caller, service_state
from orchestrator.service.problems import ApiProblem
from orchestrator.service.routes_jobs import job_view
from orchestrator.service.sse import check_last_event_id, event_stream
from orchestrator.service.ui import assets
from orchestrator.service.ui.session import (
    COOKIE,
    COOKIE_PATH,
    SESSION_TTL_S,
    Session,
    read_session,
    safe_next,
    sign_session,
)
from orchestrator.service.ui.snapshot import graph_view, render_report, tasks_view
from orchestrator.store import keys
from orchestrator.store.job_pages import list_job_page
from orchestrator.store.redis_store import text
from orchestrator.store.tenants import key_digest

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PLAN_ARTIFACT = "plan"
MAX_KEY_CHARS = 256
MAX_FORM_BYTES = 4096
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class NotLoggedIn(Exception):
    """A page asked for without a valid session: go to the login form."""


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes Origin "null"
    headers["Cache-Control"] = "no-store"
    return response


def _page(html: str, status: int = 200) -> Response:
    return _secure_headers(HTMLResponse(html, status_code=status))


async def _secret(request: Request) -> bytes:
    """The key that signs session cookies: one per service, shared by its replicas (Redis)."""
    cached: bytes | None = getattr(request.app.state, "ui_secret", None)
    if cached is not None:
        return cached
    state = service_state(request)
    name = keys.ui_secret(state.runtime.settings.namespace)
    await state.store.client.set(name, secrets.token_hex(32), nx=True)
    stored = await state.store.client.get(name)
    secret = text(stored if stored is not None else secrets.token_hex(32)).encode()
    request.app.state.ui_secret = secret
    return secret


async def _session_caller(request: Request) -> Caller | None:
    """The caller a valid session cookie names (auth off: everyone), else None."""
    state = service_state(request)
    base = state.runtime.settings.namespace
    if not state.config.auth:
        return Caller(None, base)
    session = read_session(await _secret(request), request.cookies.get(COOKIE), time.time())
    if session is None:
        return None
    tenant = await state.tenants.tenant_of_digest(session.key_digest)
    if tenant is None or tenant.name != session.tenant:
        return None  # the key was revoked (or given to another tenant): the session ends
    return Caller(tenant, keys.tenant_namespace(base, tenant.name))


async def _page_caller(request: Request) -> Caller:
    who = await _session_caller(request)
    if who is None:
        raise NotLoggedIn(request.url.path)
    return who


async def _api_caller(request: Request) -> Caller:
    who = await _session_caller(request)
    if who is None:
        raise ApiProblem(
            401,
            "no valid session for the live page: log in at /ui/login with an API key "
            "(`breadth keys create --tenant NAME` makes one)",
            slug="no-ui-session",
        )
    return who


async def _record(request: Request, who: Caller, job_id: str) -> JobRecord:
    store = service_state(request).store.with_namespace(who.namespace)
    record = await store.get_job(job_id) if _JOB_ID.match(job_id) else None
    if record is None:
        raise ApiProblem(404, f"no job {job_id[:80]!r} here", slug="unknown-job")
    return record


def login_redirect(path: str) -> Response:
    return RedirectResponse(f"/ui/login?next={quote(safe_next(path), safe='/')}", 303)


# -- pages --------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _page(assets.login_page(safe_next(next), error=None))


@router.post("/login")
async def login(request: Request) -> Response:
    """Trade an API key for a session cookie (the key itself is not kept)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != _own_origin(request):
        raise ApiProblem(403, f"a login from origin {origin[:80]!r} is refused", slug="bad-origin")
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=4)
    key = (form.get("api_key") or [""])[0].strip()
    target = safe_next((form.get("next") or [""])[0])
    state = service_state(request)
    if not state.config.auth:
        return RedirectResponse(target, 303)
    tenant = await state.tenants.authenticate(key) if 0 < len(key) <= MAX_KEY_CHARS else None
    if tenant is None:
        error = "That API key is not valid (unknown or revoked)."
        return _page(assets.login_page(target, error=error), status=401)
    session = Session(tenant.name, key_digest(key), int(time.time()) + SESSION_TTL_S)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        COOKIE,
        sign_session(await _secret(request), session),
        max_age=SESSION_TTL_S,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def _own_origin(request: Request) -> str:
    parts = urlsplit(str(request.base_url))
    return f"{parts.scheme}://{parts.netloc}"


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/ui/login", 303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.get("/jobs")
async def jobs_page(request: Request) -> Response:
    try:
        who = await _page_caller(request)
    except NotLoggedIn:
        return login_redirect(request.url.path)
    return _page(assets.jobs_page(tenant=who.tenant.name if who.tenant else None))


@router.get("/jobs/{job_id}")
async def job_page(job_id: str, request: Request) -> Response:
    try:
        who = await _page_caller(request)
    except NotLoggedIn:
        return login_redirect(request.url.path)
    try:
        record = await _record(request, who, job_id)
    except ApiProblem:
        message = f"There is no job {job_id[:80]!r} for this API key."
        return _page(assets.message_page("No such job", message), status=404)
    return _page(assets.job_page(record.id))


@router.get("/static/{path:path}")
async def static(path: str) -> Response:
    found = assets.static_file(path)
    if found is None:
        raise ApiProblem(404, f"no file {path[:80]!r} here", slug="unknown-file")
    body, media_type = found
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# -- what the pages' scripts read -----------------------------------------------------


@router.get("/api/jobs")
async def jobs_data(
    request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> JSONResponse:
    who = await _api_caller(request)
    client = service_state(request).store.client
    page = await list_job_page(client, who.namespace, limit=limit)
    jobs = [job_view(record, report=False).model_dump(mode="json") for record in page.jobs]
    return JSONResponse({"jobs": jobs}, headers={"Cache-Control": "no-store"})


@router.get("/api/jobs/{job_id}")
async def job_data(job_id: str, request: Request) -> JSONResponse:
    """The job, its agent graph, its task DAG with stored results, its rendered report."""
    who = await _api_caller(request)
    record = await _record(request, who, job_id)
    state = service_state(request)
    store = state.store.with_namespace(who.namespace)
    try:
        spec = load_request_graph(record.request, state.runtime.ops)
    except BreadthError:
        spec = None  # a graph file since changed or removed: the DAG still shows
    plan_json = await store.get_artifact(record.id, PLAN_ARTIFACT)
    plan = TaskPlan.model_validate_json(plan_json) if plan_json else None
    results = (await store.list_results(record.id)).values()
    snapshot: dict[str, Any] = {
        "job": job_view(record).model_dump(mode="json", exclude={"report"}),
        "graph": graph_view(spec),
        "tasks": tasks_view(plan, results),
        "report_html": render_report(record.report),
    }
    return JSONResponse(snapshot, headers={"Cache-Control": "no-store"})


@router.get("/api/jobs/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: str,
    request: Request,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    who = await _api_caller(request)
    after = check_last_event_id(last_event_id)
    await _record(request, who, job_id)
    store = service_state(request).store.with_namespace(who.namespace)
    return StreamingResponse(
        event_stream(store, job_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
