"""Traces as a user gets them: real jobs on the simulator, exported over real OTLP/HTTP.

The runtime is opened from settings, as the CLI does; its spans go to a receiver on
loopback that decodes the protobuf. The standard ``OTEL_*`` variables configure it
(service name, sampler, semantic conventions), and bad ones are refused up front.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime
from orchestrator.errors import ConfigError
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from orchestrator.tracing import open_tracing, traces_url
from tests.otlp_receiver import ReceivedSpan, otlp_receiver

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]

QUESTION = "How does Python's garbage collector handle reference cycles?"


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend("smol-sim")) as server:
        yield server


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "corpus"
    docs.mkdir()
    (docs / "gc.md").write_text(
        "# Garbage collection\n\nCPython frees most objects by reference counting. A cyclic "
        "garbage collector finds reference cycles that counting cannot free, in generations.\n"
    )
    return docs


@pytest.fixture
def opted_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "breadth-under-test")


async def run_job(
    request: JobRequest, settings: Settings, redis_client: aioredis.Redis, namespace: str
) -> JobRecord:
    store = RedisStore(redis_client, namespace)
    async with await Runtime.open(settings, store=store) as runtime:
        record = await runtime.research(request)
    return record  # closing the runtime flushed its spans to the receiver


def children(parent: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.span.parent_span_id == parent.span.span_id]


def only(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


@pytest.mark.usefixtures("opted_in")
async def test_a_research_jobs_trace_arrives_over_otlp_http_as_one_genai_tree(
    simulator: SimulatorServer, corpus: Path, redis_client: aioredis.Redis, namespace: str
) -> None:
    with otlp_receiver() as receiver:
        settings = Settings(
            model_urls=(simulator.base_url,), namespace=namespace, otlp_endpoint=receiver.endpoint
        )
        request = JobRequest(question=QUESTION, corpus=str(corpus))
        record = await run_job(request, settings, redis_client, namespace)
    assert record.state == "done", record.error
    assert {(path, kind) for path, kind, _ in receiver.requests} == {
        ("/v1/traces", "application/x-protobuf")
    }
    spans = receiver.spans()
    assert {s.resource["service.name"] for s in spans} == {"breadth-under-test"}
    assert len({s.span.trace_id for s in spans}) == 1

    workflow = only(spans, "invoke_workflow deep_research")
    assert workflow.span.parent_span_id == b""
    assert workflow.attributes["breadth.job.id"] == record.id
    nodes = sorted(children(workflow, spans), key=lambda s: s.span.start_time_unix_nano)
    assert [n.name for n in nodes] == [
        "invoke_agent planner",
        "invoke_agent researcher",
        "invoke_agent writer",
    ]
    planner, research, writer = nodes
    tasks = [s for s in children(research, spans) if s.name.startswith("task ")]
    assert len(tasks) == record.tasks_total >= 1
    # The writer (synthesize) merges the DAG: it links to every task span.
    assert {link.span_id for link in writer.span.links} == {t.span.span_id for t in tasks}
    for task in tasks:
        (subagent,) = children(task, spans)
        assert subagent.name == "invoke_agent researcher"
        calls = {s.name for s in children(subagent, spans)}
        assert "chat smol-sim" in calls and "execute_tool search" in calls

    chats = [s for s in spans if s.name.startswith("chat ")]
    assert {s.name for s in chats} == {"chat smol-sim"}  # the served name, never "models"
    for chat in chats:
        assert chat.span.kind == chat.span.SPAN_KIND_CLIENT
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "smol-sim"
        assert chat.attributes["gen_ai.provider.name"] == "breadth.simulator"
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        assert chat.attributes["gen_ai.request.choice.count"] >= 1
    assert len(children(planner, spans)) >= 1  # the plan's model call


@pytest.mark.usefixtures("opted_in")
async def test_a_debates_rounds_are_branch_spans_its_node_links_to(
    simulator: SimulatorServer, redis_client: aioredis.Redis, namespace: str
) -> None:
    with otlp_receiver() as receiver:
        settings = Settings(
            model_urls=(simulator.base_url,), namespace=namespace, otlp_endpoint=receiver.endpoint
        )
        request = JobRequest(question="Is 91 a prime number?", graph="debate")
        record = await run_job(request, settings, redis_client, namespace)
    assert record.state == "done", record.error
    spans = receiver.spans()
    node = only(spans, "invoke_agent debater")
    branches = [s for s in children(node, spans) if s.name.startswith("debate branch ")]
    assert len(branches) >= 3  # the first round: one branch per agent
    assert {b.attributes["breadth.operator"] for b in branches} == {"debate"}
    for branch in branches:
        assert any(c.name == "chat smol-sim" for c in children(branch, spans))
    linked = {link.span_id for link in node.span.links}
    assert {b.span.span_id for b in branches} <= linked
    assert all(
        {(a.key, a.value.string_value) for a in link.attributes} == {("breadth.link", "merged")}
        for link in node.span.links
    )


async def test_the_sampler_comes_from_otel_traces_sampler(
    simulator: SimulatorServer,
    redis_client: aioredis.Redis,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    with otlp_receiver() as receiver:
        settings = Settings(
            model_urls=(simulator.base_url,), namespace=namespace, otlp_endpoint=receiver.endpoint
        )
        request = JobRequest(question="Is 91 a prime number?", graph="vote")
        record = await run_job(request, settings, redis_client, namespace)
    assert record.state == "done", record.error
    assert receiver.spans() == []


def test_settings_from_the_standard_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom/traces")
    settings = Settings.from_env()
    assert settings.traced
    # The traces URL is used as is; the base URL gets /v1/traces.
    assert traces_url(settings.otlp_endpoint, settings.otlp_traces_endpoint) == (
        "http://collector:4318/custom/traces"
    )
    assert traces_url("http://jaeger:4318", None) == "http://jaeger:4318/v1/traces"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not Settings.from_env().traced
    assert Settings.from_env(otlp_endpoint="http://jaeger:4318").traced  # a flag still wins
    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not Settings.from_env().traced
    assert open_tracing(Settings()) is None


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "=http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "console", "OTEL_TRACES_EXPORTER=otlp"),
    ],
)
def test_otel_settings_breadth_cannot_honour_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fix: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}={value!r}.*{fix}"):
        open_tracing(Settings(otlp_endpoint="http://127.0.0.1:9"))
