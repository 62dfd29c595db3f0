"""The service's ``GET /metrics``: jobs by state, queue depth, live workers, tasks, tokens.

Built on each scrape from the store (a fresh registry, so nothing global): job states
are counted over every namespace (the base one and each tenant's); the counters of
finished work come from the workers' stats hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from orchestrator.job import JobRecord
from orchestrator.service.state import ServiceState
from orchestrator.store import keys
from orchestrator.store.redis_store import describe_redis_error, text

STATES = ("queued", "running", "done", "failed", "cancelled")
PAGE = 500


@dataclass
class ServiceSnapshot:
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    queue_waiting: int = 0
    queue_held: int = 0
    workers_alive: int = 0
    stats: dict[str, int] = field(default_factory=dict)


async def snapshot(state: ServiceState) -> ServiceSnapshot:
    """The figures of one scrape (``StoreUnavailable`` if Redis fails)."""
    try:
        return await _snapshot(state)
    except RedisError as exc:
        raise describe_redis_error(exc, state.store.url) from None


async def _snapshot(state: ServiceState) -> ServiceSnapshot:
    client = state.store.client
    base = state.runtime.settings.namespace
    tenants: list[Any] = list((await client.hkeys(keys.tenants(base))) or [])
    namespaces = [base, *(keys.tenant_namespace(base, text(t)) for t in tenants)]
    counts = dict.fromkeys(STATES, 0)
    for namespace in namespaces:
        ids: list[Any] = await client.zrange(keys.jobs_index(namespace), 0, -1)
        for start in range(0, len(ids), PAGE):
            chunk = [keys.job(namespace, text(i)) for i in ids[start : start + PAGE]]
            for raw in await client.mget(chunk):
                if raw is not None:
                    record = JobRecord.model_validate_json(raw)
                    counts[record.state] = counts.get(record.state, 0) + 1
    waiting, held = await state.queue.depth()
    alive = await state.registry.alive(state.config.liveness_s)
    return ServiceSnapshot(counts, waiting, held, len(alive), await state.queue.stats())


class _Collector(Collector):
    def __init__(self, snap: ServiceSnapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        snap = self.snap
        jobs = GaugeMetricFamily("breadth_jobs", "Jobs in the store, by state.", labels=["state"])
        for name, count in sorted(snap.jobs_by_state.items()):
            jobs.add_metric([name], count)
        yield jobs
        yield GaugeMetricFamily(
            "breadth_queue_depth", "Jobs waiting for a worker.", value=snap.queue_waiting
        )
        yield GaugeMetricFamily(
            "breadth_queue_leased", "Jobs held by a worker (leased).", value=snap.queue_held
        )
        yield GaugeMetricFamily(
            "breadth_workers_alive", "Workers that heartbeat recently.", value=snap.workers_alive
        )
        finished = CounterMetricFamily(
            "breadth_jobs_finished", "Jobs that reached a final state.", labels=["state"]
        )
        for name in ("done", "failed", "cancelled"):
            finished.add_metric([name], snap.stats.get(f"jobs_{name}", 0))
        yield finished
        tasks = CounterMetricFamily(
            "breadth_tasks", "Tasks of finished jobs, by outcome.", labels=["status"]
        )
        tasks.add_metric(["done"], snap.stats.get("tasks_done", 0))
        tasks.add_metric(["failed"], snap.stats.get("tasks_failed", 0))
        yield tasks
        tokens = CounterMetricFamily(
            "breadth_tokens", "Model tokens of finished jobs, by kind.", labels=["kind"]
        )
        tokens.add_metric(["prompt"], snap.stats.get("prompt_tokens", 0))
        tokens.add_metric(["completion"], snap.stats.get("completion_tokens", 0))
        yield tokens


def render(snap: ServiceSnapshot) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snap))
    return generate_latest(registry), CONTENT_TYPE_LATEST
