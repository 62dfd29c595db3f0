"""Shared fixtures: the real-model guard, a real Redis server, per-test key prefixes and
one real browser for the whole session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.models import guard
from tests.browser_support import BrowserThread

REDIS_URL = os.environ.get("BREADTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Debian's chromium (`.ci/run` installs it); never Playwright's own download.
CHROMIUM = os.environ.get("BREADTH_TEST_CHROMIUM") or shutil.which("chromium") or ""


@pytest.fixture(autouse=True)
def _real_model_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Block real model calls unless the test is marked ``real_model``."""
    allowed = request.node.get_closest_marker("real_model") is not None
    with guard.real_models_blocked(not allowed):
        yield


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def namespace() -> str:
    """A key prefix of this test's own; the test's keys are deleted afterwards."""
    return f"breadth-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis_client(redis_url: str, namespace: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the real Redis server; deletes every key under ``namespace`` afterwards."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(
            f"no Redis server answers at {redis_url!r} ({exc}); start one "
            f"(`redis-server --port 6379 --save '' --daemonize yes`) or set BREADTH_TEST_REDIS_URL"
        )
    yield client
    async for key in client.scan_iter(match=f"{namespace}*", count=500):
        await client.delete(key)
    await client.aclose()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """ONE local Ray for the whole session, started by the first test that asks for it.

    ``ray.init(num_cpus=2, include_dashboard=False)``: a local Ray picks free ports, never
    Redis's 6379 (checked). Its workers import this checkout's ``tests`` package, so test
    modules' functions can be shipped to them. Yields the GCS address.
    """
    import ray  # the dev extra installs it (`bash infra/setup.sh dev`)

    root = str(Path(__file__).resolve().parents[1])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    address = str(ray.get_runtime_context().gcs_address)
    assert not address.endswith(":6379"), f"Ray took Redis's port: {address}"
    yield address
    ray.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[BrowserThread]:
    """One headless chromium for the whole test session, driven by Playwright on a thread
    of its own: ``browser.run(steps)`` runs ``steps(playwright_browser)`` there."""
    if not CHROMIUM:
        pytest.skip("no chromium to drive: `apt-get install chromium` (.ci/run installs it)")
    thread = BrowserThread(CHROMIUM)
    try:
        yield thread
    finally:
        thread.close()
