"""The ``research_tree`` op: a research plan that grows and is pruned while it runs."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime, builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.graph.loader import load_graph
from orchestrator.graph.resolve import resolve_graph
from orchestrator.graph.spec import AgentSpec, NodeSpec
from orchestrator.job import JobRequest
from orchestrator.models.llama_local import LlamaCppReplica
from orchestrator.models.protocol import Completion, GenerateRequest, StreamChunk
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.plan import TaskPlan, TaskSpec
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from orchestrator.testing import ScriptedModel
from tests.support import graph_with, make_context

QUESTION = "How does CPython manage memory?"
_BRANCH = re.compile(r"Branch sub-question: (.+)")
_SUB = re.compile(r"Sub-question: (.+)")

Verdicts = dict[str, dict[str, Any]]


def sub_question(request: GenerateRequest) -> str | None:
    found = _SUB.search("\n".join(m.content for m in request.messages))
    return found.group(1).strip() if found else None


def is_judge(request: GenerateRequest) -> bool:
    return "follow_ups" in (request.json_schema or {}).get("properties", {})


def verdict(
    relevant: bool = True, novel: bool = True, follow_ups: list[str] | None = None
) -> dict[str, Any]:
    return {
        "relevant": relevant,
        "novel": novel,
        "promising": bool(follow_ups),
        "follow_ups": follow_ups or [],
        "reason": "as scripted",
    }


class Script:
    """Researchers note one finding naming their sub-question; the judge answers by branch."""

    def __init__(self, verdicts: Verdicts) -> None:
        self.verdicts = verdicts
        self.prompts: dict[str, str] = {}

    def __call__(self, request: GenerateRequest, index: int) -> str:
        text = "\n".join(m.content for m in request.messages)
        if is_judge(request):
            branch = _BRANCH.search(text)
            name = branch.group(1).strip() if branch else ""
            return json.dumps(self.verdicts.get(name, verdict()))
        question = sub_question(request) or "?"
        self.prompts[question] = text
        claim = f"Finding about {question.rstrip('?')} is recorded here"
        return json.dumps(
            {
                "thought": "noted",
                "tool_calls": [],
                "findings": [{"claim": claim, "source_ids": []}],
                "done": True,
            }
        )


def plan(*tasks: tuple[str, str, tuple[str, ...]]) -> dict[str, Any]:
    specs = [
        TaskSpec(id=tid, description=q, params={"question": q}, depends_on=deps)
        for tid, q, deps in tasks
    ]
    return TaskPlan(tasks=specs).model_dump(mode="json")


TWO_ROOTS = plan(
    ("t1", "How does reference counting work?", ()),
    ("t2", "What is the capital of France?", ()),
)


async def grow(ctx: RunContext, state: dict[str, Any], **params: Any) -> dict[str, Any]:
    op = builtin_ops().get("research_tree")
    node = NodeSpec(
        op="research_tree",
        agent="researcher",
        params={"first_search": False, "max_steps": 1, **params},
    )
    return await op(ctx, node, {"question": QUESTION, **state})


def context(model: Any, budgets: Budgets | None = None) -> RunContext:
    agents = {"researcher": AgentSpec(), "judge": AgentSpec()}
    ctx, _ = make_context(model, graph=graph_with(agents), budgets=budgets)
    return ctx


def nodes(update: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in update["research_tree"]["nodes"]}


async def test_promising_branches_deepen_off_topic_ones_are_pruned_redundant_ones_stop() -> None:
    script = Script(
        {
            "How does reference counting work?": verdict(
                follow_ups=["When does the cyclic collector run?", "How are arenas freed?"]
            ),
            "What is the capital of France?": verdict(relevant=False),
            "When does the cyclic collector run?": verdict(novel=False),
        }
    )
    ctx = context(ScriptedModel(script))
    update = await grow(ctx, {"plan": TWO_ROOTS}, max_depth=2, max_children=2)
    tree = nodes(update)
    assert (tree["t1"]["action"], tree["t2"]["action"]) == ("deepen", "prune")
    assert tree["t1"]["children"] == ["t1.1", "t1.2"]
    assert tree["t1.1"]["action"] == "stop" and tree["t1.1"]["reason"].startswith("redundant")
    assert tree["t1.2"]["depth"] == 2 and tree["t1.2"]["action"] == "keep"
    # Pruned findings leave the report; stopped ones stay.
    assert set(update["results"]) == {"t1", "t1.1", "t1.2"}
    assert update["stopped_by"] is None
    # The follow-ups ran with their parent's findings as context.
    assert (
        "Finding about How does reference counting work" in script.prompts["How are arenas freed?"]
    )
    planned = TaskPlan.model_validate(update["plan"])
    assert {t.id: t.depends_on for t in planned.tasks}["t1.2"] == ("t1",)
    details = update["research_tree"]
    assert (details["deepened"], details["pruned"], details["stopped"]) == (1, 1, 1)


async def test_a_branch_deepens_while_another_is_still_running() -> None:
    """No level barrier: t1's follow-up starts before t2 (held until it does) finishes."""
    script = Script(
        {"How does reference counting work?": verdict(follow_ups=["How are arenas freed?"])}
    )

    class HoldSecondRoot:
        name = "scripted"

        def __init__(self) -> None:
            self.inner = ScriptedModel(script)
            self.child_started = asyncio.Event()

        async def generate(self, request: GenerateRequest) -> Completion:
            question = sub_question(request) if not is_judge(request) else None
            if question == "How are arenas freed?":
                self.child_started.set()
            if question == "What is the capital of France?":
                await asyncio.wait_for(self.child_started.wait(), timeout=10)
            return await self.inner.generate(request)

        def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
            return self.inner.stream(request)

        async def aclose(self) -> None:
            return None

    ctx = context(HoldSecondRoot())
    update = await asyncio.wait_for(grow(ctx, {"plan": TWO_ROOTS}), timeout=30)
    assert set(update["results"]) == {"t1", "t1.1", "t2"}


async def test_follow_ups_like_an_asked_question_are_dropped_before_they_run() -> None:
    script = Script(
        {
            "How does reference counting work?": verdict(
                follow_ups=["How does reference counting work in CPython?", "What do arenas do?"]
            )
        }
    )
    ctx = context(ScriptedModel(script))
    update = await grow(ctx, {"plan": TWO_ROOTS}, redundancy=0.6)
    dropped = update["research_tree"]["dropped"]
    assert [d["question"] for d in dropped] == ["How does reference counting work in CPython?"]
    assert "redundant with" in dropped[0]["reason"]
    assert nodes(update)["t1"]["children"] == ["t1.1"]


async def test_depth_nodes_and_the_deadline_reserve_stop_the_growth() -> None:
    script = Script(_Deeper())
    ctx = context(ScriptedModel(script))
    update = await grow(ctx, {}, max_depth=3, max_children=2, max_nodes=4, redundancy=1.0)
    tree = nodes(update)
    assert len(tree) == 4 and {"q", "q.1", "q.2"} < set(tree)
    # Whichever follow-up was judged first got the last slot; the other had no room.
    (deepest,) = set(tree) - {"q", "q.1", "q.2"}
    assert tree[deepest]["depth"] == 3 and "depth limit" in tree[deepest]["reason"]
    other = "q.2" if deepest.startswith("q.1") else "q.1"
    assert "no room" in tree[other]["reason"]

    ctx = context(ScriptedModel(script))
    update = await grow(ctx, {}, max_depth=1)
    assert list(nodes(update)) == ["q"]
    assert "depth limit" in nodes(update)["q"]["reason"]

    assert update["stopped_by"] is None  # the node's own limits are not job budgets

    ctx = context(ScriptedModel(script), Budgets(deadline_s=100))
    update = await grow(ctx, {}, reserve_s=1000)
    assert list(nodes(update)) == ["q"]
    assert "reserve" in nodes(update)["q"]["reason"]
    assert update["stopped_by"] == "deadline_s"

    ctx = context(ScriptedModel(script), Budgets(max_tasks=2))
    update = await grow(ctx, {}, max_nodes=10, redundancy=1.0)
    assert len(nodes(update)) == 2
    assert update["stopped_by"] == "max_tasks"

    # A cap that no promising branch ran into stopped nothing.
    quiet = Script({"How does CPython manage memory?": verdict(relevant=True)})
    quiet.verdicts["How does CPython manage memory?"]["follow_ups"] = ["Ignored follow-up?"]
    ctx = context(ScriptedModel(quiet), Budgets(max_tasks=1))
    update = await grow(ctx, {}, max_nodes=10)
    assert nodes(update)["q"]["action"] == "keep" and update["stopped_by"] is None


class _Deeper(dict[str, dict[str, Any]]):
    """Every branch is promising, with two follow-ups of its own (new words each time)."""

    def __init__(self) -> None:
        super().__init__()
        self.topics = itertools.count(1)

    def get(self, key: str, default: Any = None) -> dict[str, Any]:  # type: ignore[override]
        stem = key.rstrip("?")
        first, second = next(self.topics), next(self.topics)
        return verdict(follow_ups=[f"{stem} topic{first}?", f"{stem} topic{second}?"])


async def test_without_a_plan_the_question_is_the_root() -> None:
    ctx = context(ScriptedModel(Script({})))
    update = await grow(ctx, {})
    assert list(update["results"]) == ["q"]
    assert nodes(update)["q"]["question"] == QUESTION


async def test_a_spent_token_budget_stops_new_tasks_and_says_so() -> None:
    ctx = context(ScriptedModel(Script(_Deeper())), Budgets(max_tokens=300))
    ctx.budget.usage = ctx.budget.usage.model_copy(update={"prompt_tokens": 300})
    update = await grow(ctx, {"plan": TWO_ROOTS})
    assert update["stopped_by"] == "max_tokens" and update["results"] == {}
    assert {n["reason"] for n in update["research_tree"]["nodes"]} == {
        "not started: budget 'max_tokens' reached"
    }

    # Spent while the tree grows: what finished is kept for the report, growth stops.
    ctx = context(ScriptedModel(Script(_Deeper())), Budgets(max_tokens=600))
    update = await grow(ctx, {"plan": TWO_ROOTS}, max_depth=4, max_nodes=20, redundancy=1.0)
    assert update["stopped_by"] == "max_tokens"
    assert {"t1", "t2"} <= set(update["results"])
    tree = update["research_tree"]["nodes"]
    assert len(tree) < 20
    assert any(n["status"] == "cancelled" or n["reason"].startswith("not judged") for n in tree)


async def test_planned_dependencies_order_the_roots_and_pass_findings_on() -> None:
    script = Script({})
    ctx = context(ScriptedModel(script))
    state = {
        "plan": plan(
            ("t1", "How does reference counting work?", ()),
            ("t2", "Why are cycles a problem for it?", ("t1",)),
        )
    }
    update = await grow(ctx, state)
    assert set(update["results"]) == {"t1", "t2"}
    assert (
        "Finding about How does reference counting work"
        in script.prompts["Why are cycles a problem for it?"]
    )


async def test_a_failed_dependency_skips_its_dependents() -> None:
    def failing(request: GenerateRequest, index: int) -> str:
        if sub_question(request) == "How does reference counting work?":
            return "not json at all"
        return Script({})(request, index)

    ctx = context(ScriptedModel(failing), Budgets(max_retries=0))
    state = {
        "plan": plan(
            ("t1", "How does reference counting work?", ()),
            ("t2", "Why are cycles a problem for it?", ("t1",)),
        )
    }
    update = await grow(ctx, state)
    tree = nodes(update)
    assert tree["t1"]["status"] == "failed"
    assert tree["t2"]["status"] == "skipped" and "'t1'" in tree["t2"]["reason"]
    assert update["results"] == {}


class Metered:
    """A replica that adds up the usage of every completion it returns."""

    name = "scripted"

    def __init__(self, inner: ScriptedModel) -> None:
        self.inner = inner
        self.total = 0

    async def generate(self, request: GenerateRequest) -> Completion:
        completion = await self.inner.generate(request)
        self.total += completion.usage.total_tokens
        return completion

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        return None


async def test_every_branch_and_judge_is_counted_once_in_the_jobs_tokens() -> None:
    metered = Metered(
        ScriptedModel(
            Script({"How does reference counting work?": verdict(follow_ups=["Why arenas?"])})
        )
    )
    ctx = context(metered)
    await grow(ctx, {"plan": TWO_ROOTS})
    assert len(metered.inner.calls) == 6  # three researchers, three judges
    assert ctx.budget.usage.total_tokens == metered.total > 0


async def test_bad_params_and_state_are_config_errors() -> None:
    ctx = context(ScriptedModel(Script({})))
    with pytest.raises(ConfigError, match="not a task plan"):
        await grow(ctx, {"plan": {"tasks": []}})
    with pytest.raises(ConfigError, match="judge names agent 'ghost'"):
        await grow(ctx, {}, judge="ghost")
    op = builtin_ops().get("research_tree")
    with pytest.raises(ConfigError, match="max_depth"):
        await op(ctx, NodeSpec(op="research_tree", params={"max_depth": 9}), {})


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend()) as server:
        yield server


async def test_the_graph_runs_on_the_simulator(
    simulator: SimulatorServer, redis_client: aioredis.Redis, namespace: str
) -> None:
    ops = builtin_ops()
    spec = load_graph(resolve_graph("research_tree"), known_ops=ops.names())
    assert [n.op for n in spec.nodes.values()] == ["plan", "research_tree", "synthesize"]
    store = RedisStore(redis_client, namespace)
    settings = Settings(model_urls=(simulator.base_url,), namespace=namespace)
    async with await Runtime.open(settings, store=store) as runtime:
        record = await runtime.research(JobRequest(question=QUESTION, graph="research_tree"))
    assert record.state == "done", record.error
    assert record.report and record.report.strip()
    assert record.usage.total_tokens > 0
    events = [event.type for _, event in await store.read_events(record.id)]
    assert events[0] == "job_started" and events[-1] == "job_finished"
    assert "task_finished" in events


@pytest.mark.real_model
@pytest.mark.timeout(600)
async def test_the_graph_runs_on_the_embedded_model(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    model = LlamaCppReplica(threads=1)
    try:
        store = RedisStore(redis_client, namespace)
        settings = Settings(namespace=namespace)
        async with await Runtime.open(settings, store=store, model=model) as runtime:
            record = await runtime.research(JobRequest(question=QUESTION, graph="research_tree"))
    finally:
        await model.aclose()
    assert record.state == "done", record.error
    assert record.report and record.usage.total_tokens > 0
