"""The benchmarks' DAG shapes and the pure figures on them (bench/dag_shapes.py): no timings."""

from __future__ import annotations

import pytest

from orchestrator.dag import build_dag
from orchestrator.errors import PlanError
from orchestrator.plan import TaskPlan, TaskSpec
from tests.bench_modules import load_bench_module

shapes = load_bench_module("dag_shapes")


def _plan(*tasks: tuple[str, tuple[str, ...], float]) -> TaskPlan:
    return TaskPlan(tasks=[TaskSpec(id=i, depends_on=d, estimate=e) for i, d, e in tasks])


def test_random_plan_is_a_layered_dag_with_the_latency_mix() -> None:
    plan = shapes.random_plan(200, 20, 0.25, 0.005, 0.05, seed=3)
    build_dag(plan)  # a valid DAG
    assert len(plan.tasks) == 200
    assert {task.estimate for task in plan.tasks} == {0.005, 0.05}
    longs = sum(task.estimate == 0.05 for task in plan.tasks)
    assert 25 <= longs <= 75
    index = {task.id: n for n, task in enumerate(plan.tasks)}
    for n, task in enumerate(plan.tasks):
        assert (not task.depends_on) == (n < 20)  # only the first layer has no dependencies
        assert 1 <= len(task.depends_on) <= 2 or n < 20
        # Every dependency is in an earlier layer.
        assert all(index[dep] // 20 < n // 20 for dep in task.depends_on)


def test_random_plan_depends_on_the_seed_only() -> None:
    first = shapes.random_plan(100, 10, 0.2, 0.005, 0.05, seed=1)
    assert first == shapes.random_plan(100, 10, 0.2, 0.005, 0.05, seed=1)
    assert first != shapes.random_plan(100, 10, 0.2, 0.005, 0.05, seed=2)


def test_chain_beside_tasks_puts_the_side_tasks_first() -> None:
    plan = shapes.chain_beside_tasks(3, 0.02, 4, 0.01)
    ids = [task.id for task in plan.tasks]
    assert ids == ["s00000", "s00001", "s00002", "s00003", "c00000", "c00001", "c00002"]
    deps = {task.id: task.depends_on for task in plan.tasks}
    assert deps["c00000"] == () and deps["c00002"] == ("c00001",)
    assert all(deps[f"s{n:05d}"] == () for n in range(4))
    assert shapes.chain_id(2) == "c00002"
    assert shapes.critical_path(plan, shapes.nominal_durations(plan)) == (pytest.approx(0.06), 3)


def test_diamonds_join_every_fan_out() -> None:
    plan = shapes.diamonds(2, 3, 0.0, 0.01, 0.1, seed=0)
    assert len(plan.tasks) == 1 + 2 * (3 + 1)
    by_id = {task.id: task for task in plan.tasks}
    assert by_id["j0001"].depends_on == ("f0000_0000", "f0000_0001", "f0000_0002")
    assert by_id["f0001_0002"].depends_on == ("j0001",)
    levels = shapes.topological_levels(plan)
    assert [len(level) for level in levels] == [1, 3, 1, 3, 1]
    # No long tasks: the critical path is root, fan, join, fan, join.
    assert shapes.critical_path(plan, shapes.nominal_durations(plan)) == (pytest.approx(0.05), 5)


def test_parallel_chains_are_independent() -> None:
    plan = shapes.parallel_chains(3, 4, 0.5, 0.01, 0.1, seed=0)
    levels = shapes.topological_levels(plan)
    assert [len(level) for level in levels] == [3, 3, 3, 3]
    assert {task.depends_on for task in plan.tasks if task.id.endswith("_00000")} == {()}
    assert next(t for t in plan.tasks if t.id == "k002_00003").depends_on == ("k002_00002",)


def test_critical_path_follows_the_durations_not_the_estimates() -> None:
    plan = _plan(("a", (), 1.0), ("b", ("a",), 1.0), ("c", ("a",), 1.0), ("d", ("b", "c"), 1.0))
    assert shapes.critical_path(plan, {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0}) == (7.0, 3)
    assert shapes.critical_path(plan, {"a": 1.0, "b": 1.0, "c": 9.0, "d": 1.0}) == (11.0, 3)


def test_lower_bound_is_the_larger_of_critical_path_and_work_per_slot() -> None:
    plan = _plan(("a", (), 1.0), ("b", (), 1.0), ("c", (), 1.0), ("d", ("a",), 1.0))
    durations = shapes.nominal_durations(plan)
    assert shapes.lower_bound(plan, durations, 1) == 4.0  # the work, one slot
    assert shapes.lower_bound(plan, durations, 2) == 2.0  # both terms equal
    assert shapes.lower_bound(plan, durations, 100) == 2.0  # the critical path a -> d
    with pytest.raises(ValueError, match="at least 1"):
        shapes.lower_bound(plan, durations, 0)


def test_levels_and_order_put_every_task_after_its_dependencies() -> None:
    # Listed out of order: "late" depends on a task listed after it.
    plan = _plan(("late", ("x",), 1.0), ("root", (), 1.0), ("x", ("root",), 1.0), ("y", (), 1.0))
    assert shapes.topological_levels(plan) == [["root", "y"], ["x"], ["late"]]
    assert shapes.topological_order(plan) == ["root", "y", "x", "late"]
    with pytest.raises(PlanError):
        shapes.topological_order(_plan(("a", ("b",), 1.0), ("b", ("a",), 1.0)))


def test_ready_delays_measure_from_the_last_dependency_or_the_origin() -> None:
    plan = _plan(("a", (), 1.0), ("b", (), 1.0), ("c", ("a", "b"), 1.0))
    starts = {"a": 10.0, "b": 10.5, "c": 13.25}
    ends = {"a": 12.0, "b": 13.0, "c": 14.0}
    delays = shapes.ready_delays(plan, starts, ends, origin=10.0)
    assert delays == {"a": 0.0, "b": 0.5, "c": 0.25}
    summary = shapes.summarize_delays(list(delays.values()))
    assert summary == {"max_ms": 500.0, "mean_ms": 250.0, "total_ms": 750.0}
    assert shapes.summarize_delays([]) == {"max_ms": 0.0, "mean_ms": 0.0, "total_ms": 0.0}
