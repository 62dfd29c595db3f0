"""Tracing overhead: the same jobs with tracing off, sampled out and on, side by side.

Each round runs every graph (``--graphs``, default deep_research, debate, tournament)
once per mode, in a rotating order, through the composition root (``Runtime``) on the
embedded store, with the simulator's instant scripted backend in process (no HTTP, no
latency: the worst case for relative overhead, since nothing else takes time). Modes:

- ``baseline``: tracing off, and the operators' fan-out hook removed (``run_all`` as it
  was before tracing had a hook): the code with no tracing in it at all;
- ``off``: tracing off, as shipped: what every untraced job pays (one context-variable
  read per fan-out);
- ``sampled_out``: tracing on with ``OTEL_TRACES_SAMPLER=always_off``'s sampler: every
  wrapper runs, no span is recorded;
- ``on``: tracing on, every span recorded and batched to an exporter that drops them.

Figures (one JSON line on stdout, also written to ``bench/results/tracing_overhead.json``):
per graph, the median wall time and CPU time (this process, all threads: less disturbed
by other work on the machine) of a job per mode (ms), the ratios ``off/baseline``,
``sampled_out/off`` and ``on/off`` (and of CPU time), and the spans per traced job; and
``hook_ns``, the cost of one fan-out through the hook with no observer
(``observe_branches``) measured directly, against ``fanout_us``, one ``run_all`` of two
instant branches.

Run: ``.venv/bin/python bench/tracing_overhead.py [--rounds 15] [--graphs debate,vote]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import agents.strategies.operators.tournament as tournament_module
import agents.strategies.runtime as strategies_runtime
from orchestrator.app import Runtime
from orchestrator.fanout import observe_branches
from orchestrator.job import JobRequest
from orchestrator.models.sim_writer import default_backend
from orchestrator.settings import Settings
from orchestrator.tracing import Tracing

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "tracing_overhead.json"
MODES = ("baseline", "off", "sampled_out", "on")
QUESTION = "How does Python's garbage collector handle reference cycles?"
T = TypeVar("T")


class CountingExporter(SpanExporter):
    """Drops every span, counting them."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


async def run_all_without_hook(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """``run_all`` as it was before the fan-out hook: the baseline."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


@contextlib.contextmanager
def without_hook() -> Iterator[None]:
    shipped = strategies_runtime.run_all
    strategies_runtime.run_all = run_all_without_hook
    tournament_module.run_all = run_all_without_hook  # imported by name there
    try:
        yield
    finally:
        strategies_runtime.run_all = shipped
        tournament_module.run_all = shipped


def tracing_for(mode: str, exporter: CountingExporter) -> Tracing | None:
    if mode == "on":
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return Tracing(provider, owned=provider)
    if mode == "sampled_out":
        provider = TracerProvider(sampler=ALWAYS_OFF)
        return Tracing(provider, owned=provider)
    return None


async def one_job(
    settings: Settings, graph: str, mode: str, exporter: CountingExporter
) -> tuple[float, float]:
    tracing = tracing_for(mode, exporter)
    model = default_backend()
    with without_hook() if mode == "baseline" else contextlib.nullcontext():
        async with await Runtime.open(settings, model=model, tracing=tracing) as runtime:
            started, cpu = time.perf_counter(), time.process_time()
            record = await runtime.research(JobRequest(question=QUESTION, graph=graph))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if tracing is not None:
        tracing.shutdown()  # flushes the batch: the spans are counted
    if record.state != "done":
        raise SystemExit(f"{graph} ({mode}) ended {record.state}: {record.error}")
    return elapsed, cpu


async def hook_cost(repeat: int) -> dict[str, float]:
    """ns per ``observe_branches`` with no observer, and us per two-branch ``run_all``."""

    async def instant() -> int:
        return 1

    branches = [instant(), instant()]
    started = time.perf_counter_ns()
    for _ in range(repeat):
        observe_branches(branches)
    hook_ns = (time.perf_counter_ns() - started) / repeat
    for branch in branches:
        branch.close()
    started = time.perf_counter_ns()
    for _ in range(repeat // 100):
        await strategies_runtime.run_all([instant(), instant()])
    fanout_us = (time.perf_counter_ns() - started) / (repeat // 100) / 1000
    return {"hook_ns": round(hook_ns, 1), "fanout_us": round(fanout_us, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--graphs", default="deep_research,debate,tournament")
    args = parser.parse_args()
    graphs = [g.strip() for g in args.graphs.split(",") if g.strip()]
    for name in ("OTEL_TRACES_SAMPLER", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        os.environ.pop(name, None)
    times: dict[str, dict[str, list[float]]] = {g: {m: [] for m in MODES} for g in graphs}
    cpus: dict[str, dict[str, list[float]]] = {g: {m: [] for m in MODES} for g in graphs}
    spans: dict[str, list[int]] = {g: [] for g in graphs}
    with tempfile.TemporaryDirectory(prefix="breadth-bench-") as data_dir:
        settings = Settings(data_dir=data_dir, namespace="bench-tracing")
        for graph in graphs:  # warm-up: imports, graph loading, the embedded store
            await one_job(settings, graph, "off", CountingExporter())
        for round_ in range(args.rounds):
            for graph in graphs:
                order = MODES[round_ % 4 :] + MODES[: round_ % 4]
                for mode in order:
                    exporter = CountingExporter()
                    wall, cpu = await one_job(settings, graph, mode, exporter)
                    times[graph][mode].append(wall)
                    cpus[graph][mode].append(cpu)
                    if mode == "on":
                        spans[graph].append(exporter.spans)
    figures: dict[str, Any] = {
        "bench": "tracing_overhead",
        "rounds": args.rounds,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "graphs": {},
        **await hook_cost(200_000),
    }
    for graph in graphs:
        median = {mode: statistics.median(times[graph][mode]) for mode in MODES}
        cpu = {mode: statistics.median(cpus[graph][mode]) for mode in MODES}
        figures["graphs"][graph] = {
            **{f"{mode}_ms": round(median[mode] * 1000, 2) for mode in MODES},
            **{f"{mode}_cpu_ms": round(cpu[mode] * 1000, 2) for mode in MODES},
            "off_vs_baseline": round(median["off"] / median["baseline"], 3),
            "sampled_out_vs_off": round(median["sampled_out"] / median["off"], 3),
            "on_vs_off": round(median["on"] / median["off"], 3),
            "cpu_off_vs_baseline": round(cpu["off"] / cpu["baseline"], 3),
            "cpu_on_vs_off": round(cpu["on"] / cpu["off"], 3),
            "spread_off_pct": round(
                100 * statistics.pstdev(times[graph]["off"]) / median["off"], 1
            ),
            "spans_per_job": statistics.median(spans[graph]),
        }
    line = json.dumps(figures)
    print(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
