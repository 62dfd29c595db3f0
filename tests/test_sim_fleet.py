"""The simulator as a fleet: bounded prefix cache, load slowdown, and injected faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from orchestrator.errors import BackendUnavailable, ConfigError
from orchestrator.models import guard
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.sim_fleet import (
    FleetLatency,
    ReplicaFaults,
    SimulatorFleet,
    parse_fault_flags,
)

DOC = "The cyclic garbage collector finds reference cycles in generations. " * 20


def ask(context: str, question: str) -> GenerateRequest:
    messages = [
        ChatMessage(role="system", content=context),
        ChatMessage(role="user", content=question),
    ]
    return GenerateRequest(messages=messages, max_tokens=8)


def test_latency_model_arithmetic() -> None:
    latency = FleetLatency(prefill_s_per_token=0.001, decode_s_per_token=0.01, load_slowdown=0.5)
    assert latency.prefill_s(100) == pytest.approx(0.1)
    assert latency.prefill_s(100, slow=3.0) == pytest.approx(0.3)
    assert latency.decode_s(10, in_flight=1) == pytest.approx(0.1)  # alone: no slowdown
    assert latency.decode_s(10, in_flight=3) == pytest.approx(0.2)  # two more: +2 x 50 %
    assert latency.decode_s(10, in_flight=1, slow=2.0) == pytest.approx(0.2)


async def test_a_replica_caches_prompt_blocks_within_its_bound() -> None:
    async with SimulatorFleet(1, latency=FleetLatency(prefix_cache_tokens=400)) as fleet:
        (server,) = fleet.servers
        client = OpenAIReplica(fleet.urls[0])
        try:
            await client.generate(ask(DOC, "first question"))
            assert server.cache.cached_tokens == 0
            await client.generate(ask(DOC, "second question"))
            first_hit = server.cache.cached_tokens
            assert 0 < first_hit <= server.cache.prompt_tokens // 2 + 1
            assert fleet.prefix_hit_rate() == pytest.approx(server.cache.hit_rate)
            # Other long prompts push DOC's blocks out of the 400-token cache.
            for other in range(3):
                await client.generate(ask(f"unrelated context {other} " * 60, "q"))
            await client.generate(ask(DOC, "third question"))
            assert server.cache.cached_tokens == first_hit
        finally:
            await client.aclose()


async def test_dead_and_throttled_replicas_fail_over_to_the_healthy_one() -> None:
    faults = {0: ReplicaFaults(dead=True), 1: ReplicaFaults(throttle=1.0)}
    async with SimulatorFleet(3, faults=faults) as fleet:
        clients = [OpenAIReplica(url) for url in fleet.urls]
        pool = ModelPool(clients, retry_backoff_s=0.0)
        try:
            with pytest.raises(BackendUnavailable) as refused:
                await clients[0].generate(ask("ctx", "q"))
            assert refused.value.retryable
            with pytest.raises(BackendUnavailable) as throttled:
                await clients[1].generate(ask("ctx", "q"))
            assert throttled.value.status == 429 and throttled.value.retryable
            for i in range(6):
                completion = await pool.generate(ask(f"context {i}", "q"))
                assert completion.replica == clients[2].name
        finally:
            await pool.aclose()
        assert fleet.servers[1].cache.throttled >= 2
        assert fleet.servers[2].stats.completed == 6


def test_fault_flags_parse_and_bad_ones_are_named() -> None:
    faults = parse_fault_flags(["1:3"], [2], ["0:0.25"])
    assert faults[1].slow == 3.0 and faults[2].dead and faults[0].throttle == 0.25
    with pytest.raises(ConfigError, match=r"--slow '1x3' is not REPLICA:NUMBER"):
        parse_fault_flags(["1x3"], [], [])
    with pytest.raises(ConfigError, match="between 0 and 1"):
        parse_fault_flags([], [], ["0:2"])
    with pytest.raises(ConfigError, match=r"faults name replicas \[5\]"):
        SimulatorFleet(2, faults={5: ReplicaFaults(dead=True)})


async def test_simulate_replicas_serves_a_fleet_until_interrupted() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREADTH_")}
    flags = ["--replicas", "2", "--port", "0", "--dead", "1", "--load-slowdown", "0.1"]
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "simulate", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(3)]
        urls = [line.split(" at ")[1].split()[0] for line in lines[:2]]
        assert "dead" in lines[1] and lines[2].startswith("use it with: breadth research")
        for url in urls:
            guard.allow_endpoint(url)
        alive, dead = OpenAIReplica(urls[0]), OpenAIReplica(urls[1])
        try:
            completion = await alive.generate(ask("ctx", "Is it generational?"))
            assert completion.text
            with pytest.raises(BackendUnavailable):
                await dead.generate(ask("ctx", "q"))
        finally:
            await alive.aclose()
            await dead.aclose()
            for url in urls:
                guard.disallow_endpoint(url)
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "Traceback" not in err
