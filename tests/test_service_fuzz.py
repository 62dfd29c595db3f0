"""Hypothesis against a live `breadth serve`: any body, header or query gets 2xx or 4xx,
never a 5xx (and never a traceback). Bounded examples, so it runs in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REDIS_URL
from tests.service_support import (
    Processes,
    create_key,
    delete_namespace_keys,
    free_port,
    serve_args,
    wait_http_sync,
)

pytestmark = pytest.mark.redis
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "question": st.text(max_size=60) | json_values,
    "graph": st.sampled_from(["deep_research", "vote", "nope", "a: [", "name: x\nnodes: {}"])
    | st.text(max_size=80)
    | json_values,
    "corpus": st.none() | st.text(max_size=20) | json_values,
    "budgets": st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "max_tokens": st.integers(-5, 10**12) | json_values,
            "concurrency": st.integers(-5, 20000),
            "deadline_s": st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
            "colour": json_values,
        },
    )
    | json_values,
    "metadata": st.dictionaries(st.text(max_size=70), st.text(max_size=30), max_size=4)
    | json_values,
    "extra": json_values,
}
bodies = st.fixed_dictionaries({}, optional=field_values) | json_values
# Header values as h11 lets a client send them (no leading or trailing blanks).
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
    str.strip
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    namespace = f"breadth-test-fuzz-{folder.name[-6:]}".replace("_", "-")
    procs = Processes(Path(folder))
    try:
        key = create_key(REDIS_URL, namespace, "fuzzer", "--max-concurrent-jobs", "1000")
        port = free_port()
        server = procs.start("serve", serve_args(port, REDIS_URL, namespace, "--workers", "0"))
        base = f"http://127.0.0.1:{port}"
        wait_http_sync(f"{base}/healthz", server)
        yield base, key
    finally:
        procs.stop_all()
        delete_namespace_keys(REDIS_URL, namespace)


def _check(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text
    assert "Traceback" not in answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"]


@pytest.mark.timeout(120)
@FUZZ
@given(body=bodies, idempotency=st.none() | header_text, raw=st.booleans())
def test_job_submissions_never_get_a_5xx(
    live: tuple[str, str], body: Any, idempotency: str | None, raw: bool
) -> None:
    base, key = live
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    if raw:  # the same bytes, cut short: malformed JSON
        content = json.dumps(body).encode()[:-1]
        headers["Content-Type"] = "application/json"
        answer = httpx.post(f"{base}/v1/jobs", content=content, headers=headers, timeout=30)
    else:
        answer = httpx.post(f"{base}/v1/jobs", json=body, headers=headers, timeout=30)
    _check(answer)


@pytest.mark.timeout(120)
@FUZZ
@given(
    authorization=st.none() | header_text,
    last_event_id=st.none() | header_text,
    path=st.sampled_from(["", "/abc", "/abc/events", "/abc/report", "/abc/cancel", "/%00"]),
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
    query=st.dictionaries(
        st.sampled_from(["state", "limit", "cursor", "x"]), header_text, max_size=3
    ),
)
def test_any_request_to_the_jobs_routes_gets_2xx_or_4xx(
    live: tuple[str, str],
    authorization: str | None,
    last_event_id: str | None,
    path: str,
    method: str,
    query: dict[str, str],
) -> None:
    base, key = live
    headers = {"Authorization": authorization if authorization is not None else f"Bearer {key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    answer = httpx.request(
        method, f"{base}/v1/jobs{path}", headers=headers, params=query, timeout=30
    )
    _check(answer)


@pytest.mark.timeout(120)
@FUZZ
@given(body=st.fixed_dictionaries({}, optional={"yaml": st.text(max_size=200)}) | json_values)
def test_graph_validation_never_gets_a_5xx(live: tuple[str, str], body: Any) -> None:
    base, key = live
    answer = httpx.post(
        f"{base}/v1/graphs/validate",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    _check(answer)
