"""Routing benchmark: round-robin, least-loaded and prefix-aware routing on a simulated fleet.

Each (policy, workload) pair gets a fresh simulated fleet of ``--replicas`` replicas
(``orchestrator.models.sim_fleet``: prefill per uncached prompt token, serialised per
replica; batched decode slowed by load; a bounded block prefix cache) and a ``ModelPool``
with that policy's router over them, then runs the workload through the real code:

- ``vote_n16``: the ``vote`` op with n=16 (one request of 16 samples per question);
- ``debate_3x3``: the ``debate`` op, 3 agents x 3 rounds;
- ``moa_2x3``: the ``moa`` op, 2 layers x 3 proposers;
- ``deep_research``: whole ``deep_research`` jobs through the composition root (planner,
  researchers' tool loops over the built-in corpus, synthesizer), on the embedded store
  in a temporary folder.

Operator questions each carry their own document of ``--doc-tokens`` tokens in the system
prompt (retrieved context: prefill matters), ``--concurrency`` questions in flight. Every model
call is streamed, to time its first token.

Figures, one JSON line per policy and workload (also written to
``bench/results/routing.json``): ``policy``, ``workload``, ``throughput_rps`` (requests
completed per second of wall time), ``ttft_p50_s`` and ``ttft_p99_s`` (time to the first
token of each request), ``prefix_hit_rate`` (share of prompt tokens the replicas' caches
held), plus ``requests``, ``wall_s`` and ``prefill_tokens``. Then one line per workload
comparing prefix-aware with round-robin (the goal: >= 1.4x the throughput).

Run: ``.venv/bin/python bench/routing.py [--questions 16] [--only debate_3x3,moa_2x3]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import Runtime, builtin_ops
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.context import RunContext
from orchestrator.errors import BreadthError
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.job import JobRequest
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import (
    ChatMessage,
    Choice,
    Completion,
    FinishReason,
    GenerateRequest,
    Replica,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.models.routing import POLICIES, make_router
from orchestrator.models.sim_fleet import FleetLatency, SimulatorFleet
from orchestrator.settings import Settings
from orchestrator.usage import TokenUsage

RESULTS = Path(__file__).parent / "results" / "routing.json"
OPS = builtin_ops()

WORD_TEXT = (
    "reference counting frees objects at once while the cyclic collector finds groups of "
    "objects that refer to each other and reclaims them in three generations tuned by "
    "thresholds weak references break cycles in caches finalizers run before the memory "
    "is released and the allocator keeps pools of small blocks per size class"
)
WORDS = WORD_TEXT.split()

QUESTIONS = [
    "How does Python's garbage collector handle reference cycles?",
    "When does the cyclic collector run, and what triggers a full collection?",
    "What do weak references change for caches?",
    "How do finalizers interact with reference cycles?",
    "Why does CPython use reference counting at all?",
    "How are small objects allocated?",
]


@dataclass
class TimedReplica:
    """Streams every call to the pool, timing its first token; assembles the completion."""

    inner: Replica
    name: str = "timed"
    ttfts: list[float] = field(default_factory=list)
    requests: int = 0

    async def generate(self, request: GenerateRequest) -> Completion:
        started = time.perf_counter()
        texts: dict[int, list[str]] = {}
        logprobs: dict[int, list[TokenLogprob]] = {}
        finish: dict[int, FinishReason] = {}
        usage = TokenUsage()
        first = True
        async for chunk in self.inner.stream(request):
            if chunk.delta and first:
                self.ttfts.append(time.perf_counter() - started)
                first = False
            texts.setdefault(chunk.index, []).append(chunk.delta)
            logprobs.setdefault(chunk.index, []).extend(chunk.logprobs or [])
            if chunk.finish_reason is not None:
                finish[chunk.index] = chunk.finish_reason
            if chunk.usage is not None:
                usage = chunk.usage
        self.requests += 1
        choices = [
            Choice(
                index=i,
                text="".join(texts[i]),
                finish_reason=finish.get(i, "stop"),
                logprobs=logprobs[i] if request.logprobs else None,
            )
            for i in sorted(texts)
        ]
        return Completion(choices=choices, usage=usage, replica=self.name)

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def document(question: int, tokens: int) -> str:
    """A deterministic document of about ``tokens`` tokens for one question."""
    rng = random.Random(question)
    words = []
    while sum(len(w) + 1 for w in words) < tokens * 4:
        words.append(rng.choice(WORDS))
    return f"Document {question}: " + " ".join(words)


class _Drop:
    async def emit(self, event: Event) -> None:
        return None


def _context(model: Replica) -> RunContext:
    graph = GraphSpec(
        name="bench",
        agents={n: AgentSpec() for n in ("judge", "aggregator", "solver")},
        nodes={"only": NodeSpec(op="vote")},
    )
    return RunContext(
        job_id="bench",
        question="",
        models={"default": model},
        executor=LocalExecutor(),
        budget=BudgetTracker(Budgets()),
        events=_Drop(),
        graph=graph,
        ops=OPS,
    )


def operator_workload(op: str, params: dict[str, Any]) -> Workload:
    defn = STRATEGIES[op]
    parsed = parse_params(defn, params, where=f"bench {op}")

    async def run(model: Replica, args: argparse.Namespace) -> None:
        gate = asyncio.Semaphore(args.concurrency)

        async def one(q: int) -> None:
            # The question's document leads the prompt (retrieved context in the system
            # prompt), so every branch and round of the operator shares it as a prefix.
            messages = [
                ChatMessage(role="system", content=document(q, args.doc_tokens)),
                ChatMessage(role="user", content=QUESTIONS[q % len(QUESTIONS)]),
            ]
            # An operator that cannot parse the simulator's text still spent the calls.
            async with gate:
                with contextlib.suppress(BreadthError):
                    await defn.run(Branches(_context(model), AgentSpec()), parsed, messages)

        await asyncio.gather(*(one(q) for q in range(args.questions)))

    return run


async def deep_research(model: Replica, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="breadth-bench-") as home:
        settings = Settings(data_dir=home, namespace="bench")
        async with await Runtime.open(settings, model=model) as runtime:
            gate = asyncio.Semaphore(args.concurrency)

            async def one(q: int) -> None:
                async with gate:
                    await runtime.research(JobRequest(question=QUESTIONS[q % len(QUESTIONS)]))

            await asyncio.gather(*(one(q) for q in range(args.jobs)))


Workload = Callable[[Replica, argparse.Namespace], Awaitable[None]]

WORKLOADS: dict[str, Workload] = {
    "vote_n16": operator_workload("vote", {"n": 16, "extract": "last_number"}),
    "debate_3x3": operator_workload("debate", {"agents": 3, "rounds": 3, "extract": "last_number"}),
    "moa_2x3": operator_workload("moa", {"layers": 2, "width": 3}),
    "deep_research": deep_research,
}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_one(policy: str, workload: str, args: argparse.Namespace) -> dict[str, Any]:
    latency = FleetLatency(
        prefill_s_per_token=args.prefill_ms_per_token / 1e3,
        decode_s_per_token=args.decode_ms_per_token / 1e3,
        load_slowdown=args.load_slowdown,
        prefix_cache_tokens=args.prefix_cache_tokens,
    )
    async with SimulatorFleet(args.replicas, latency=latency) as fleet:
        clients: list[Replica] = [OpenAIReplica(url) for url in fleet.urls]
        pool = ModelPool(clients, name="fleet", router=make_router(policy, len(clients)))
        timed = TimedReplica(pool)
        started = time.perf_counter()
        try:
            await WORKLOADS[workload](timed, args)
        finally:
            wall = time.perf_counter() - started
            await pool.aclose()
        return {
            "bench": "routing",
            "policy": policy,
            "workload": workload,
            "throughput_rps": round(timed.requests / wall, 3),
            "ttft_p50_s": round(statistics.median(timed.ttfts), 4) if timed.ttfts else 0.0,
            "ttft_p99_s": round(percentile(timed.ttfts, 0.99), 4),
            "prefix_hit_rate": round(fleet.prefix_hit_rate(), 4),
            "requests": timed.requests,
            "wall_s": round(wall, 3),
            "prefill_tokens": sum(s.stats.prefill_tokens for s in fleet.servers),
            "replicas": args.replicas,
        }


def comparisons(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prefix-aware against round-robin per workload: the issue's goal is >= 1.4x."""
    out = []
    by = {(r["policy"], r["workload"]): r for r in rows}
    for workload in dict.fromkeys(r["workload"] for r in rows):
        rr, pa = by.get(("round_robin", workload)), by.get(("prefix_aware", workload))
        if rr is None or pa is None:
            continue
        ratio = pa["throughput_rps"] / rr["throughput_rps"] if rr["throughput_rps"] else 0.0
        ttft = pa["ttft_p50_s"] / rr["ttft_p50_s"] if rr["ttft_p50_s"] else 0.0
        out.append(
            {
                "check": "prefix_aware throughput >= 1.4x round_robin",
                "workload": workload,
                "throughput_ratio": round(ratio, 3),
                "ttft_p50_ratio": round(ttft, 3),
                "pass": ratio >= 1.4,
            }
        )
    return out


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    workloads = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    rows = []
    for workload in workloads:
        for policy in POLICIES:
            row = await run_one(policy, workload, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    checks = comparisons(rows)
    for check in checks:
        print(json.dumps(check), flush=True)
    return rows + checks


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--replicas", type=int, default=4, help="fleet size (default 4)")
    parser.add_argument("--questions", type=int, default=32, help="operator questions (32)")
    parser.add_argument("--jobs", type=int, default=24, help="deep_research jobs (default 24)")
    parser.add_argument("--concurrency", type=int, default=32, help="questions in flight (32)")
    parser.add_argument("--doc-tokens", type=int, default=2000, help="tokens per document (2000)")
    # About a 70B model on one GPU: ~2,000 prompt tokens/s of prefill, ~50 tokens/s decode.
    parser.add_argument("--prefill-ms-per-token", type=float, default=0.5)
    parser.add_argument("--decode-ms-per-token", type=float, default=20.0)
    parser.add_argument("--load-slowdown", type=float, default=0.02)
    parser.add_argument("--prefix-cache-tokens", type=int, default=32_000)
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    return parser.parse_args()


if __name__ == "__main__":
    lines = asyncio.run(main(parse_args()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("".join(json.dumps(line) + "\n" for line in lines))
