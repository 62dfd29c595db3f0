"""The Ray executor beyond the shared contract: contexts rebuilt once per worker, a worker
that dies mid-task retried, tokens counted once, and bad input (no Ray, a dead address).

Runs on the session's local Ray (``ray_cluster``); the contract suite
(``test_executor_contract.py``) and the research integration test run on it too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.errors import ConfigError, MissingExtra, WorkerLost
from orchestrator.executors.local import LocalExecutor
from orchestrator.executors.ray_executor import RayExecutor
from orchestrator.graph.spec import GraphSpec, NodeSpec
from orchestrator.job import JobRequest
from orchestrator.plan import TaskPlan, TaskResult, TaskSpec
from orchestrator.ray_cluster import import_ray, probe_address
from orchestrator.retry import is_transient
from orchestrator.scheduler import Scheduler
from orchestrator.settings import Settings
from orchestrator.tasks import JobRef, run_task
from orchestrator.usage import TokenUsage
from tests.support import EventLog

ROOT = Path(__file__).resolve().parents[1]
GRAPH = GraphSpec(name="probe", nodes={"only": NodeSpec(op="noop")})

# How many contexts this process rebuilt (in a Ray worker: that worker's count).
REBUILDS = {"count": 0}


class ProbeContext:
    """What ``rebuild_probe`` builds: enough of a context for the probe handlers."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.budget = BudgetTracker(Budgets())


async def rebuild_probe(ref: JobRef) -> Any:
    REBUILDS["count"] += 1
    return ProbeContext(ref.job_id)


async def where(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
    """Say which process ran the task and how many contexts that process rebuilt."""
    output = {"pid": os.getpid(), "rebuilds": REBUILDS["count"], "job": ctx.job_id}
    return TaskResult(task_id=task.id, status="done", output=output)


async def die_once(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
    """Kill the worker process on the first attempt (a marker file says it was made)."""
    marker = Path(task.params["marker"])
    if not marker.exists():
        marker.write_text("died once")
        os._exit(1)
    return TaskResult(task_id=task.id, status="done", output={"pid": os.getpid()})


async def spend(task: TaskSpec, deps: Mapping[str, TaskResult], ctx: Any) -> TaskResult:
    """Spend 15 tokens the way a handler does: count them in ctx's budget, report them."""
    usage = TokenUsage(prompt_tokens=10, completion_tokens=5)
    ctx.budget.record(usage)
    return TaskResult(task_id=task.id, status="done", usage=usage)


def probe_ref(job_id: str) -> JobRef:
    return JobRef(job_id, Settings(), GRAPH, JobRequest(question="probe"), rebuild_probe)


@pytest.fixture
async def executor(ray_cluster: str) -> AsyncIterator[RayExecutor]:
    built = RayExecutor()
    yield built
    await built.aclose()


pytestmark = pytest.mark.ray


async def test_each_worker_rebuilds_the_job_context_once(executor: RayExecutor) -> None:
    ref = probe_ref("job-rebuild")
    outputs = [
        (await executor.submit(run_task, where, TaskSpec(id=f"t{i}"), {}, ref)).output
        for i in range(6)
    ]
    pids = {o["pid"] for o in outputs}
    assert os.getpid() not in pids
    assert pids <= set(await executor.worker_pids())
    assert len(pids) == executor.workers  # submissions go to the least busy worker in turn
    assert all(o["rebuilds"] == 1 and o["job"] == "job-rebuild" for o in outputs)


async def test_a_worker_that_dies_mid_task_is_retried_on_a_new_worker(
    executor: RayExecutor, tmp_path: Path
) -> None:
    events = EventLog()
    scheduler = Scheduler(
        executor=executor,
        handlers={"research": die_once},
        context=probe_ref("job-die"),
        budget=BudgetTracker(Budgets(max_retries=2, retry_backoff_s=0.0)),
        job_id="job-die",
        events=events,
    )
    task = TaskSpec(id="fragile", params={"marker": str(tmp_path / "died")})
    outcome = await scheduler.run(TaskPlan(tasks=[task]))
    result = outcome.results["fragile"]
    assert result.status == "done", result.error
    assert result.attempts == 2
    (retry,) = events.of_type("task_retry")
    assert "WorkerLost" in retry.data["error"] and "died" in retry.data["error"]
    assert result.output["pid"] in await executor.worker_pids()


def test_worker_lost_is_transient() -> None:
    assert is_transient(WorkerLost("worker 0 died"))


async def spend_tokens_on(
    executor: Any, context: Any, budget: BudgetTracker, events: EventLog | None = None
) -> None:
    scheduler = Scheduler(
        executor=executor,
        handlers={"research": spend},
        context=context,
        budget=budget,
        job_id="job-spend",
        events=events,
    )
    outcome = await scheduler.run(TaskPlan(tasks=[TaskSpec(id="a"), TaskSpec(id="b")]))
    assert {r.status for r in outcome.results.values()} == {"done"}


async def test_remote_task_tokens_reach_the_job_budget_once(executor: RayExecutor) -> None:
    budget = BudgetTracker(Budgets())
    events = EventLog()
    await spend_tokens_on(executor, probe_ref("job-spend"), budget, events)
    assert budget.usage.total_tokens == 30
    # The progress view hears the job's running total; no tokens are reported twice.
    totals = [e.data["total_tokens"] for e in events.of_type("tokens")]
    assert sorted(totals) == [15, 30]
    assert all(e.data["prompt_tokens"] == 0 for e in events.of_type("tokens"))


async def test_local_task_tokens_are_not_counted_twice() -> None:
    # In process, the handler's ctx is the job's own context: its budget is the job's.
    context = ProbeContext("job-spend")
    events = EventLog()
    await spend_tokens_on(LocalExecutor(), context, context.budget, events)
    assert context.budget.usage.total_tokens == 30
    assert not events.of_type("tokens")  # in process, the handler's calls report their own


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtra, match=r"pip install 'breadth\[ray\]'"):
        import_ray()


def test_an_address_that_does_not_answer_is_named() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        with pytest.raises(ConfigError) as caught:
            probe_address(address)
    assert repr(address) in str(caught.value) and "does not answer" in str(caught.value)
    with pytest.raises(ConfigError, match="is not host:port"):
        probe_address("just-a-name")


def test_research_with_a_dead_ray_address_exits_2_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREADTH_", "RAY_"))}
    env["BREADTH_HOME"] = str(tmp_path)
    flags = ["--executor", "ray", "--ray-address", "127.0.0.1:9"]
    run = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "research", "Why?", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 2, run.stderr
    assert "'127.0.0.1:9'" in run.stderr and "does not answer" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
async def test_a_job_on_ray_uses_the_embedded_store_through_its_socket(
    ray_cluster: str, tmp_path: Path
) -> None:
    from orchestrator.app import Runtime
    from orchestrator.events import Event
    from orchestrator.models.sim_writer import default_backend
    from orchestrator.models.simulator import SimulatorServer
    from orchestrator.store.embedded import DB_FILE, REGISTRY_SUFFIX

    seen: list[Event] = []
    async with SimulatorServer(default_backend()) as simulator:
        settings = Settings(
            model_urls=(simulator.base_url,), data_dir=str(tmp_path), executor="ray"
        )
        async with await Runtime.open(settings) as runtime:
            record = await runtime.research(
                JobRequest(question="What does the cyclic garbage collector do?"),
                listeners=[seen.append],
            )
            streamed = [e for _, e in await runtime.store.read_events(record.id)]
    assert record.state == "done", record.error
    # The research tasks ran on Ray; their events came over the workers' own connections.
    assert [e.type for e in seen] == [e.type for e in streamed]
    researched = {e.task_id for e in seen if e.type == "task_finished"}
    assert researched and any(e.type == "tokens" and e.task_id in researched for e in seen)
    # Every worker closed its store when the job ended: the last close stopped the server.
    assert not (tmp_path / (DB_FILE + REGISTRY_SUFFIX)).exists()
