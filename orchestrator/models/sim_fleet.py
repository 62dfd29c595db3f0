"""The simulator as a fleet of K replicas, for capacity planning and routing benchmarks.

Each replica is a ``SimulatorServer`` on its own port with a richer latency model
(``FleetLatency``): prefill costs ``prefill_s_per_token`` per prompt token its prefix
cache does not hold (serialised: prefill is compute bound); the cache holds prompt
blocks (``routing.prompt_blocks``, the same blocks the prefix-aware router estimates)
up to ``prefix_cache_tokens``, least recently used out first; a decode step serves
every sequence in flight at once (batched) but gets ``load_slowdown`` slower per extra
sequence. Faults per replica (``ReplicaFaults``): slow (every duration scaled), dead
(its port refuses connections) or throttled (a share of requests answered 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from starlette.requests import Request
from starlette.responses import Response

from orchestrator.errors import ConfigError
from orchestrator.models import guard
from orchestrator.models.protocol import GenerateRequest, Replica
from orchestrator.models.routing import BLOCK_CHARS, BlockIndex, prompt_blocks, prompt_text
from orchestrator.models.simulator import LatencyModel, SimulatorServer, _error
from orchestrator.testing import count_tokens


@dataclass(frozen=True)
class FleetLatency(LatencyModel):
    """A replica's timing: the simulator's model plus load slowdown and a bounded cache."""

    # A decode step is this much slower (as a fraction) for each extra sequence in flight.
    load_slowdown: float = 0.0
    # Prompt tokens the prefix cache holds (in blocks of ``block_chars`` characters).
    prefix_cache_tokens: int = 200_000
    block_chars: int = BLOCK_CHARS

    def prefill_s(self, uncached_tokens: int, slow: float = 1.0) -> float:
        """Seconds to prefill ``uncached_tokens`` (serialised with other prefills)."""
        return uncached_tokens * self.prefill_s_per_token * slow

    def decode_s(self, steps: int, in_flight: int, slow: float = 1.0) -> float:
        """Seconds for ``steps`` decode steps while ``in_flight`` sequences share the batch."""
        busy = max(in_flight - 1, 0)
        return steps * self.decode_s_per_token * slow * (1.0 + self.load_slowdown * busy)


@dataclass(frozen=True)
class ReplicaFaults:
    """What is wrong with one replica: slower by ``slow``, ``dead``, or 429 at ``throttle``."""

    slow: float = 1.0
    dead: bool = False
    throttle: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.slow <= 0:
            raise ConfigError(f"a slow replica's factor must be > 0, got {self.slow!r}")
        if not 0.0 <= self.throttle <= 1.0:
            raise ConfigError(
                f"a throttle rate is the share of requests answered 429, between 0 and 1; "
                f"got {self.throttle!r}"
            )


@dataclass
class CacheStats:
    """Prompt tokens a replica was asked to prefill, and how many its cache held."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    throttled: int = 0

    @property
    def hit_rate(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


class SimulatedTiming:
    """One replica's clock: its prefix cache, prefill queue and decode batch (``FleetLatency``).

    Used by the fleet's HTTP replicas and by the in-process simulator engine alike.
    """

    def __init__(self, latency: FleetLatency, *, slow: float = 1.0) -> None:
        self.latency = latency
        self.slow = slow
        self.cache = CacheStats()
        self.in_flight = 0
        self.prefix_hits = 0
        self._tokens_per_block = max(1, count_tokens("x" * latency.block_chars))
        self._blocks = BlockIndex(1, max(1, latency.prefix_cache_tokens // self._tokens_per_block))
        self._prefill_lock = asyncio.Lock()

    async def prefill(self, request: GenerateRequest) -> int:
        """Wait out the prefill of ``request``'s uncached tokens; returns how many those were."""
        text = prompt_text([(m.role, m.content) for m in request.messages])
        blocks = prompt_blocks(text, self.latency.block_chars)
        total = sum(count_tokens(m.content) for m in request.messages)
        held = self._blocks.matched(0, blocks)
        cached = min(total, held * self._tokens_per_block)
        self._blocks.insert(0, blocks)
        if held:
            self.prefix_hits += 1
        self.cache.prompt_tokens += total
        self.cache.cached_tokens += cached
        seconds = self.latency.prefill_s(total - cached, self.slow)
        if seconds > 0:
            async with self._prefill_lock:
                await asyncio.sleep(seconds)
        return total - cached

    async def decode(self, steps: int, in_flight: int | None = None) -> None:
        """Wait out ``steps`` decode steps, batched with the other sequences in flight."""
        busy = self.in_flight if in_flight is None else in_flight
        seconds = self.latency.decode_s(steps, busy, self.slow)
        if seconds > 0:
            await asyncio.sleep(seconds)


class FleetReplicaServer(SimulatorServer):
    """One replica of a fleet: the simulator with ``FleetLatency`` and ``ReplicaFaults``."""

    def __init__(
        self,
        backend: Replica,
        *,
        latency: FleetLatency,
        faults: ReplicaFaults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str | None = None,
    ) -> None:
        super().__init__(backend, host=host, port=port, latency=latency, model=model)
        self.faults = faults or ReplicaFaults()
        self.timing = SimulatedTiming(latency, slow=self.faults.slow)
        self.cache = self.timing.cache
        self._rng = random.Random(self.faults.seed)
        self._refusing: socket.socket | None = None

    async def start(self, *, handle_signals: bool = False) -> None:
        if not self.faults.dead:
            await super().start(handle_signals=handle_signals)
            return
        # A dead replica: its port is taken but nothing listens, so connections are refused.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._refusing = sock
        guard.allow_endpoint(self.base_url)

    async def stop(self) -> None:
        if self._refusing is not None:
            guard.disallow_endpoint(self.base_url)
            self._refusing.close()
            self._refusing = None
            return
        await super().stop()

    async def wait_closed(self) -> None:
        if self._refusing is not None:
            await asyncio.Event().wait()  # until cancelled (Ctrl-C)
        await super().wait_closed()

    async def _chat(self, http_request: Request) -> Response:
        if self.faults.throttle and self._rng.random() < self.faults.throttle:
            self.stats.requests += 1
            self.cache.throttled += 1
            return _error(429, "too many requests (injected throttling)", "RateLimitError")
        return await super()._chat(http_request)

    async def _prefill(self, request: GenerateRequest) -> None:
        uncached = await self.timing.prefill(request)
        self.stats.prefill_tokens += uncached
        self.stats.prefix_hits = self.timing.prefix_hits

    async def _decode(self, steps: int) -> None:
        await self.timing.decode(steps, self.stats.in_flight)


@dataclass
class SimulatorFleet:
    """K simulator replicas on consecutive ports (or free ones), started and stopped together.

    ``backend`` builds each replica's writer (default: the simulator's deterministic one);
    ``faults`` maps a replica's index to what is wrong with it.
    """

    replicas: int
    latency: FleetLatency = field(default_factory=FleetLatency)
    faults: Mapping[int, ReplicaFaults] = field(default_factory=dict)
    backend: Callable[[str], Replica] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    model: str = "breadth-sim"
    servers: list[FleetReplicaServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ConfigError(f"a fleet needs at least one replica, got {self.replicas!r}")
        unknown = sorted(i for i in self.faults if not 0 <= i < self.replicas)
        if unknown:
            raise ConfigError(
                f"faults name replicas {unknown} but the fleet has replicas 0..{self.replicas - 1}"
            )

    @property
    def urls(self) -> list[str]:
        return [server.base_url for server in self.servers]

    async def start(self, *, handle_signals: bool = False) -> None:
        from orchestrator.models.sim_writer import default_backend

        build = self.backend or default_backend
        try:
            for index in range(self.replicas):
                server = FleetReplicaServer(
                    build(f"{self.model}-{index}"),
                    latency=self.latency,
                    faults=self.faults.get(index),
                    host=self.host,
                    port=self.port + index if self.port else 0,
                    model=self.model,
                )
                await server.start(handle_signals=handle_signals and index == 0)
                self.servers.append(server)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for server in reversed(self.servers):
            await server.stop()
        self.servers.clear()

    async def __aenter__(self) -> SimulatorFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def prefix_hit_rate(self) -> float:
        """Share of the prompt tokens sent to the fleet that a replica's cache held."""
        prompt = sum(s.cache.prompt_tokens for s in self.servers)
        cached = sum(s.cache.cached_tokens for s in self.servers)
        return cached / prompt if prompt else 0.0


def parse_fault_flags(
    slow: Sequence[str], dead: Sequence[int], throttle: Sequence[str]
) -> dict[int, ReplicaFaults]:
    """``--slow I:FACTOR``, ``--dead I`` and ``--throttle I:RATE`` as faults by replica."""
    found: dict[int, dict[str, float | bool]] = {}

    def pair(flag: str, value: str) -> tuple[int, float]:
        index, sep, number = value.partition(":")
        try:
            if not sep:
                raise ValueError
            return int(index), float(number)
        except ValueError:
            raise ConfigError(
                f"{flag} {value!r} is not REPLICA:NUMBER (e.g. {flag} 2:3.0)"
            ) from None

    for value in slow:
        index, factor = pair("--slow", value)
        found.setdefault(index, {})["slow"] = factor
    for value in throttle:
        index, rate = pair("--throttle", value)
        found.setdefault(index, {})["throttle"] = rate
    for index in dead:
        found.setdefault(index, {})["dead"] = True
    return {
        index: ReplicaFaults(seed=index, **values)  # type: ignore[arg-type]
        for index, values in found.items()
    }


def serve_fleet(fleet: SimulatorFleet) -> None:
    """Serve ``fleet`` until Ctrl-C, printing each replica's URL and the flags to use it."""

    async def serve() -> None:
        await fleet.start(handle_signals=True)
        for index, server in enumerate(fleet.servers):
            state = " (dead: refuses connections)" if server.faults.dead else ""
            print(
                f"breadth simulator: OpenAI API at {server.base_url}{state} "
                f"(replica {index} of {fleet.replicas}; Ctrl-C stops it)",
                flush=True,
            )
        flags = " ".join(f"--model-url {url}" for url in fleet.urls)
        print(f"use it with: breadth research QUESTION {flags}", flush=True)
        try:
            await fleet.servers[0].wait_closed()
        finally:
            await fleet.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
