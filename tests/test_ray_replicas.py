"""Ray-hosted model replicas: a graph's ``ray:`` model, its fleet shared by the job's
processes, and replicas that cannot start (no vLLM, no GPU) failing the job cleanly.

Runs on the session's local Ray; the simulator engine stands in for vLLM (no GPU here:
the vLLM engine itself is not exercised, only its failure to start).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml
from pydantic import ValidationError

from orchestrator.app import Runtime
from orchestrator.errors import BackendUnavailable
from orchestrator.graph.fleet_spec import RayFleetSpec
from orchestrator.graph.spec import ModelSpec
from orchestrator.job import JobRequest
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.ray_replica import FleetScope, ray_fleet
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How does Python's garbage collector handle reference cycles?"


def ask(text: str) -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage(role="user", content=text)], max_tokens=12)


def graph_file(tmp_path: Path, models: dict[str, object], writer_model: str = "default") -> Path:
    """deep_research with the given models; the writer agent uses ``writer_model``."""
    spec = yaml.safe_load((ROOT / "graphs" / "deep_research.yaml").read_text())
    spec["models"] = models
    spec["agents"]["writer"]["model"] = writer_model
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(default_backend()) as server:
        yield server


def test_the_ray_entry_is_checked() -> None:
    spec = ModelSpec.model_validate(
        {"ray": {"replicas": 4, "engine": "vllm", "model": "m", "engine_kwargs": {"a": 1}}}
    )
    assert spec.ray is not None and spec.ray.gpus() == 1.0
    assert RayFleetSpec(engine="simulator").gpus() == 0.0
    tp2 = RayFleetSpec(model="m", engine_kwargs={"tensor_parallel_size": 2})
    assert tp2.gpus() == 2.0
    with pytest.raises(ValidationError, match="a vllm fleet needs the model"):
        RayFleetSpec(engine="vllm")
    with pytest.raises(ValidationError, match="not both"):
        ModelSpec.model_validate({"urls": ["http://x/v1"], "ray": {"engine": "simulator"}})
    with pytest.raises(ValidationError, match="replicas"):
        RayFleetSpec(engine="simulator", replicas=0)


async def test_a_fleet_is_shared_by_name_and_ends_with_its_owner(ray_cluster: str) -> None:
    spec = RayFleetSpec(replicas=2, engine="simulator")
    owner = ray_fleet("fleet", spec, FleetScope("job-share", owner=True))
    guest = ray_fleet("fleet", spec, FleetScope("job-share", owner=False))
    try:
        served = {(await owner.generate(ask(f"question {i}"))).replica for i in range(6)}
        assert served == {"fleet-0", "fleet-1"}
        completion = await guest.generate(ask("from a Ray worker's rebuilt context"))
        assert completion.replica in served and completion.text
    finally:
        await owner.aclose()
        await guest.aclose()
    late = ray_fleet("fleet", spec, FleetScope("job-share", owner=False))
    with pytest.raises(BackendUnavailable, match="the job that owns the fleet has ended"):
        await late.generate(ask("too late"))


async def test_a_vllm_replica_without_vllm_names_the_replica_and_the_cause(
    ray_cluster: str,
) -> None:
    spec = RayFleetSpec(engine="vllm", model="Qwen/Qwen2.5-0.5B-Instruct", num_gpus=0)
    pool = ray_fleet("gpu", spec, FleetScope("job-novllm", owner=True))
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await pool.generate(ask("hello"))
    finally:
        await pool.aclose()
    message = str(caught.value)
    assert "Ray replica 'gpu-0' (engine vllm, model 'Qwen/Qwen2.5-0.5B-Instruct')" in message
    assert "failed to start" in message and "pip install vllm" in message
    assert caught.value.retryable is False


@pytest.mark.slow
async def test_a_job_on_a_ray_hosted_fleet_runs_end_to_end(
    ray_cluster: str,
    simulator: SimulatorServer,
    redis_url: str,
    redis_client: aioredis.Redis,
    namespace: str,
    tmp_path: Path,
) -> None:
    graph = graph_file(tmp_path, {"default": {"ray": {"replicas": 2, "engine": "simulator"}}})
    settings = Settings(redis_url=redis_url, namespace=namespace, executor="ray")
    store = RedisStore(redis_client, namespace)
    async with await Runtime.open(settings, store=store, model=simulator_client(simulator)) as rt:
        record = await rt.research(JobRequest(question=QUESTION, graph=str(graph)))
    assert record.state == "done", record.error
    assert record.report and record.usage.total_tokens > 0
    assert simulator.stats.requests == 0  # every call went to the Ray-hosted fleet


@pytest.mark.slow
async def test_a_replica_that_cannot_start_fails_the_job_and_keeps_finished_results(
    ray_cluster: str,
    simulator: SimulatorServer,
    redis_url: str,
    redis_client: aioredis.Redis,
    namespace: str,
    tmp_path: Path,
) -> None:
    models = {"gpu": {"ray": {"replicas": 2, "engine": "vllm", "model": "Qwen/Qwen2.5-7B"}}}
    graph = graph_file(tmp_path, models, writer_model="gpu")
    settings = Settings(
        model_urls=(simulator.base_url,), redis_url=redis_url, namespace=namespace, executor="ray"
    )
    store = RedisStore(redis_client, namespace)
    async with await Runtime.open(settings, store=store) as runtime:
        record = await runtime.research(JobRequest(question=QUESTION, graph=str(graph)))
    assert record.state == "failed"
    assert record.error is not None
    assert re.search(
        r"Ray replica 'gpu-[01]' \(engine vllm, model 'Qwen/Qwen2.5-7B'\) failed to start: "
        r"it needs 1 GPU\(s\) per replica .* the Ray cluster has 0",
        record.error,
    ), record.error
    results = await store.list_results(record.id)
    assert results and all(r.status == "done" for r in results.values())
    stored = await store.get_job(record.id)
    assert stored is not None and stored.state == "failed"


def simulator_client(simulator: SimulatorServer) -> object:
    from orchestrator.models.openai_http import OpenAIReplica

    return OpenAIReplica(simulator.base_url)
