"""Model replicas hosted in Ray actors, and the pool over a fleet of them.

A graph's model with a ``ray:`` entry (``graph.fleet_spec.RayFleetSpec``) is served by
``replicas`` actors, each hosting an engine: vLLM's async engine (GPU nodes),
llama.cpp with the embedded model, or the simulator engine (CPU; what the tests run).
``RayReplica`` is the ``Replica`` a process holds for one actor; ``ray_fleet`` puts a
``ModelPool`` (prefix-aware routing) over them.

The job's process creates the actors, named after the job, and owns them: they stop
when the job ends. Ray workers that rebuild the job's context look the same actors up
by name, so every task of the job shares one fleet. The engine is built in the actor's
first call (``ready``): a replica that cannot start (no vLLM, no GPU, a bad model) fails
every request with ``BackendUnavailable`` naming the replica and the cause, not
retryable, so the job fails cleanly and keeps what it finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import BackendUnavailable
from orchestrator.graph.fleet_spec import RayFleetSpec
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import (
    UNKNOWN_PROVIDER,
    Completion,
    GenerateRequest,
    Replica,
    ServedModel,
    StreamChunk,
)
from orchestrator.ray_cluster import RAY_NAMESPACE, cluster_resource, connect_ray, import_ray

EngineFactory = Callable[[], Replica]


# The provider a span names for each engine (gen_ai.provider.name).
ENGINE_PROVIDERS = {"vllm": "vllm", "llama_cpp": "llama_cpp", "simulator": "breadth.simulator"}


def build_engine(spec: RayFleetSpec, name: str) -> Replica:
    """The engine one replica actor hosts, built in that actor's process."""
    if spec.engine == "vllm":
        from orchestrator.models.vllm_engine import VLLMEngine

        assert spec.model is not None  # RayFleetSpec checks it
        return VLLMEngine(spec.model, name=name, engine_kwargs=spec.engine_kwargs)
    if spec.engine == "llama_cpp":
        from orchestrator.models.llama_local import LlamaCppReplica

        return LlamaCppReplica(spec.model, name=name, **spec.engine_kwargs)
    from orchestrator.models.sim_engine import SimEngine
    from orchestrator.models.sim_fleet import FleetLatency
    from orchestrator.models.sim_writer import default_backend

    return SimEngine(
        default_backend(spec.model or "breadth-sim"),
        latency=FleetLatency(**spec.engine_kwargs),
        name=name,
    )


class ReplicaActor:
    """The actor: hosts one engine, built on the first call so its errors come back."""

    def __init__(self, name: str, engine: EngineFactory) -> None:
        self.name = name
        self._factory = engine
        self._engine: Replica | None = None

    async def ready(self) -> str:
        if self._engine is None:
            self._engine = self._factory()
        return self.name

    async def generate(self, request: GenerateRequest) -> Completion:
        await self.ready()
        assert self._engine is not None
        return await self._engine.generate(request)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        await self.ready()
        assert self._engine is not None
        async for chunk in self._engine.stream(request):
            yield chunk

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.aclose()
            self._engine = None


class RayReplica:
    """A ``Replica`` whose engine runs in a Ray actor (created here, or looked up by name).

    ``owner``: this process created the actor and stops it on ``aclose``; otherwise the
    actor named ``actor_name`` is looked up on first use. ``startup_error`` (found before
    the actor could be placed, e.g. no GPU in the cluster) fails every call.
    """

    def __init__(
        self,
        name: str,
        engine: EngineFactory | None = None,
        *,
        actor_name: str | None = None,
        options: dict[str, Any] | None = None,
        describe: str = "",
        ready_timeout_s: float = 900.0,
        startup_error: str | None = None,
        served: ServedModel | None = None,
    ) -> None:
        self.name = name
        self._served = served
        self._ray = import_ray("Ray-hosted model replicas")
        self._actor_name = actor_name
        self._describe = describe or f"replica {name!r}"
        self._ready_timeout_s = ready_timeout_s
        self._failure: BackendUnavailable | None = None
        self._ready: asyncio.Future[None] | None = None
        self.owner = engine is not None
        self._actor: Any = None
        if startup_error is not None:
            self._failure = self._failed(startup_error)
        elif engine is not None:
            actor_options: dict[str, Any] = {"max_concurrency": 1000, **(options or {})}
            if actor_name is not None:
                actor_options.update(name=actor_name, namespace=RAY_NAMESPACE)
            actor_class = self._ray.remote(ReplicaActor).options(**actor_options)
            self._actor = actor_class.remote(name, engine)

    def _failed(self, cause: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"{self._describe} failed to start: {cause}", retryable=False, url=self.name
        )

    async def _handle(self) -> Any:
        """The actor, ready: looked up, started (its engine built) once."""
        if self._failure is not None:
            raise self._failure
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start())
        try:
            await asyncio.shield(self._ready)
        except BackendUnavailable as exc:
            self._failure = exc
            raise
        return self._actor

    async def _start(self) -> None:
        ray = self._ray
        if self._actor is None:
            try:
                self._actor = ray.get_actor(self._actor_name, namespace=RAY_NAMESPACE)
            except ValueError:
                raise self._failed(
                    f"no actor {self._actor_name!r} in the Ray cluster (the job that owns "
                    f"the fleet has ended)"
                ) from None
        try:
            await asyncio.wait_for(self._actor.ready.remote(), timeout=self._ready_timeout_s)
        except TimeoutError:
            raise self._failed(
                f"not ready after {self._ready_timeout_s:g} s (the cluster may lack the "
                f"resources it asks for); raise ray.ready_timeout_s or add nodes"
            ) from None
        except ray.exceptions.RayError as exc:
            raise self._failed(_cause_text(exc)) from None

    def _translate(self, exc: Exception) -> Exception:
        exceptions = self._ray.exceptions
        if isinstance(exc, exceptions.RayActorError):
            return BackendUnavailable(
                f"{self._describe} died ({_cause_text(exc)}); its requests go to the others",
                retryable=True,
                url=self.name,
            )
        if isinstance(exc, exceptions.RayTaskError):
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception):
                return cause
        return exc

    async def describe(self, request: GenerateRequest) -> ServedModel:
        """The model its engine loads and the engine (for traces): no call to the actor."""
        served = self._served or ServedModel(self.name, UNKNOWN_PROVIDER)
        return ServedModel(model=request.model or served.model, provider=served.provider)

    async def generate(self, request: GenerateRequest) -> Completion:
        actor = await self._handle()
        try:
            completion: Completion = await actor.generate.remote(request)
        except self._ray.exceptions.RayError as exc:
            raise self._translate(exc) from None
        return completion

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        actor = await self._handle()
        refs = actor.stream.options(num_returns="streaming").remote(request)
        try:
            async for ref in refs:
                chunk: StreamChunk = await ref
                yield chunk
        except self._ray.exceptions.RayError as exc:
            raise self._translate(exc) from None
        finally:
            with contextlib.suppress(Exception):
                self._ray.cancel(refs)

    async def aclose(self) -> None:
        """Stop the actor if this process created it; a looked-up one is left running."""
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        if self.owner and self._actor is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._actor.close.remote(), timeout=30)
            with contextlib.suppress(Exception):
                self._ray.kill(self._actor)
            self._actor = None


@dataclass(frozen=True)
class FleetScope:
    """Whose fleet: the job it belongs to, and whether this process creates (owns) it."""

    job_id: str
    owner: bool
    ray_address: str | None = None


def actor_name(scope: FleetScope, model: str, index: int) -> str:
    return f"breadth:{scope.job_id}:{model}:{index}"


def ray_fleet(model: str, spec: RayFleetSpec, scope: FleetScope) -> ModelPool:
    """A pool over ``spec.replicas`` Ray-hosted replicas of the graph's model ``model``."""
    # A no-op in a Ray worker; a process outside Ray (the job's, a worker's) joins it.
    connect_ray(scope.ray_address, what="Ray-hosted model replicas")
    gpus = spec.gpus()
    startup_error = None
    if gpus > 0 and cluster_resource("GPU") < gpus:
        startup_error = (
            f"it needs {gpus:g} GPU(s) per replica (engine {spec.engine}) and the Ray cluster "
            f"has {cluster_resource('GPU'):g}; add GPU nodes, or use engine llama_cpp or "
            f"simulator on CPUs"
        )
    replicas: list[Replica] = []
    for index in range(spec.replicas):
        name = f"{model}-{index}"
        describe = (
            f"Ray replica {name!r} (engine {spec.engine}"
            + (f", model {spec.model!r}" if spec.model else "")
            + ")"
        )
        engine = functools.partial(build_engine, spec, name) if scope.owner else None
        replicas.append(
            RayReplica(
                name,
                engine,
                actor_name=actor_name(scope, model, index),
                options={"num_gpus": gpus, "num_cpus": spec.num_cpus},
                describe=describe,
                ready_timeout_s=spec.ready_timeout_s,
                startup_error=startup_error,
                served=ServedModel(spec.model or model, ENGINE_PROVIDERS[spec.engine]),
            )
        )
    return ModelPool(replicas, name=model)


def _cause_text(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and str(cause):
        return f"{type(cause).__name__}: {cause}"
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
