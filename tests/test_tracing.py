"""Tracing: the instrumented wrappers record the spans and attributes they promise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, cast

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel, ConfigDict

from orchestrator.context import RunContext
from orchestrator.errors import BackendUnavailable, ConfigError
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import JobState, OpRegistry
from orchestrator.plan import TaskSpec
from orchestrator.testing import ScriptedModel, ScriptedReply
from orchestrator.tracing import (
    InstrumentedReplica,
    instrument_executor,
    instrument_ops,
    export_provider,
    span,
    traces_endpoint,
)


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
def exporter(provider: TracerProvider) -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


def ask(text: str = "Why is the sky blue?", **settings: Any) -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage(role="user", content=text)], **settings)


def only(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans() if s.name == name]
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


async def test_generate_records_a_gen_ai_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    inner = ScriptedModel(["rayleigh scattering", ScriptedReply("cut off", finish_reason="length")])
    model = InstrumentedReplica(inner, tracer_provider=provider)
    completion = await model.generate(ask(model="small", n=2, max_tokens=64, seed=7))
    assert model.name == "scripted"
    llm = only(exporter, "chat small")
    attrs = dict(llm.attributes or {})
    assert llm.kind is SpanKind.CLIENT
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "small"
    assert attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens > 0
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert attrs["breadth.replica"] == "scripted"
    assert "gen_ai.request.stop_sequences" not in attrs  # None values are left out
    assert llm.status.status_code is StatusCode.UNSET


async def test_stream_records_usage_and_leaves_the_callers_context_alone(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(ScriptedModel(["one two three"]), tracer_provider=provider)
    with span("caller", tracer_provider=provider) as caller:
        text = ""
        async for chunk in model.stream(ask(max_tokens=16)):
            assert trace.get_current_span() is caller
            text += chunk.delta
    assert text == "one two three"
    llm = only(exporter, "chat scripted")
    attrs = dict(llm.attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert llm.parent is not None and llm.parent.span_id == caller.get_span_context().span_id


async def test_a_stream_abandoned_midway_still_ends_its_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(ScriptedModel(["one two three"]), tracer_provider=provider)
    chunks = model.stream(ask())
    async for _chunk in chunks:
        break
    await chunks.aclose()  # type: ignore[attr-defined]
    llm = only(exporter, "chat scripted")
    assert "gen_ai.usage.output_tokens" not in (llm.attributes or {})


async def test_a_failed_call_records_the_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(ScriptedModel(["never"], fail_first=2), tracer_provider=provider)
    with pytest.raises(BackendUnavailable):
        await model.generate(ask())
    with pytest.raises(BackendUnavailable):
        async for _chunk in model.stream(ask()):
            pass
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat scripted", "chat scripted"]
    for failed in spans:
        assert failed.status.status_code is StatusCode.ERROR
        assert "injected failure" in (failed.status.description or "")
        assert (failed.attributes or {})["error.type"] == "BackendUnavailable"
        assert [event.name for event in failed.events] == ["exception"]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def test_job_node_task_and_llm_spans_nest(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(ScriptedModel({"*": "an answer"}), tracer_provider=provider)
    executor = instrument_executor(LocalExecutor(), tracer_provider=provider)

    async def run_task(task: TaskSpec) -> str:
        return (await model.generate(ask(task.description))).text

    async def research(ctx: RunContext, node: Any, params: NoParams, state: JobState) -> JobState:
        task = TaskSpec(id="t1", kind="research", description="sub-question")
        return {"answer": await executor.submit(run_task, task)}

    registry = OpRegistry()
    registry.register("research", research, params=NoParams, doc="answers sub-questions")
    traced = instrument_ops(registry, tracer_provider=provider)
    assert traced.names() == ["research"] and traced.doc("research") == "answers sub-questions"
    ctx = cast(RunContext, SimpleNamespace(job_id="job-1"))  # the op wrapper reads job_id
    try:
        with span("job", tracer_provider=provider, **{"breadth.job.id": "job-1"}):
            state = await traced.get("research")(ctx, NodeSpec(op="research"), {})
    finally:
        await executor.aclose()
    assert state == {"answer": "an answer"}
    job, node = only(exporter, "job"), only(exporter, "node research")
    task, llm = only(exporter, "task t1"), only(exporter, "chat scripted")
    for child, parent in ((node, job), (task, node), (llm, task)):
        assert child.parent is not None
        assert child.parent.span_id == parent.context.span_id
    assert len({s.context.trace_id for s in (job, node, task, llm)}) == 1
    assert dict(job.attributes or {}) == {"breadth.job.id": "job-1"}
    assert dict(node.attributes or {})["breadth.job.id"] == "job-1"
    task_attrs = dict(task.attributes or {})
    assert task_attrs["breadth.task.id"] == "t1"
    assert task_attrs["breadth.task.kind"] == "research"
    assert task_attrs["breadth.executor"] == "local"
    assert str(task_attrs["code.function"]).endswith("run_task")


async def test_a_failed_task_records_the_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    executor = instrument_executor(LocalExecutor(), tracer_provider=provider)

    async def broken() -> None:
        raise ValueError("bad input 42")

    try:
        with pytest.raises(ValueError, match="bad input 42"):
            await executor.submit(broken)
    finally:
        await executor.aclose()
    failed = only(exporter, "task broken")
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "ValueError"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://localhost:4318", "http://localhost:4318/v1/traces"),
        ("http://jaeger:4318/", "http://jaeger:4318/v1/traces"),
        ("https://collector.example/otlp/v1/traces", "https://collector.example/otlp/v1/traces"),
    ],
)
def test_traces_endpoint_adds_the_otlp_path(given: str, url: str) -> None:
    assert traces_endpoint(given) == url


@pytest.mark.parametrize("bad", ["localhost:4318", "grpc://jaeger:4317", "http://"])
def test_a_bad_endpoint_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="--otlp-endpoint http://localhost:4318"):
        traces_endpoint(bad)


class _Collector(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector that keeps what it receives."""

    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_setup_tracing_exports_spans_over_otlp_http() -> None:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        provider = export_provider(traces_endpoint(endpoint), service_name="breadth-test")
        with span("job", tracer_provider=provider, **{"breadth.job.id": "j1"}):
            pass
        provider.shutdown()  # flushes the batch
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    export = ExportTraceServiceRequest()
    export.ParseFromString(received[0][2])
    (resource_spans,) = export.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "breadth-test"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names == ["job"]
