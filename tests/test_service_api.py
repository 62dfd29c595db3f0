"""The HTTP API against a real `breadth serve` (auth on, no workers): tenants, keys,
bad input as problem documents, idempotency, quotas, graphs, probes, typed client errors.

Jobs stay queued here (no worker runs them), which is what these checks need.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from orchestrator.client import (
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from tests.conftest import REDIS_URL
from tests.service_support import (
    ONE_CALL,
    Processes,
    breadth_command,
    create_key,
    delete_namespace_keys,
    free_port,
    serve_args,
    wait_http_sync,
)

pytestmark = pytest.mark.redis
PROBLEM = "application/problem+json"


@dataclass
class Service:
    base: str
    namespace: str
    alice: str
    bob: str
    limited: str


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    namespace = f"breadth-test-api-{folder.name[-6:]}".replace("_", "-")
    procs = Processes(Path(folder))
    try:
        alice = create_key(REDIS_URL, namespace, "alice")
        bob = create_key(REDIS_URL, namespace, "bob")
        limited = create_key(
            REDIS_URL,
            namespace,
            "limited",
            "--max-concurrent-jobs",
            "1",
            "--max-tokens-per-job",
            "1000",
        )
        port = free_port()
        server = procs.start("serve", serve_args(port, REDIS_URL, namespace, "--workers", "0"))
        base = f"http://127.0.0.1:{port}"
        wait_http_sync(f"{base}/healthz", server)
        yield Service(base, namespace, alice, bob, limited)
    finally:
        procs.stop_all()
        delete_namespace_keys(REDIS_URL, namespace)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_are_printed_once_and_stored_hashed(service: Service) -> None:
    import redis

    assert service.alice.startswith("bk_") and service.alice != service.bob
    client = redis.Redis.from_url(REDIS_URL)
    try:
        stored = client.hgetall(f"{service.namespace}:apikeys")
    finally:
        client.close()
    assert len(stored) == 3
    assert all(service.alice.encode() not in k + v for k, v in stored.items())


@pytest.mark.timeout(30)
def test_missing_or_wrong_keys_get_401(service: Service) -> None:
    for headers in ({}, auth("bk_nope_nope"), {"Authorization": "Basic abc"}, auth("x" * 300)):
        answer = httpx.get(f"{service.base}/v1/jobs", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["content-type"] == PROBLEM
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "breadth keys create" in answer.json()["detail"]
    with Client(service.base, api_key="bk_wrong_key") as client, pytest.raises(AuthenticationError):
        client.jobs.list()


@pytest.mark.timeout(30)
def test_tenant_b_cannot_see_stream_cancel_or_delete_tenant_as_job(service: Service) -> None:
    with (
        Client(service.base, api_key=service.alice) as alice,
        Client(service.base, api_key=service.bob) as bob,
    ):
        job = alice.jobs.create("What is a generator?", graph=ONE_CALL)
        assert alice.jobs.get(job.id).id == job.id
        for attempt in (
            lambda: bob.jobs.get(job.id),
            lambda: bob.jobs.cancel(job.id),
            lambda: bob.jobs.delete(job.id),
            lambda: bob.jobs.report(job.id),
            lambda: list(bob.jobs.stream(job.id)),
        ):
            with pytest.raises(NotFoundError):
                attempt()
        assert job.id not in {j.id for j in bob.jobs.list(limit=200).jobs}
        assert job.id in {j.id for j in alice.jobs.list(limit=200).jobs}
        # Still queued and untouched for its owner.
        assert alice.jobs.get(job.id).state == "queued"


def _post(service: Service, body: object = None, **kwargs: object) -> httpx.Response:
    headers = {**auth(service.alice), **dict(kwargs.pop("headers", {}))}  # type: ignore[arg-type]
    return httpx.post(f"{service.base}/v1/jobs", json=body, headers=headers, **kwargs)  # type: ignore[arg-type]


def _job_count(service: Service) -> int:
    with Client(service.base, api_key=service.alice) as client:
        return len(client.jobs.list(limit=200).jobs)


@pytest.mark.timeout(60)
def test_bad_input_gets_a_problem_document_and_changes_nothing(service: Service) -> None:
    before = _job_count(service)
    broken_yaml = "name: g\nnodes:\n  a: {op: plann}\nedges:\n  - {from: START, to: a}\n"
    cases: list[tuple[httpx.Response, int, str]] = [
        (
            httpx.post(
                f"{service.base}/v1/jobs",
                content=b'{"question": ',
                headers={**auth(service.alice), "Content-Type": "application/json"},
            ),
            400,
            "not valid JSON",
        ),
        (_post(service, {"question": "q", "colour": "red"}), 422, "'colour'"),
        (_post(service, {"question": "q", "graph": broken_yaml}), 422, "nodes.a.op"),
        (_post(service, {"question": "x" * 20_001}), 422, "20000"),
        (_post(service, {"question": "q", "graph": "/etc/passwd"}), 422, "never a file path"),
        (_post(service, {"question": "q", "budgets": {"max_tokens": 0}}), 422, "max_tokens"),
        (_post(service, {"question": "q"}, headers={"Idempotency-Key": "a b"}), 400, "'a b'"),
        (_post(service, ["not", "an", "object"]), 422, "JSON object"),
        (_post(service, {}), 422, "'question' is missing"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM
        problem = answer.json()
        assert words in problem["detail"], problem
        assert "Traceback" not in answer.text
    graph_problem = cases[2][0].json()
    lines = {(e["field"], e.get("line")) for e in graph_problem["errors"]}
    assert ("nodes.a.op", 3) in lines
    unknown = httpx.get(f"{service.base}/v1/jobs/abcdef123456", headers=auth(service.alice))
    assert unknown.status_code == 404 and "'abcdef123456'" in unknown.json()["detail"]
    assert _job_count(service) == before


@pytest.mark.timeout(30)
def test_a_bad_last_event_id_is_a_400(service: Service) -> None:
    with Client(service.base, api_key=service.alice) as client:
        job = client.jobs.create("q", graph=ONE_CALL)
    answer = httpx.get(
        f"{service.base}/v1/jobs/{job.id}/events",
        headers={**auth(service.alice), "Last-Event-ID": "yesterday"},
    )
    assert answer.status_code == 400
    assert "'yesterday'" in answer.json()["detail"]


@pytest.mark.timeout(30)
def test_an_idempotency_key_makes_one_job(service: Service) -> None:
    body = {"question": "Same question", "graph": "deep_research"}
    headers = {"Idempotency-Key": "order-42"}
    first = _post(service, body, headers=headers)
    again = _post(service, body, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = _post(service, {**body, "question": "Another one"}, headers=headers)
    assert other.status_code == 422 and "different request" in other.json()["detail"]


@pytest.mark.timeout(30)
def test_quotas_answer_429_with_retry_after_or_403_naming_the_limit(service: Service) -> None:
    with Client(service.base, api_key=service.limited, max_retries=0) as client:
        with pytest.raises(PermissionDeniedError) as over:
            client.jobs.create("q", graph=ONE_CALL, budgets={"max_tokens": 5000})
        assert "max_tokens_per_job=1000" in str(over.value)
        first = client.jobs.create("q", graph=ONE_CALL)
        with pytest.raises(RateLimitError) as busy:
            client.jobs.create("q2", graph=ONE_CALL)
        assert busy.value.response.headers["retry-after"] == "5"
        assert "max_concurrent_jobs=1" in str(busy.value)
        # Once the first job ends (here: cancelled while queued), there is room again.
        assert client.jobs.cancel(first.id).state == "cancelled"
        second = client.jobs.create("q2", graph=ONE_CALL)
        client.jobs.cancel(second.id)


@pytest.mark.timeout(30)
def test_a_queued_job_is_cancelled_at_once_and_can_then_be_deleted(service: Service) -> None:
    with Client(service.base, api_key=service.alice) as client:
        job = client.jobs.create("q", graph=ONE_CALL)
        with pytest.raises(ConflictError) as active:
            client.jobs.delete(job.id)
        assert active.value.status_code == 409
        assert client.jobs.cancel(job.id).state == "cancelled"
        events = [e.type for e in client.jobs.stream(job.id)]
        assert events == ["job_queued", "job_cancelled", "end"]
        client.jobs.delete(job.id)
        with pytest.raises(NotFoundError):
            client.jobs.get(job.id)


@pytest.mark.timeout(30)
def test_graphs_are_listed_and_validated_with_lines(service: Service) -> None:
    with Client(service.base, api_key=service.alice) as client:
        names = {g.name for g in client.graphs.list()}
        assert {"deep_research", "vote"} <= names
        assert client.graphs.validate(ONE_CALL).valid
        report = client.graphs.validate("name: g\nnodes:\n  a: {op: draft, max_visits: 0}\n")
    assert not report.valid
    assert any(p.field == "nodes.a.max_visits" and p.line == 3 for p in report.problems)


@pytest.mark.timeout(30)
def test_probes_and_metrics(service: Service) -> None:
    assert httpx.get(f"{service.base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{service.base}/readyz")
    assert ready.status_code == 503 and "breadth worker" in ready.json()["detail"]
    page = httpx.get(f"{service.base}/metrics").text
    for name in ("breadth_jobs{", "breadth_queue_depth", "breadth_workers_alive", "breadth_tokens"):
        assert name in page
    assert "/v1/jobs" in httpx.get(f"{service.base}/openapi.json").text


def test_keys_can_be_listed_and_revoked(service: Service) -> None:
    key = create_key(REDIS_URL, service.namespace, "temp")
    key_id = key.split("_")[1]
    common = ["--redis-url", REDIS_URL, "--namespace", service.namespace]
    listed = subprocess.run(
        breadth_command("keys", "list", *common), capture_output=True, text=True, timeout=60
    )
    assert key_id in listed.stdout and key not in listed.stdout
    revoked = subprocess.run(
        breadth_command("keys", "revoke", key_id, *common),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(f"{service.base}/v1/jobs", headers=auth(key)).status_code == 401


def test_no_auth_is_refused_off_loopback() -> None:
    done = subprocess.run(
        breadth_command("serve", "--no-auth", "--host", "0.0.0.0", "--port", str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--no-auth is accepted only on a loopback address" in done.stderr
