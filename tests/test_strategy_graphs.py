"""Every built-in strategy graph runs end to end against the built-in simulator.

The simulator is a real OpenAI-compatible HTTP server on loopback; the job runs through
the composition root (``Runtime``) with the real Redis store, so this covers the op, its
graph file, the model pool over HTTP, token accounting and the stored job record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from agents.strategies.operators import STRATEGIES
from orchestrator.app import Runtime, builtin_ops
from orchestrator.errors import GraphSpecError
from orchestrator.graph.loader import load_graph
from orchestrator.graph.resolve import resolve_graph
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore

# Every test here waits on a server (the simulator server answers): a hang fails it within
# 30 s, not the global 120 s.
pytestmark = pytest.mark.timeout(30)

STRATEGY_GRAPHS = sorted(STRATEGIES)


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend()) as server:
        yield server


@pytest.mark.parametrize("graph", STRATEGY_GRAPHS)
async def test_strategy_graph_runs_on_the_simulator(
    graph: str, simulator: SimulatorServer, redis_client: aioredis.Redis, namespace: str
) -> None:
    ops = builtin_ops()
    spec = load_graph(resolve_graph(graph), known_ops=ops.names())
    assert any(node.op == graph for node in spec.nodes.values())
    store = RedisStore(redis_client, namespace)
    settings = Settings(model_urls=(simulator.base_url,), namespace=namespace)
    async with await Runtime.open(settings, store=store) as runtime:
        record = await runtime.research(
            JobRequest(question="What is 12 * 12? End with 'the answer is N'.", graph=graph)
        )
    assert record.state == "done", record.error
    assert record.report and record.report.strip()
    assert record.usage.total_tokens > 0
    stored = await store.get_job(record.id)
    assert stored is not None and stored.state == "done"
    events = [event.type for _, event in await store.read_events(record.id)]
    assert events[0] == "job_started" and events[-1] == "job_finished"
    assert "tokens" in events


def test_bad_strategy_params_are_reported_by_the_loader_with_lines(tmp_path: Path) -> None:
    graph = tmp_path / "bad.yaml"
    graph.write_text(
        "name: bad\n"
        "agents:\n"
        "  solver: {}\n"
        "nodes:\n"
        "  vote:\n"
        "    op: vote\n"
        "    agent: solver\n"
        "    params:\n"
        "      n: 0\n"
        "      weigth: mean\n"
        "edges:\n"
        "  - {from: START, to: vote}\n"
        "  - {from: vote, to: END}\n"
    )
    ops = builtin_ops()
    with pytest.raises(GraphSpecError) as info:
        load_graph(graph, known_ops=ops.names(), param_checks=ops.param_checks())
    problems = {(p.line, p.field): p.message for p in info.value.problems}
    assert ">= 1, <= 256" in problems[(9, "nodes.vote.params.n")]
    assert "weight" in problems[(10, "nodes.vote.params.weigth")]
