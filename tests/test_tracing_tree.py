"""The span tree of a job: workflow → node → task → agent / branch → model and tool calls.

A planned DAG of research, tool and operator tasks (on the scripted model) runs on a
traced context: instrumented model, executor, op registry and toolbox, inside the job's
``invoke_workflow`` span. The in-memory exporter then shows the whole tree, the GenAI
attributes, and the links of the spans that merge branches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ConfigDict

from orchestrator.app import builtin_ops
from orchestrator.context import RunContext
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.protocol import GenerateRequest
from orchestrator.ops import JobState
from orchestrator.testing import ScriptedModel
from orchestrator.tool_calls import ObservedToolbox
from orchestrator.tracing import Conventions, Tracing
from tests.support import make_context
from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.registry import tool

CORPUS = Corpus(
    [Document("ints", "Integers", "Python integers have arbitrary precision.")],
)

PLAN = [
    {"id": "facts", "question": "How big can Python integers get?", "kind": "research"},
    {
        "id": "sum",
        "question": "What is two plus three?",
        "kind": "tool",
        "tool": "add",
        "arguments": {"a": 2},
    },
    {
        "id": "check",
        "question": "Is five the right total?",
        "kind": "operator",
        "op": "vote",
        "depends_on": ["sum", "facts"],
    },
]


@tool
def add(a: int, b: int = 3) -> int:
    """Add two integers.

    Args:
        a: the first number.
        b: the second number.
    """
    return a + b


def script(request: GenerateRequest, index: int) -> str:
    schema = request.json_schema
    if schema is not None and schema.get("title") == "ResearchPlan":
        return json.dumps({"subquestions": PLAN})
    if schema is not None and schema.get("title") == "ResearchStep":
        finding = {"claim": "Python integers have arbitrary precision.", "source_ids": ["ints"]}
        return json.dumps({"thought": "ok", "tool_calls": [], "findings": [finding], "done": True})
    return "the answer is 5"


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def merge(ctx: RunContext, node: Any, params: NoParams, state: JobState) -> JobState:
    """A node after the DAG (like ``synthesize``): it merges the tasks' results."""
    return {"merged": sorted(state["results"])}


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def graph() -> GraphSpec:
    return GraphSpec(
        name="kinds",
        agents={"lead": AgentSpec(), "researcher": AgentSpec(tools=["search", "read"])},
        nodes={
            "plan": NodeSpec(op="plan", agent="lead", params={"max_subquestions": 3}),
            "research": NodeSpec(op="research", agent="researcher"),
            "merge": NodeSpec(op="merge"),
        },
    )


async def run_traced_job(tracing: Tracing) -> tuple[JobState, ScriptedModel]:
    model = ScriptedModel(script)
    tools = corpus_tools(CORPUS)
    tools.register(add)
    registry = builtin_ops()
    registry.register("merge", merge, params=NoParams)
    spec = graph()
    ctx, log = make_context(tracing.model(model), graph=spec, ops=tracing.ops(registry))
    ctx.executor = tracing.executor(LocalExecutor())
    ctx.tools = ObservedToolbox(tools, events=log, job_id=ctx.job_id, span=tracing.tool_spans())
    plan_params = {
        "max_subquestions": 3,
        "tools": ["add"],
        "operators": [{"op": "vote", "params": {"n": 3, "extract": "last_number"}}],
    }
    spec.nodes["plan"].params.update(plan_params)
    state: JobState = {"question": "How do Python numbers add up?"}
    try:
        with tracing.job(ctx.job_id, spec.name, "kinds.yaml"):
            for name in ("plan", "research", "merge"):
                node = spec.nodes[name]
                state |= await ctx.ops.get(node.op)(ctx, node, state)
    finally:
        await ctx.executor.aclose()
    return state, model


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = by_name(spans, name)
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


def parent_of(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    assert span.parent is not None, span.name
    (parent,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return parent


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_job_is_one_tree_with_genai_spans_and_merge_links(
    exporter: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = exporter
    tracing = Tracing(provider, conventions=Conventions(latest=True))
    state, _model = await run_traced_job(tracing)
    assert state["merged"] == ["check", "facts", "sum"]
    spans = memory.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1

    workflow = one(spans, "invoke_workflow kinds")
    assert workflow.parent is None
    assert attrs(workflow)["gen_ai.operation.name"] == "invoke_workflow"
    assert attrs(workflow)["gen_ai.workflow.name"] == "kinds"
    assert attrs(workflow)["breadth.job.id"] == "job-test"

    nodes = [s for s in spans if s.parent and s.parent.span_id == workflow.context.span_id]
    assert [s.name for s in sorted(nodes, key=lambda s: s.start_time or 0)] == [
        "invoke_agent lead",
        "invoke_agent researcher",
        "node merge",
    ]
    plan, research, merged = sorted(nodes, key=lambda s: s.start_time or 0)
    assert attrs(plan)["gen_ai.agent.name"] == "lead"
    assert attrs(plan)["gen_ai.operation.name"] == "invoke_agent"
    assert attrs(research)["breadth.node.name"] == "research"
    assert "gen_ai.operation.name" not in attrs(merged)  # an op without an agent

    tasks = {attrs(s)["breadth.task.id"]: s for s in spans if s.name.startswith("task ")}
    assert set(tasks) == {"facts", "sum", "check"}
    for task in tasks.values():
        assert parent_of(task, spans) is research
    assert attrs(tasks["check"])["breadth.task.op"] == "vote"

    # The node after the DAG merges it: one link per task span.
    linked = {link.context.span_id for link in merged.links}
    assert linked == {task.context.span_id for task in tasks.values()}
    assert all(dict(link.attributes or {}) == {"breadth.link": "merged"} for link in merged.links)
    assert not research.links and not plan.links

    # Subagents: the research and operator tasks are run by the researcher; the tool task is not.
    subagents = [s for s in spans if s.name == "invoke_agent researcher" and s is not research]
    assert {parent_of(s, spans).name for s in subagents} == {"task facts", "task check"}
    tool_call = one(spans, "execute_tool add")
    assert parent_of(tool_call, spans) is tasks["sum"]
    assert attrs(tool_call)["gen_ai.operation.name"] == "execute_tool"
    assert attrs(tool_call)["gen_ai.tool.name"] == "add"
    assert attrs(tool_call)["gen_ai.tool.type"] == "function"
    assert "gen_ai.tool.call.arguments" not in attrs(tool_call)  # no content capture asked

    # The operator task: its strategy span merges the vote's samples (one request with n=3).
    vote = one(spans, "strategy vote")
    assert parent_of(parent_of(vote, spans), spans) is tasks["check"]
    samples = [s for s in spans if s.name.startswith("chat ") and parent_of(s, spans) is vote]
    assert len(samples) == 1
    assert attrs(samples[0])["gen_ai.request.choice.count"] == 3
    assert [link.context.span_id for link in vote.links] == [samples[0].context.span_id]

    # Every model call: a CLIENT span named after the served model, with its provider.
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) >= 3
    for chat in chats:
        assert chat.name == "chat scripted" and chat.kind is SpanKind.CLIENT
        assert attrs(chat)["gen_ai.request.model"] == "scripted"
        assert attrs(chat)["gen_ai.provider.name"] == "breadth.scripted"
        assert "gen_ai.system" not in attrs(chat)
        assert attrs(chat)["gen_ai.usage.output_tokens"] > 0
