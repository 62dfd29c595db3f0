"""The model pool over real HTTP replicas (simulators on loopback): failover, affinity, load."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from orchestrator.errors import BackendUnavailable
from orchestrator.models import guard
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import (
    ChatMessage,
    Choice,
    Completion,
    GenerateRequest,
    StreamChunk,
)
from orchestrator.models.simulator import Fault, SimulatorServer
from orchestrator.testing import ScriptedModel
from tests.support import within

# Every test here waits on a server (the simulator servers answer): a hang fails it within 30 s,
# not the global 120 s.
pytestmark = pytest.mark.timeout(30)


SYSTEM = ChatMessage(role="system", content="You are one branch of a wide search.")


def ask(question: str, branch: str = "") -> GenerateRequest:
    """A request whose prefix (all but the last message) is the system prompt and question."""
    messages = [SYSTEM, ChatMessage(role="user", content=question)]
    if branch:
        messages.append(ChatMessage(role="user", content=branch))
    return GenerateRequest(messages=messages, max_tokens=16)


def solo(question: str) -> GenerateRequest:
    """A one-message request: its prefix is the whole prompt, shared with nobody."""
    return GenerateRequest(messages=[ChatMessage(role="user", content=question)], max_tokens=16)


@dataclass
class Cluster:
    pool: ModelPool
    sims: list[SimulatorServer]
    clients: list[OpenAIReplica]

    def sim_of(self, replica_name: str) -> SimulatorServer:
        return next(
            s for s, c in zip(self.sims, self.clients, strict=True) if c.name == replica_name
        )

    def other_than(self, replica_name: str) -> OpenAIReplica:
        return next(c for c in self.clients if c.name != replica_name)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with AsyncExitStack() as stack:
        sims, clients = [], []
        for i in range(2):
            sim = SimulatorServer(ScriptedModel({"*": "An answer."}, name=f"sim{i}"), model="m")
            await stack.enter_async_context(sim)
            client = OpenAIReplica(sim.base_url, model="m")
            stack.push_async_callback(client.aclose)
            sims.append(sim)
            clients.append(client)
        yield Cluster(ModelPool(clients, retry_backoff_s=0.0), sims, clients)


async def _served_by(pool: ModelPool, request: GenerateRequest) -> str:
    return (await pool.generate(request)).replica


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_retryable_status_fails_over_to_the_other_replica(
    cluster: Cluster, status: int
) -> None:
    first = await _served_by(cluster.pool, ask("q1"))
    cluster.sim_of(first).inject(Fault(status=status))
    # Same prefix: affinity sends it to ``first`` again, which fails; the other serves it.
    completion = await cluster.pool.generate(ask("q1", branch="second branch"))
    assert completion.replica == cluster.other_than(first).name
    assert completion.text == "An answer."
    stats = {s.name: s for s in cluster.pool.stats()}
    assert stats[first].failures == 1
    assert stats[first].healthy is False  # cooling down
    assert cluster.sim_of(first).stats.faults_served == 1


async def test_refused_connection_fails_over(cluster: Cluster) -> None:
    first = await _served_by(cluster.pool, ask("q1"))
    dead = cluster.sim_of(first)
    await dead.stop()
    guard.allow_endpoint(dead.base_url)  # stop() withdrew it; the port now refuses
    try:
        completion = await cluster.pool.generate(ask("q1", branch="again"))
    finally:
        guard.disallow_endpoint(dead.base_url)
    assert completion.replica == cluster.other_than(first).name
    assert {s.name: s.failures for s in cluster.pool.stats()}[first] == 1


async def test_stream_fails_over_before_its_first_chunk(cluster: Cluster) -> None:
    first = await _served_by(cluster.pool, ask("q1"))
    cluster.sim_of(first).inject(Fault(status=502))
    chunks = [c async for c in cluster.pool.stream(ask("q1", branch="streamed"))]
    assert "".join(c.delta for c in chunks) == "An answer."
    assert chunks[-1].usage is not None
    other = cluster.sim_of(cluster.other_than(first).name)
    assert other.stats.completed >= 1


async def test_rejected_request_is_not_retried(cluster: Cluster) -> None:
    first = await _served_by(cluster.pool, ask("q1"))
    cluster.sim_of(first).inject(Fault(status=400, message="prompt too long"))
    other = cluster.sim_of(cluster.other_than(first).name)
    before = other.stats.requests
    with pytest.raises(BackendUnavailable) as caught:
        await cluster.pool.generate(ask("q1", branch="b"))
    assert caught.value.retryable is False and "prompt too long" in str(caught.value)
    assert other.stats.requests == before


async def test_all_replicas_failing_is_one_error_listing_each(cluster: Cluster) -> None:
    for sim in cluster.sims:
        sim.inject(Fault(status=503, count=10, message=f"{sim.backend.name} is down"))
    with pytest.raises(BackendUnavailable) as caught:
        await cluster.pool.generate(ask("q"))
    message = str(caught.value)
    assert "all 2 attempts failed on 2 of 2 replicas" in message
    for client, sim in zip(cluster.clients, cluster.sims, strict=True):
        assert client.name in message
        assert f"{sim.backend.name} is down" in message
    assert caught.value.retryable is True


async def test_siblings_sharing_a_prefix_land_on_one_replica(cluster: Cluster) -> None:
    served = {
        await _served_by(cluster.pool, ask("shared question", f"branch {i}")) for i in range(6)
    }
    assert len(served) == 1
    stats = {s.name: s for s in cluster.pool.stats()}
    assert stats[served.pop()].affinity_hits == 5


async def test_distinct_prefixes_spread_over_replicas(cluster: Cluster) -> None:
    served = [await _served_by(cluster.pool, solo(f"question number {i}")) for i in range(16)]
    assert set(served) == {c.name for c in cluster.clients}


class GatedReplica:
    """A replica whose calls wait until the test opens the gate."""

    def __init__(self, name: str, entered: asyncio.Queue[str], gate: asyncio.Event) -> None:
        self.name = name
        self._entered = entered
        self._gate = gate

    async def generate(self, request: GenerateRequest) -> Completion:
        await self._entered.put(self.name)
        await self._gate.wait()
        return Completion(choices=[Choice(text="done")], replica=self.name)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        yield StreamChunk(delta=(await self.generate(request)).text)

    async def aclose(self) -> None:
        return None


def gated_pool(entered: asyncio.Queue[str], event: asyncio.Event) -> ModelPool:
    return ModelPool([GatedReplica(f"r{i}", entered, event) for i in range(2)], slack=2)


async def test_outstanding_counts_balance_concurrent_requests() -> None:
    entered: asyncio.Queue[str] = asyncio.Queue()
    event = asyncio.Event()
    pool = gated_pool(entered, event)
    calls = [asyncio.create_task(pool.generate(solo(f"independent {i}"))) for i in range(4)]
    arrivals = [await within(entered.get(), f"request {i} to reach a replica") for i in range(4)]
    assert sorted(arrivals) == ["r0", "r0", "r1", "r1"]
    assert [s.outstanding for s in pool.stats()] == [2, 2]
    event.set()
    results = await within(asyncio.gather(*calls), "the released requests to finish")
    assert all(r.text == "done" for r in results)
    assert [(s.outstanding, s.served) for s in pool.stats()] == [(0, 2), (0, 2)]


async def test_affinity_yields_to_load_beyond_slack() -> None:
    entered: asyncio.Queue[str] = asyncio.Queue()
    event = asyncio.Event()
    pool = gated_pool(entered, event)
    calls = [asyncio.create_task(pool.generate(ask("shared", f"branch {i}"))) for i in range(4)]
    arrivals = [await within(entered.get(), f"request {i} to reach a replica") for i in range(4)]
    # The prefix's replica takes siblings while it is at most 2 requests busier.
    assert arrivals[:3] == [arrivals[0]] * 3
    assert arrivals[3] != arrivals[0]
    event.set()
    await within(asyncio.gather(*calls), "the released requests to finish")
    assert sum(s.served for s in pool.stats()) == 4
