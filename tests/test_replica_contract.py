"""The replica contract: every ``Replica`` implementation passes the same tests.

Run against the scripted model, an ``OpenAIReplica`` talking to the simulator over
loopback HTTP, a ``ModelPool`` over two simulators, a replica hosted in a Ray actor (the
simulator engine, on the session's local Ray), and (marked ``real_model``) the embedded
SmolLM2 model, in process and in a Ray actor. Assertions hold for any model; the ones
about exact text only apply to scripted backends.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import ChatMessage, GenerateRequest, Replica, StreamChunk
from orchestrator.models.simulator import SimulatorServer
from orchestrator.models.structured import parse_json_output
from orchestrator.testing import ScriptedModel, split_tokens

FACTS = "Paris is the capital of France. It lies on the Seine. Millions visit it every year."


class City(BaseModel):
    name: str = Field(max_length=24)
    size: Literal["small", "medium", "large"]


def script(request: GenerateRequest, index: int) -> str:
    """Schema requests get JSON, others prose; each sample's text names its index."""
    if request.json_schema is not None:
        return json.dumps({"name": f"Paris {index}", "size": "large"})
    return f"Sample {index}. {FACTS}"


@dataclass
class Backend:
    replica: Replica
    scripted: bool  # the text comes from ``script`` (else from a real model)
    honours_limits: bool  # stop strings and max_tokens cut the text


@pytest.fixture(
    params=[
        "scripted",
        "openai-sim",
        "pool",
        pytest.param("ray-sim", marks=pytest.mark.ray),
        pytest.param("embedded", marks=pytest.mark.real_model),
        pytest.param("ray-embedded", marks=[pytest.mark.real_model, pytest.mark.ray]),
    ]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        kind = request.param
        replica: Replica
        if kind == "scripted":
            yield Backend(ScriptedModel(script), scripted=True, honours_limits=False)
            return
        if kind.startswith("ray-"):
            from orchestrator.graph.fleet_spec import RayFleetSpec
            from orchestrator.models.ray_replica import RayReplica, build_engine
            from orchestrator.models.sim_engine import SimEngine

            request.getfixturevalue("ray_cluster")
            if kind == "ray-sim":
                engine = functools.partial(SimEngine, ScriptedModel(script, name="ray-sim"))
            else:
                spec = RayFleetSpec(engine="llama_cpp", engine_kwargs={"threads": 1})
                engine = functools.partial(build_engine, spec, "ray-embedded")
            replica = RayReplica(kind, engine)
            stack.push_async_callback(replica.aclose)
            yield Backend(replica, scripted=kind == "ray-sim", honours_limits=True)
            return
        if kind == "embedded":
            from orchestrator.models.llama_local import LlamaCppReplica

            replica = LlamaCppReplica(threads=1)
            stack.push_async_callback(replica.aclose)
            yield Backend(replica, scripted=False, honours_limits=True)
            return
        count = 1 if kind == "openai-sim" else 2
        clients: list[Replica] = []
        for i in range(count):
            sim = SimulatorServer(ScriptedModel(script, name=f"sim{i}"), model="sim")
            await stack.enter_async_context(sim)
            client = OpenAIReplica(sim.base_url)
            stack.push_async_callback(client.aclose)
            clients.append(client)
        replica = clients[0] if count == 1 else ModelPool(clients)
        yield Backend(replica, scripted=True, honours_limits=True)


def ask(text: str = "Tell me about Paris.", **fields: object) -> GenerateRequest:
    messages = [
        ChatMessage(role="system", content="You answer in one or two sentences."),
        ChatMessage(role="user", content=text),
    ]
    return GenerateRequest(messages=messages, **fields)  # type: ignore[arg-type]


async def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in chunks]


async def test_n_samples_return_n_choices_with_usage(backend: Backend) -> None:
    completion = await backend.replica.generate(ask(n=3, max_tokens=24, seed=5))
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert all(c.text for c in completion.choices)
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.choices[0].logprobs is None
    if backend.scripted:
        assert [c.text for c in completion.choices] == [f"Sample {i}. {FACTS}" for i in range(3)]


async def test_max_tokens_cuts_each_choice(backend: Backend) -> None:
    if not backend.honours_limits:
        pytest.skip("the scripted model returns its script as written")
    completion = await backend.replica.generate(ask(n=2, max_tokens=3, seed=5))
    assert [c.finish_reason for c in completion.choices] == ["length", "length"]
    assert completion.usage.completion_tokens <= 6
    if backend.scripted:
        assert completion.choices[1].text == "".join(split_tokens(f"Sample 1. {FACTS}")[:3])


async def test_stop_string_ends_the_text_before_it(backend: Backend) -> None:
    if not backend.honours_limits:
        pytest.skip("the scripted model returns its script as written")
    completion = await backend.replica.generate(ask(max_tokens=32, seed=5, stop=[" "]))
    choice = completion.choices[0]
    assert " " not in choice.text
    assert choice.finish_reason == "stop"
    if backend.scripted:
        assert choice.text == "Sample"


async def test_logprobs_spell_the_text(backend: Backend) -> None:
    completion = await backend.replica.generate(
        ask(n=2, max_tokens=16, seed=5, logprobs=True, top_logprobs=2)
    )
    for choice in completion.choices:
        assert choice.logprobs
        assert "".join(lp.token for lp in choice.logprobs) == choice.text
        assert all(lp.logprob <= 0.0 for lp in choice.logprobs)
        assert all(len(lp.top_logprobs) <= 2 for lp in choice.logprobs)


async def test_json_schema_output_parses(backend: Backend) -> None:
    request = ask(
        "Name a city and say whether it is small, medium or large.",
        max_tokens=64,
        seed=5,
        temperature=0.0,
        json_schema=City.model_json_schema(),
    )
    completion = await backend.replica.generate(request)
    city = parse_json_output(completion.text, City)
    if backend.scripted:
        assert city == City(name="Paris 0", size="large")


async def test_stream_yields_deltas_then_usage(backend: Backend) -> None:
    request = ask(n=2, max_tokens=20, seed=9, logprobs=True)
    chunks = await collect(backend.replica.stream(request))
    assert sum(1 for c in chunks if c.usage is not None) == 1
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0
    for index in (0, 1):
        mine = [c for c in chunks if c.index == index and c.usage is None]
        text = "".join(c.delta for c in mine)
        assert text
        assert len([c for c in mine if c.finish_reason]) == 1
        assert mine[-1].finish_reason in ("stop", "length")
        assert "".join(lp.token for c in mine for lp in c.logprobs or []) == text
        if backend.scripted:
            assert text == "".join(split_tokens(f"Sample {index}. {FACTS}")[:20])


async def test_stream_matches_generate_for_a_deterministic_backend(backend: Backend) -> None:
    if not backend.scripted:
        pytest.skip("llama.cpp is not bit-reproducible across KV-cache reuse, even with a seed")
    request = ask(n=2, max_tokens=20, seed=9)
    completion = await backend.replica.generate(request)
    chunks = await collect(backend.replica.stream(request))
    for choice in completion.choices:
        mine = [c for c in chunks if c.index == choice.index and c.usage is None]
        assert "".join(c.delta for c in mine) == choice.text
        assert [c.finish_reason for c in mine if c.finish_reason] == [choice.finish_reason]
    assert chunks[-1].usage == completion.usage


async def test_stream_closed_early_leaves_the_replica_usable(backend: Backend) -> None:
    chunks = backend.replica.stream(ask(max_tokens=64, seed=3))
    first = await anext(chunks)
    await chunks.aclose()  # type: ignore[attr-defined]
    assert first.usage is None
    completion = await backend.replica.generate(ask(max_tokens=8, seed=3))
    assert completion.choices[0].text
