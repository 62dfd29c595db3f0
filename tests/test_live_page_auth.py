"""Who may watch a job: the live page's login, its session cookie, and everything that
must not get in (no cookie, a forged or expired one, a revoked key, another tenant, a
login posted from another site). Against a real `breadth serve` (auth on, no workers).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from orchestrator.service.ui.session import Session, sign_session
from orchestrator.store.tenants import key_digest
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

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


@dataclass
class Service:
    base: str
    namespace: str
    alice: str
    bob: str
    job: str  # one of alice's jobs (queued: no worker runs it)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("ui-auth")
    namespace = f"breadth-test-ui-{folder.name[-6:]}".replace("_", "-")
    procs = Processes(Path(folder))
    try:
        alice = create_key(REDIS_URL, namespace, "alice")
        bob = create_key(REDIS_URL, namespace, "bob")
        port = free_port()
        server = procs.start("serve", serve_args(port, REDIS_URL, namespace, "--workers", "0"))
        base = f"http://127.0.0.1:{port}"
        wait_http_sync(f"{base}/healthz", server)
        created = httpx.post(
            f"{base}/v1/jobs",
            json={"question": "What is a <b>cycle</b>?", "graph": ONE_CALL},
            headers={"Authorization": f"Bearer {alice}"},
        )
        assert created.status_code == 202, created.text
        yield Service(base, namespace, alice, bob, created.json()["id"])
    finally:
        procs.stop_all()
        delete_namespace_keys(REDIS_URL, namespace)


@contextlib.contextmanager
def logged_in(service: Service, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.base) as client:
        answer = client.post("/ui/login", data={"api_key": key, "next": "/ui/jobs"})
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/jobs", answer.text
        yield client


def test_pages_send_a_visitor_without_a_session_to_the_login_form(service: Service) -> None:
    for path in ("/ui/jobs", f"/ui/jobs/{service.job}"):
        answer = httpx.get(f"{service.base}{path}")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/ui/login?next={path}"
    form = httpx.get(f"{service.base}/ui/login", params={"next": f"/ui/jobs/{service.job}"})
    assert form.status_code == 200 and 'name="api_key"' in form.text
    assert f'value="/ui/jobs/{service.job}"' in form.text
    for path in (
        "/ui/api/jobs",
        f"/ui/api/jobs/{service.job}",
        f"/ui/api/jobs/{service.job}/events",
    ):
        answer = httpx.get(f"{service.base}{path}")
        assert answer.status_code == 401, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert "/ui/login" in answer.json()["detail"]


def test_a_key_buys_a_strict_httponly_cookie_that_opens_the_page_but_not_the_api(
    service: Service,
) -> None:
    with httpx.Client(base_url=service.base) as client:
        answer = client.post(
            "/ui/login", data={"api_key": service.alice, "next": f"/ui/jobs/{service.job}"}
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/ui/jobs/{service.job}"
        cookie = answer.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=strict", "Path=/ui", "Max-Age=28800"):
            assert flag.lower() in cookie.lower(), cookie
        assert service.alice not in cookie
        page = client.get(f"/ui/jobs/{service.job}")
        assert page.status_code == 200 and f'data-job-id="{service.job}"' in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        snapshot = client.get(f"/ui/api/jobs/{service.job}").json()
        assert snapshot["job"]["id"] == service.job and snapshot["job"]["state"] == "queued"
        assert snapshot["job"]["question"] == "What is a <b>cycle</b>?"
        assert [n["name"] for n in snapshot["graph"]["nodes"]] == ["draft"]
        assert snapshot["tasks"] == [] and snapshot["report_html"] is None
        listed = client.get("/ui/api/jobs").json()["jobs"]
        assert [job["id"] for job in listed] == [service.job]
        # The cookie is not an API credential (and is scoped to /ui anyway).
        session = {"Cookie": f"breadth_ui={client.cookies['breadth_ui']}"}
        assert httpx.get(f"{service.base}/v1/jobs", headers=session).status_code == 401


def test_wrong_keys_get_the_form_again(service: Service) -> None:
    for key in ("", "bk_nope_nope", "x" * 300):
        answer = httpx.post(f"{service.base}/ui/login", data={"api_key": key})
        assert answer.status_code == 401 and "not valid" in answer.text
        assert "set-cookie" not in answer.headers


def test_a_login_posted_from_another_site_is_refused(service: Service) -> None:
    answer = httpx.post(
        f"{service.base}/ui/login",
        data={"api_key": service.alice},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_after_login_only_the_pages_own_paths_are_followed(service: Service) -> None:
    answer = httpx.post(
        f"{service.base}/ui/login",
        data={"api_key": service.alice, "next": "//evil.example/ui/jobs"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/jobs"


def test_another_tenants_session_cannot_see_the_job(service: Service) -> None:
    with logged_in(service, service.bob) as bob:
        assert bob.get(f"/ui/api/jobs/{service.job}").status_code == 404
        assert bob.get(f"/ui/api/jobs/{service.job}/events").status_code == 404
        assert bob.get(f"/ui/jobs/{service.job}").status_code == 404
        assert bob.get("/ui/api/jobs").json()["jobs"] == []


def ui_secret(service: Service) -> bytes:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        stored = client.get(f"{service.namespace}:ui:secret")
    finally:
        client.close()
    assert isinstance(stored, bytes)
    return stored


def test_forged_expired_and_mismatched_cookies_are_refused(service: Service) -> None:
    with logged_in(service, service.alice):
        pass  # makes sure the service has its signing secret
    secret = ui_secret(service)
    now = int(time.time())
    alice_digest = key_digest(service.alice)
    cookies = {
        "forged": sign_session(b"guessed secret", Session("alice", alice_digest, now + 600)),
        "expired": sign_session(secret, Session("alice", alice_digest, now - 1)),
        # bob's name with alice's key: a session names the key's own tenant or nothing.
        "mismatched": sign_session(secret, Session("bob", alice_digest, now + 600)),
        "unknown key": sign_session(secret, Session("alice", "0" * 64, now + 600)),
    }
    for what, value in cookies.items():
        answer = httpx.get(
            f"{service.base}/ui/api/jobs/{service.job}", headers={"Cookie": f"breadth_ui={value}"}
        )
        assert answer.status_code == 401, what
    valid = sign_session(secret, Session("alice", alice_digest, now + 600))
    answer = httpx.get(
        f"{service.base}/ui/api/jobs/{service.job}", headers={"Cookie": f"breadth_ui={valid}"}
    )
    assert answer.status_code == 200


def test_revoking_the_key_ends_its_sessions(service: Service, tmp_path: Path) -> None:
    import subprocess

    carol = create_key(REDIS_URL, service.namespace, "carol")
    with logged_in(service, carol) as client:
        assert client.get("/ui/api/jobs").status_code == 200
        key_id = carol.split("_")[1]
        revoked = subprocess.run(
            breadth_command(
                "keys", "revoke", key_id, "--redis-url", REDIS_URL, "--namespace", service.namespace
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        assert client.get("/ui/api/jobs").status_code == 401
        assert client.get("/ui/jobs").status_code == 303


def test_logging_out_clears_the_cookie(service: Service) -> None:
    with logged_in(service, service.alice) as client:
        answer = client.post("/ui/logout")
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
        assert (
            'breadth_ui=""' in answer.headers["set-cookie"]
            or "Max-Age=0" in answer.headers["set-cookie"]
        )
        assert client.get("/ui/api/jobs").status_code == 401


def test_the_page_stream_resumes_after_last_event_id(service: Service) -> None:
    with httpx.Client(base_url=service.base) as api:
        created = api.post(
            "/v1/jobs",
            json={"question": "Cancel me", "graph": ONE_CALL},
            headers={"Authorization": f"Bearer {service.alice}"},
        ).json()
        cancelled = api.post(
            f"/v1/jobs/{created['id']}/cancel",
            headers={"Authorization": f"Bearer {service.alice}"},
        )
        assert cancelled.status_code in (200, 202), cancelled.text
    with logged_in(service, service.alice) as client:
        path = f"/ui/api/jobs/{created['id']}/events"
        first = sse_events(client, path, {})
        assert first[0][1] == "job_queued" and first[-1][1] == "end"
        ids = [event_id for event_id, _ in first if event_id]
        after = sse_events(client, path, {"Last-Event-ID": ids[0]})
        assert [event_id for event_id, _ in after if event_id] == ids[1:]
        assert client.get(path, headers={"Last-Event-ID": "nope"}).status_code == 400


def sse_events(
    client: httpx.Client, path: str, headers: dict[str, str]
) -> list[tuple[str | None, str]]:
    """(id, event type) of every event of a finished job's stream, up to ``end``."""
    events: list[tuple[str | None, str]] = []
    with client.stream("GET", path, headers=headers, timeout=20) as answer:
        assert answer.status_code == 200
        event_id: str | None = None
        for line in answer.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                events.append((event_id, line[7:]))
                event_id = None
    return events


def test_static_files_are_public_and_only_from_the_package(service: Service) -> None:
    script = httpx.get(f"{service.base}/ui/static/vendor/cytoscape.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for path in ("/ui/static/../routes.py", "/ui/static/%2e%2e/routes.py", "/ui/static/nope.js"):
        assert httpx.get(f"{service.base}{path}").status_code == 404, path
