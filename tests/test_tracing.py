"""Tracing: the instrumented wrappers record the spans and attributes they promise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel, ConfigDict

from agents.strategies.runtime import run_all
from orchestrator.context import RunContext
from orchestrator.errors import BackendUnavailable, ConfigError, ToolError
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import NodeSpec
from orchestrator.models.factory import build_model
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.ops import JobState, OpRegistry, Strategy, StrategyOutcome
from orchestrator.plan import TaskSpec
from orchestrator.testing import ScriptedModel, ScriptedReply
from orchestrator.tool_calls import ObservedToolbox
from orchestrator.tracing import (
    Conventions,
    InstrumentedReplica,
    ToolSpans,
    export_provider,
    instrument_executor,
    instrument_ops,
    span,
    traces_endpoint,
)
from tests.otlp_receiver import otlp_receiver
from tools.registry import ToolRegistry, tool


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


def test_export_provider_sends_spans_over_otlp_http() -> None:
    with otlp_receiver() as receiver:
        url = traces_endpoint(receiver.endpoint)
        provider = export_provider(url, service_name="breadth-test")
        with span("job", tracer_provider=provider, **{"breadth.job.id": "j1"}):
            pass
        provider.shutdown()  # flushes the batch
    assert [(path, kind) for path, kind, _ in receiver.requests] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    (received,) = receiver.spans()
    assert received.resource["service.name"] == "breadth-test"
    assert received.name == "job" and received.attributes == {"breadth.job.id": "j1"}


# GenAI conventions: which names, and content only when asked for.


def test_the_opt_in_variable_selects_the_latest_names_and_capture_is_separate() -> None:
    assert Conventions.from_env({}) == Conventions(latest=False, capture_content=False)
    latest = Conventions.from_env(
        {"OTEL_SEMCONV_STABILITY_OPT_IN": "http, gen_ai_latest_experimental"}
    )
    assert latest.latest and not latest.records_content
    both = Conventions.from_env(
        {
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "True",
        }
    )
    assert both.records_content
    older = Conventions.from_env({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"})
    assert older.capture_content and not older.records_content


async def test_the_older_conventions_name_the_backend_gen_ai_system(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(
        ScriptedModel(["an answer"]), tracer_provider=provider, conventions=Conventions()
    )
    await model.generate(ask())
    attrs = dict(only(exporter, "chat scripted").attributes or {})
    assert attrs["gen_ai.system"] == "breadth.scripted"
    assert "gen_ai.provider.name" not in attrs
    assert "gen_ai.input.messages" not in attrs


async def test_captured_content_follows_the_latest_message_format(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    conventions = Conventions(latest=True, capture_content=True)
    model = InstrumentedReplica(
        ScriptedModel(["blue light scatters"]), tracer_provider=provider, conventions=conventions
    )
    request = GenerateRequest(
        messages=[
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Why is the sky blue?"),
        ]
    )
    text = "".join([chunk.delta async for chunk in model.stream(request)])
    attrs = dict(only(exporter, "chat scripted").attributes or {})
    assert attrs["gen_ai.provider.name"] == "breadth.scripted"
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Why is the sky blue?"}]}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": "stop",
        }
    ]


async def test_a_stream_records_its_time_to_first_chunk_and_a_generate_does_not(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(
        ScriptedModel({"*": "one two"}, delay=0.01), tracer_provider=provider
    )
    await model.generate(ask())
    async for _chunk in model.stream(ask()):
        pass
    generated, streamed = exporter.get_finished_spans()
    assert "gen_ai.response.time_to_first_chunk" not in (generated.attributes or {})
    first_chunk = (streamed.attributes or {})["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first_chunk, float) and first_chunk >= 0.0


async def test_a_pools_call_is_named_after_the_served_model_not_the_pool(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with SimulatorServer(default_backend("smol-served")) as server:
        pool = build_model([server.base_url])
        assert pool.name == "models"
        model = InstrumentedReplica(
            pool, tracer_provider=provider, conventions=Conventions(latest=True)
        )
        try:
            await model.generate(ask(n=2))
            await model.generate(ask(model="smol-served"))
        finally:
            await model.aclose()
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat smol-served", "chat smol-served"]
    for llm in spans:
        attrs = dict(llm.attributes or {})
        assert attrs["gen_ai.request.model"] == "smol-served"
        assert attrs["gen_ai.response.model"] == "smol-served"
        assert attrs["gen_ai.provider.name"] == "breadth.simulator"
        assert attrs["breadth.replica"] == urlsplit(server.base_url).netloc
    assert dict(spans[0].attributes or {})["gen_ai.request.choice.count"] == 2


# Tool calls, through the observed toolbox's span hook.


@tool
def shout(text: str) -> str:
    """Shout a text back.

    Args:
        text: what to shout.
    """
    if not text:
        raise ToolError("nothing to shout; give a text")
    return text.upper()


async def test_tool_calls_are_execute_tool_spans_and_a_failure_is_an_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tools = ToolRegistry()
    tools.register(shout)
    conventions = Conventions(latest=True, capture_content=True)
    box = ObservedToolbox(
        tools,
        events=None,
        job_id="j1",
        span=ToolSpans(tracer_provider=provider, conventions=conventions),
    )
    assert await box.call("shout", {"text": "hi"}) == "HI"
    with pytest.raises(ToolError, match="nothing to shout"):
        await box.call("shout", {"text": ""})
    ok, failed = exporter.get_finished_spans()
    assert ok.name == failed.name == "execute_tool shout"
    attrs = dict(ok.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "shout"
    assert attrs["gen_ai.tool.description"].startswith("Shout a text back.")
    assert json.loads(str(attrs["gen_ai.tool.call.arguments"])) == {"text": "hi"}
    assert attrs["gen_ai.tool.call.result"] == "HI"
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "ToolError"
    assert "gen_ai.tool.call.result" not in (failed.attributes or {})


# Operator branches: the fan-out hook, and the fan-in's links.


async def test_a_strategys_branches_are_spans_it_links_to_and_errors_stay_in_their_branch(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = InstrumentedReplica(ScriptedModel({"*": "an answer"}), tracer_provider=provider)

    async def sample(index: int) -> str:
        if index == 2:
            raise ValueError("branch 2 broke")
        return (await model.generate(ask(f"path {index}"))).text

    async def fan(branches: Any, params: NoParams, messages: list[ChatMessage]) -> StrategyOutcome:
        answers = await run_all([sample(0), sample(1)])
        await model.generate(ask("judge both"))  # merged directly by the strategy too
        with pytest.raises(ValueError, match="branch 2 broke"):
            await run_all([sample(2)])
        return StrategyOutcome(answer=answers[0], samples=2)

    registry = OpRegistry()
    strategy = Strategy(run=fan, params=NoParams, paper="-", summary="fan out")
    registry.register("fan", unused_op, params=NoParams, strategy=strategy)
    traced = instrument_ops(registry, tracer_provider=provider)
    assert await run_all([sample(1)]) == ["an answer"]  # no observer in scope: no branch span
    exporter.clear()
    outcome = await traced.strategy("fan", where="test").run(None, NoParams(), [])
    assert outcome.answer == "an answer"
    spans = exporter.get_finished_spans()
    fan_span = only(exporter, "strategy fan")
    branches = sorted(
        (s for s in spans if s.name.startswith("fan branch")),
        key=lambda s: s.start_time or 0,
    )
    assert [s.name for s in branches] == ["fan branch 0", "fan branch 1", "fan branch 0"]
    for branch in branches:
        assert branch.parent is not None and branch.parent.span_id == fan_span.context.span_id
        assert (branch.attributes or {})["breadth.operator"] == "fan"
    failed = branches[2]
    assert failed.status.status_code is StatusCode.ERROR
    assert "branch 2 broke" in (failed.status.description or "")
    direct = [
        s
        for s in spans
        if s.name.startswith("chat ") and s.parent and s.parent.span_id == fan_span.context.span_id
    ]
    assert len(direct) == 1
    linked = {link.context.span_id for link in fan_span.links}
    assert linked == {s.context.span_id for s in [*branches, *direct]}
    assert (fan_span.attributes or {})["breadth.strategy.samples"] == 2


async def unused_op(ctx: RunContext, node: Any, params: NoParams, state: JobState) -> JobState:
    return {}


async def test_a_ray_hosted_fleet_names_its_engines_model_and_provider() -> None:
    from orchestrator.models.pool import ModelPool
    from orchestrator.models.protocol import ServedModel, served_model
    from orchestrator.models.ray_replica import RayReplica

    served = ServedModel("Qwen/Qwen2.5-7B-Instruct", "vllm")
    # No actor is made: a replica that could not start still says what it would serve.
    replica = RayReplica("judge-0", startup_error="no GPU", served=served)
    pool = ModelPool([replica], name="judge")
    assert await served_model(pool, ask()) == served
    assert await served_model(pool, ask(model="other")) == ServedModel("other", "vllm")
