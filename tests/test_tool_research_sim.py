"""The evidence run: a deep-research job on the simulator whose researchers fetch pages of a
loopback site (reached through a test-only allowlist) and run python, and whose report
cites the fetched pages. Then the job is replayed from its recorded calls with the site
and the simulator gone, reproducing the report byte for byte; and with --cache a second
run of the same job asks the model nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime
from orchestrator.cache import NoModel
from orchestrator.errors import ReplayMismatch
from orchestrator.events import Event
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.protocol import Replica
from orchestrator.models.sim_tools import tool_research_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from tests.loopback import serve_loopback
from tests.web_site import site

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


async def run(
    settings: Settings, store: RedisStore, request: JobRequest, model: Replica | None = None
) -> JobRecord:
    async with await Runtime.open(settings, store=store, model=model) as runtime:
        return await runtime.research(request)


async def events_of(store: RedisStore, job_id: str) -> list[Event]:
    return [event for _, event in await store.read_events(job_id)]


def tool_calls(events: Sequence[Event], tool: str) -> list[Event]:
    return [e for e in events if e.type == "execute_tool" and e.data["tool"] == tool]


async def test_researchers_fetch_and_compute_and_the_report_cites_fetched_pages_then_replays(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_client, namespace)
    hosts: list[str] = []
    async with serve_loopback(site(hosts)) as port, SimulatorServer(tool_research_backend()) as sim:
        base = f"http://127.0.0.1:{port}"
        question = f"What do {base}/guide and {base}/ports say about loopback and ports?"
        request = JobRequest(question=question, graph="web_research")
        settings = Settings(
            model_urls=(sim.base_url,), namespace=namespace, fetch_allow=(f"127.0.0.1:{port}",)
        )
        record = await run(settings, store, request)
        model_requests = sim.stats.requests
    assert record.state == "done", record.error
    events = await events_of(store, record.id)
    fetches = tool_calls(events, "fetch")
    assert fetches and all(e.data["status"] == "ok" for e in fetches)
    assert {f"127.0.0.1:{port}"} == set(hosts)
    pythons = tool_calls(events, "python")
    assert pythons and all(e.data["status"] == "ok" for e in pythons)
    assert all(e.task_id is not None for e in fetches + pythons)
    report = record.report or ""
    guide_id = f"web/127.0.0.1-{port}/guide"
    # The report cites fetched pages (which of them depends on the order tasks finish in).
    assert f"web/127.0.0.1-{port}/" in report.split("## Sources", 1)[1]
    results = await store.list_results(record.id)
    findings = [f for r in results.values() for f in (r.output or {}).get("findings", [])]
    assert any(guide_id in f["source_ids"] for f in findings)
    assert any("loopback interface" in f["claim"] for f in findings)

    # Replay: the site and the simulator are gone; every call comes from the recording.
    replay_settings = Settings(namespace=namespace, replay_of=record.id)
    replayed = await run(replay_settings, store, request, model=NoModel())
    assert replayed.state == "done", replayed.error
    assert replayed.id != record.id
    assert replayed.report == record.report  # byte for byte
    replay_events = await events_of(store, replayed.id)
    assert len(tool_calls(replay_events, "fetch")) == len(fetches)
    assert model_requests > 0


async def test_a_replay_of_a_different_job_names_the_missing_call(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_client, namespace)
    async with SimulatorServer(tool_research_backend()) as sim:
        settings = Settings(model_urls=(sim.base_url,), namespace=namespace)
        record = await run(settings, store, JobRequest(question="How do generators work?"))
    assert record.state == "done", record.error
    other = JobRequest(question="How do coroutines work?")
    replayed = await run(
        Settings(namespace=namespace, replay_of=record.id), store, other, NoModel()
    )
    assert replayed.state == "failed"
    assert "never made this call" in (replayed.error or "")
    assert "How do coroutines work?" in (replayed.error or "")
    assert ReplayMismatch.__name__  # the error type the message comes from


async def test_with_cache_a_second_run_asks_the_model_nothing(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_client, namespace)
    request = JobRequest(question="How do context managers work?")
    async with SimulatorServer(tool_research_backend()) as sim:
        settings = Settings(
            model_urls=(sim.base_url,), namespace=namespace, cache=True, cache_sampled=True
        )
        first = await run(settings, store, request)
        asked = sim.stats.requests
        second = await run(settings, store, request)
        assert sim.stats.requests == asked  # every call answered from the cache
        # Without --cache-sampled, sampled calls without a seed go to the model again.
        unsampled = settings.model_copy(update={"cache_sampled": False})
        await run(unsampled, store, request)
        assert sim.stats.requests > asked
    assert first.state == second.state == "done"
    assert second.report == first.report
