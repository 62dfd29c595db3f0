"""A job's trace context crosses every boundary: client → service → queued job → worker.

The user's own span is the root: the client sends it as a W3C ``traceparent``, the
service continues it in its request span and keeps that on the job record, the worker's
job span continues the record's. Real processes (`breadth serve`, `breadth worker`)
export over OTLP/HTTP to a receiver on loopback; the API and `breadth show` give the
trace id and its Jaeger link. In process, every run of a job (a resume too) joins the
job's one trace.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from orchestrator.app import Runtime
from orchestrator.client import AsyncClient
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from orchestrator.trace_context import trace_id_of, trace_url, valid_traceparent
from orchestrator.tracing import Tracing
from tests.conftest import REDIS_URL
from tests.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.service_support import (
    TINY_RESEARCH,
    breadth_command,
    create_key,
    delete_namespace_keys,
    free_port,
    processes,
    serve_args,
    wait_http,
    wait_log,
    worker_args,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparents_ids_and_jaeger_links() -> None:
    assert valid_traceparent(TRACEPARENT.upper()) == TRACEPARENT
    assert trace_id_of(TRACEPARENT) == "4bf92f3577b34da6a3ce929d0e0e4736"
    for bad in (
        None,
        "",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01; rm -rf /",
    ):
        assert valid_traceparent(bad) is None and trace_id_of(bad) is None
    env = {"BREADTH_JAEGER_URL": "http://jaeger.example:16686/"}
    assert trace_url("abc", env) == "http://jaeger.example:16686/trace/abc"
    assert trace_url("abc", {}) is None
    assert trace_url("abc", {"BREADTH_JAEGER_URL": "javascript:alert(1)"}) is None
    assert trace_url(None, env) is None


@pytest.fixture
def memory() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider), exporter
    provider.shutdown()


@pytest.mark.redis
async def test_every_run_of_a_job_joins_its_one_trace_kept_on_the_record(
    memory: tuple[Tracing, InMemorySpanExporter],
    redis_client: aioredis.Redis,
    namespace: str,
) -> None:
    tracing, exporter = memory
    store = RedisStore(redis_client, namespace)
    async with SimulatorServer(default_backend()) as simulator:
        settings = Settings(model_urls=(simulator.base_url,), namespace=namespace)
        async with await Runtime.open(settings, store=store, tracing=tracing) as runtime:
            first = await runtime.research(JobRequest(question="Is 91 prime?", graph="vote"))
            again = await runtime.research(None, resume=first.id)
    assert first.state == again.state == "done"
    stored = await store.get_job(first.id)
    assert stored is not None and stored.traceparent == first.traceparent
    runs = [s for s in exporter.get_finished_spans() if s.name == "invoke_workflow vote"]
    assert len(runs) == 2
    first_run, second_run = sorted(runs, key=lambda s: s.start_time or 0)
    assert first_run.parent is None
    assert trace_id_of(first.traceparent) == format_trace_id(first_run.context.trace_id)
    assert first.traceparent is not None
    assert format_span_id(first_run.context.span_id) in first.traceparent
    # The resumed run continues the job's trace, under its first run.
    assert second_run.context.trace_id == first_run.context.trace_id
    assert second_run.parent is not None
    assert second_run.parent.span_id == first_run.context.span_id
    # `breadth show` gives the trace, linked to Jaeger when BREADTH_JAEGER_URL is set.
    shown = await asyncio.to_thread(
        subprocess.run,
        breadth_command("show", first.id, "--redis-url", REDIS_URL, "--namespace", namespace),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", "BREADTH_JAEGER_URL": "http://127.0.0.1:16686"},
        check=False,
    )
    trace = trace_id_of(first.traceparent)
    assert shown.returncode == 0, shown.stderr
    assert f"trace: {trace} · http://127.0.0.1:16686/trace/{trace}" in shown.stdout


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend("smol-sim")) as sim:
        yield sim


async def spans_when(
    receiver_spans: Callable[[], list[ReceivedSpan]], wanted: set[str], timeout: float = 30.0
) -> list[ReceivedSpan]:
    """The received spans once every name in ``wanted`` is among them (exporters batch)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = receiver_spans()
        if wanted <= {s.name for s in spans}:
            return spans
        assert time.monotonic() < deadline, sorted({s.name for s in spans})
        await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(180)
async def test_a_jobs_trace_runs_from_the_client_through_the_service_to_the_worker(
    simulator: SimulatorServer, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    provider = TracerProvider()
    user_spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(user_spans))
    tracer = provider.get_tracer("the-users-app")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    otel = {"OTEL_BSP_SCHEDULE_DELAY": "100", "BREADTH_JAEGER_URL": "http://jaeger.example:16686"}
    try:
        with otlp_receiver() as receiver, processes(tmp_path) as procs:
            endpoint = ["--otlp-endpoint", receiver.endpoint]
            server = procs.start(
                "serve",
                serve_args(port, redis_url, namespace, "--workers", "0", *endpoint),
                env={**otel, "OTEL_SERVICE_NAME": "breadth-api-test"},
            )
            worker = procs.start(
                "worker",
                worker_args(redis_url, namespace, simulator.base_url, *endpoint),
                env={**otel, "OTEL_SERVICE_NAME": "breadth-worker-test"},
            )
            await wait_http(f"{base}/healthz", server)
            await wait_log(worker, "claiming jobs")
            key = await asyncio.to_thread(create_key, redis_url, namespace, "acme")
            async with AsyncClient(base, api_key=key) as client:
                with tracer.start_as_current_span("the user's request") as user_span:
                    job = await client.jobs.create(
                        "What is a reference cycle?", graph=TINY_RESEARCH
                    )
                done = await asyncio.wait_for(client.jobs.wait(job.id), 120)
            assert done.state == "done", done.error
            user_trace = format_trace_id(user_span.get_span_context().trace_id)
            assert done.trace_id == user_trace
            assert done.trace_url == f"http://jaeger.example:16686/trace/{user_trace}"
            shown = await asyncio.to_thread(
                subprocess.run,
                breadth_command("show", job.id, "--server", base, "--api-key", key),
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "COLUMNS": "200"},
                check=False,
            )
            spans = await spans_when(
                receiver.spans, {"POST /v1/jobs", "invoke_workflow tiny_research"}
            )
        assert shown.returncode == 0, shown.stderr
        assert f"trace: {user_trace} · http://jaeger.example:16686/trace/{user_trace}" in (
            shown.stdout
        )
        assert f"page: {base}/ui/jobs/{job.id}" in shown.stdout
        (post,) = [s for s in spans if s.name == "POST /v1/jobs"]
        (workflow,) = [s for s in spans if s.name == "invoke_workflow tiny_research"]
        assert post.resource["service.name"] == "breadth-api-test"
        assert post.span.kind == post.span.SPAN_KIND_SERVER
        assert post.attributes["http.response.status_code"] == 202
        assert post.span.parent_span_id == user_span.get_span_context().span_id.to_bytes(8, "big")
        assert workflow.resource["service.name"] == "breadth-worker-test"
        assert workflow.span.parent_span_id == post.span.span_id
        job_spans = [s for s in spans if s.resource["service.name"] == "breadth-worker-test"]
        assert len(job_spans) > 5
        assert {s.span.trace_id.hex() for s in [post, *job_spans]} == {user_trace}
        # Probes and event streams are not traced.
        assert not [s for s in spans if s.name.startswith("GET /healthz")]
    finally:
        provider.shutdown()
        delete_namespace_keys(redis_url, namespace)


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(240)
async def test_tasks_on_ray_continue_the_jobs_trace_in_their_workers(
    ray_cluster: str,
    simulator: SimulatorServer,
    redis_client: aioredis.Redis,
    redis_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Ray workers started before this: they keep the default name of task processes.
    monkeypatch.setenv("OTEL_SERVICE_NAME", "breadth-driver")
    with otlp_receiver() as receiver:
        settings = Settings(
            model_urls=(simulator.base_url,),
            redis_url=redis_url,
            namespace=namespace,
            executor="ray",
            ray_address=ray_cluster,
            otlp_endpoint=receiver.endpoint,
        )
        store = RedisStore(redis_client, namespace)
        async with await Runtime.open(settings, store=store) as runtime:
            record = await runtime.research(JobRequest(question="What is a reference cycle?"))
        spans = receiver.spans()  # the workers flush after each task, the driver on close
    assert record.state == "done", record.error
    driver = [s for s in spans if s.resource["service.name"] == "breadth-driver"]
    workers = [s for s in spans if s.resource["service.name"] == "breadth-tasks"]
    assert len({s.span.trace_id for s in spans}) == 1
    assert trace_id_of(record.traceparent) == spans[0].span.trace_id.hex()
    tasks = [s for s in driver if s.name.startswith("task ")]
    assert len(tasks) == record.tasks_total >= 1
    assert {s.attributes["breadth.executor"] for s in tasks} == {"ray"}
    # Each task's subagent span (in the driver) is the parent of its calls in a worker.
    subagents = {
        s.span.span_id: s
        for s in driver
        if s.name == "invoke_agent researcher"
        and any(s.span.parent_span_id == t.span.span_id for t in tasks)
    }
    assert len(subagents) == len(tasks)
    remote_calls = [s for s in workers if s.span.parent_span_id in subagents]
    assert {s.name for s in remote_calls} >= {"chat smol-sim", "execute_tool search"}
    assert {s.span.parent_span_id for s in remote_calls} == set(subagents)
    assert not [
        s
        for s in driver
        if s.name.startswith(("chat ", "execute_tool ")) and s.span.parent_span_id in subagents
    ]
