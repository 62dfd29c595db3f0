"""The live DAG page in a real browser (Debian's chromium, driven by Playwright), against a
real `breadth serve` running a job on the simulator.

The user logs in with an API key, submits a job and opens its page: the page shows as
many task nodes as the plan has, their states change while the job runs, a task's
branches expand, and the report appears when the job ends. A screenshot is saved in the
test's tmp dir. Nothing the model or the user wrote runs as script on the page. The
browser runs on its own thread (``tests.browser_support``): each test hands it its steps.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import LatencyModel, SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store import keys
from orchestrator.store.redis_store import RedisStore
from tests.browser_support import BrowserThread
from tests.conftest import REDIS_URL
from tests.service_support import (
    TINY_RESEARCH,
    Processes,
    breadth_command,
    create_key,
    delete_namespace_keys,
    free_port,
    serve_args,
    wait_http_sync,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]

# Slow enough that each task runs for a second or two: the page must see it running.
LATENCY = LatencyModel(decode_s_per_token=0.05, prefill_s_per_token=0.001)
QUESTION = 'What is a <img src=x onerror="window.__pwned=1"> reference cycle?'


@contextmanager
def simulator_thread(latency: LatencyModel) -> Iterator[str]:
    """The simulator on loopback, in a thread of its own (these tests are synchronous)."""
    ready = threading.Event()
    stop = threading.Event()
    found: dict[str, str] = {}

    async def serve() -> None:
        async with SimulatorServer(default_backend("smol-sim"), latency=latency) as server:
            found["url"] = server.base_url
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "the simulator did not start"
        yield found["url"]
    finally:
        stop.set()
        thread.join(30)


@dataclass
class LiveService:
    base: str
    key: str
    namespace: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """`breadth serve` (one in-process worker) on Redis, its model the slow simulator."""
    folder = tmp_path_factory.mktemp("live-page")
    namespace = f"breadth-test-page-{folder.name[-8:]}".replace("_", "-")
    procs = Processes(folder)
    try:
        with simulator_thread(LATENCY) as model_url:
            key = create_key(REDIS_URL, namespace, "acme")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = procs.start(
                "serve", serve_args(port, REDIS_URL, namespace, "--model-url", model_url)
            )
            wait_http_sync(f"{base}/readyz", server)  # its in-process worker heartbeats
            yield LiveService(base, key, namespace)
    finally:
        procs.stop_all()
        delete_namespace_keys(REDIS_URL, namespace)


@contextmanager
def logged_in_page(browser: Any, live: LiveService) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser context, logged in as a user would: the page sends us to the
    form, the key opens it. Yields the page and the script errors it reports."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live.base}/ui/jobs")
        assert page.url == f"{live.base}/ui/login?next=/ui/jobs"
        page.fill("#api_key", live.key)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.base}/ui/jobs")
        yield page, errors
    finally:
        context.close()


@pytest.mark.timeout(240)
def test_the_live_page_follows_a_job_from_plan_to_report(
    browser: BrowserThread, live: LiveService, tmp_path: Path
) -> None:
    base, auth = live.base, {"Authorization": f"Bearer {live.key}"}

    def steps(chromium: Any) -> None:
        with logged_in_page(chromium, live) as (page, errors):
            created = httpx.post(
                f"{base}/v1/jobs",
                json={"question": QUESTION, "graph": TINY_RESEARCH},
                headers=auth,
            )
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            page.goto(f"{base}/ui/jobs/{job_id}")

            # While it runs: a task is running, the others wait or are done.
            page.wait_for_selector("#tasks tr[data-state=running]", timeout=60_000)
            running = task_states(page)
            assert "running" in running.values()
            page.wait_for_function(
                "() => document.getElementById('job-state').dataset.state === 'done'"
                " && !document.getElementById('report').hidden",
                timeout=120_000,
            )
            done = task_states(page)
            job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth).json()

            # As many task nodes as the plan has, all done now.
            assert job["state"] == "done" and job["tasks_total"] >= 1
            assert len(done) == job["tasks_total"] == task_nodes(page)
            assert set(done.values()) == {"done"} and set(running) <= set(done)

            # The report, rendered from the job's Markdown.
            report = page.inner_text("#report")
            headings = [
                line.lstrip("#").strip()
                for line in job["report"].splitlines()
                if line.startswith("#")
            ]
            assert headings and all(heading in report for heading in headings)

            # A task's branches expand under it.
            toggle = page.locator("button.toggle").first
            count = int(re.sub(r"\D", "", toggle.inner_text()))
            toggle.click()
            page.wait_for_function(
                f"() => window.breadthDag.cy.nodes('.branch').length === {count}",
                timeout=10_000,
            )
            assert page.locator("#branch-list li").count() == count

            # What the user wrote stays text.
            assert page.inner_text("#question") == QUESTION
            assert page.evaluate("() => window.__pwned") is None
            assert errors == []

            shot = tmp_path / "live-page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # The job list links to it.
            page.goto(f"{base}/ui/jobs")
            page.wait_for_selector(f'#jobs tr[data-job-id="{job_id}"]', timeout=10_000)

    browser.run(steps)


@pytest.mark.timeout(120)
def test_a_resumed_jobs_tasks_show_as_reused(browser: BrowserThread, live: LiveService) -> None:
    """A job run twice (the second run a resume): every task of the second run is reused."""
    job_id = asyncio.run(run_twice(keys.tenant_namespace(live.namespace, "acme")))

    def steps(chromium: Any) -> dict[str, str]:
        with logged_in_page(chromium, live) as (page, errors):
            page.goto(f"{live.base}/ui/jobs/{job_id}")
            page.wait_for_function(
                "() => document.getElementById('live').dataset.live === 'ended'"
                " && document.querySelectorAll('#tasks tbody tr').length > 0",
                timeout=30_000,
            )
            states = task_states(page)
            assert task_nodes(page) == len(states)
            assert errors == []
            return states

    states = browser.run(steps)
    assert set(states.values()) == {"reused"}, states


async def run_twice(namespace: str) -> str:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        store = RedisStore(client, namespace)
        settings = Settings(namespace=namespace)
        async with await Runtime.open(settings, store=store, model=default_backend()) as runtime:
            first = await runtime.research(
                JobRequest(question="What is a reference cycle?", graph="deep_research")
            )
            again = await runtime.research(None, resume=first.id)
    finally:
        await client.aclose()
    assert first.state == again.state == "done" and first.tasks_total >= 1
    return first.id


@pytest.mark.timeout(120)
def test_research_against_the_server_prints_the_pages_url(live: LiveService) -> None:
    done = subprocess.run(
        breadth_command(
            "research",
            "What is a reference cycle?",
            "--graph",
            "deep_research",
            "--server",
            live.base,
            "--api-key",
            live.key,
        ),
        capture_output=True,
        text=True,
        timeout=110,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    job_id = done.stderr.split("job ", 1)[1].split()[0]
    assert f"watch it: {live.base}/ui/jobs/{job_id}" in done.stderr


def task_states(page: Any) -> dict[str, str]:
    states: dict[str, str] = page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('#tasks tbody tr'))"
        ".map(row => [row.dataset.taskId, row.dataset.state]))"
    )
    return states


def task_nodes(page: Any) -> int:
    count: int = page.evaluate("() => window.breadthDag.cy.nodes('.task').length")
    return count
