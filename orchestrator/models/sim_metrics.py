"""The simulator's ``GET /metrics``: Prometheus text with vLLM's metric names where they exist.

Tests and benchmarks count a simulated replica's requests and tokens from outside, the
way they would scrape a vLLM server (``vllm:prompt_tokens_total``, ...). The page is
built from a stats snapshot on each scrape, so it needs no global registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector


@dataclass
class TokenCounters:
    """What the simulator has served: tokens, and finished requests by finish reason."""

    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished: dict[str, int] = field(default_factory=dict)

    def count(self, prompt_tokens: int, generation_tokens: int, reasons: list[str]) -> None:
        self.prompt_tokens += prompt_tokens
        self.generation_tokens += generation_tokens
        # vLLM counts a request once, by the finish reason of its (first) sequence.
        reason = reasons[0] if reasons else "stop"
        self.finished[reason] = self.finished.get(reason, 0) + 1


@dataclass(frozen=True)
class SimulatorSnapshot:
    model: str
    requests: int
    running: int
    faults_served: int
    aborted_streams: int
    prefix_hits: int
    tokens: TokenCounters


class _SnapshotCollector(Collector):
    def __init__(self, snap: SimulatorSnapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        snap, labels = self.snap, ["model_name"]
        running = GaugeMetricFamily(
            "vllm:num_requests_running", "Requests being generated right now.", labels=labels
        )
        running.add_metric([snap.model], snap.running)
        waiting = GaugeMetricFamily(
            "vllm:num_requests_waiting", "Requests waiting to be scheduled.", labels=labels
        )
        waiting.add_metric([snap.model], 0)
        prompt = CounterMetricFamily(
            "vllm:prompt_tokens", "Prompt tokens of finished requests.", labels=labels
        )
        prompt.add_metric([snap.model], snap.tokens.prompt_tokens)
        generation = CounterMetricFamily(
            "vllm:generation_tokens", "Generated tokens of finished requests.", labels=labels
        )
        generation.add_metric([snap.model], snap.tokens.generation_tokens)
        success = CounterMetricFamily(
            "vllm:request_success",
            "Finished requests, by finish reason.",
            labels=["model_name", "finished_reason"],
        )
        for reason, count in sorted(snap.tokens.finished.items()):
            success.add_metric([snap.model, reason], count)
        yield from (running, waiting, prompt, generation, success)
        for name, doc, value in (
            ("breadth_sim_requests", "Chat requests received (faults included).", snap.requests),
            (
                "breadth_sim_faults_served",
                "Requests answered with an injected fault.",
                snap.faults_served,
            ),
            (
                "breadth_sim_aborted_streams",
                "Streams closed before their end.",
                snap.aborted_streams,
            ),
            (
                "breadth_sim_prefix_cache_hits",
                "Requests whose prefix was cached.",
                snap.prefix_hits,
            ),
        ):
            counter = CounterMetricFamily(name, doc, labels=labels)
            counter.add_metric([snap.model], value)
            yield counter


def render_metrics(snap: SimulatorSnapshot) -> tuple[bytes, str]:
    """The Prometheus text page of ``snap`` and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap))
    return generate_latest(registry), CONTENT_TYPE_LATEST
