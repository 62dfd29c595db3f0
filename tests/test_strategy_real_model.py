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

from agents.strategies.ops import load_strategies
from agents.strategies.runtime import STRATEGIES
from orchestrator.app import builtin_ops
from orchestrator.executors.local import LocalExecutor
from orchestrator.job import JobRequest
from orchestrator.models.llama_local import LlamaCppReplica
from orchestrator.runner import run_job
from orchestrator.store.redis_store import RedisStore
from tools.builtin import corpus_tools
from tools.corpus import Corpus

load_strategies()
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
    executor = LocalExecutor()
    try:
        record = await run_job(
            JobRequest(question="What is 17 * 23? End with 'the answer is N'.", graph=graph),
            store=store,
            model=embedded,
            executor=executor,
            ops=builtin_ops(),
            tools=corpus_tools(Corpus.builtin()),
        )
    finally:
        await executor.aclose()
    assert record.state == "done", record.error
    assert record.report and record.usage.total_tokens > 0
