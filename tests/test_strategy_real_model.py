"""Every strategy graph once on the embedded real model (SmolLM2 on llama.cpp).

The simulator tests cover behaviour; this one proves each operator's requests (structured
output schemas become llama.cpp grammars, streams get closed early, ``n`` samples) work
on a real engine: the job completes with an answer. The model is loaded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from agents.strategies.operators import STRATEGIES
from orchestrator.app import Runtime
from orchestrator.job import JobRequest
from orchestrator.models.llama_local import LlamaCppReplica
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore

# ReConcile's round table takes over a minute on a CPU; its requests are the same kinds
# (structured answers with confidences, n samples) that the others exercise.
SLOW = {"reconcile"}

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def embedded() -> Iterator[LlamaCppReplica]:
    model = LlamaCppReplica(threads=1)
    yield model
    asyncio.run(model.aclose())


@pytest.mark.parametrize("graph", sorted(set(STRATEGIES) - SLOW))
async def test_strategy_graph_runs_on_the_embedded_model(
    graph: str, embedded: LlamaCppReplica, redis_client: aioredis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_client, namespace)
    settings = Settings(namespace=namespace)
    async with await Runtime.open(settings, store=store, model=embedded) as runtime:
        record = await runtime.research(
            JobRequest(question="What is 17 * 23? End with 'the answer is N'.", graph=graph)
        )
    assert record.state == "done", record.error
    assert record.report and record.usage.total_tokens > 0
