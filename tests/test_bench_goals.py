"""The goals of the baselines bench checked on its rows (bench/baseline_goals.py): no timings."""

from __future__ import annotations

from typing import Any

from tests.bench_modules import load_bench_module

goals = load_bench_module("baseline_goals")


def _row(label: str, system: str, makespan: float, **extra: Any) -> dict[str, Any]:
    row = {
        "label": label,
        "shape": extra.pop("shape", "random"),
        "system": system,
        "makespan_s": makespan,
        "ratio": extra.pop("ratio", 1.0),
        "work_nominal_s": extra.pop("work", 10.0),
        "bound_nominal_s": extra.pop("bound", 1.0),
        "bottleneck": extra.pop("bottleneck", "critical_path"),
        "ratio_from_first_start": 1.0,
    }
    return {**row, **extra}


def test_each_goal_passes_or_fails_on_its_threshold() -> None:
    rows = [
        _row("random n=10", "breadth", 1.0, ratio=1.04),
        _row("random n=10", "langgraph", 1.6),
        _row("random n=10", "sequential", 3.6),
        _row("random n=99", "breadth", 2.0, ratio=1.06),
        _row("random n=99", "langgraph", 2.8),
        _row("random n=99", "sequential", 8.0),
    ]
    lines = goals.checks(rows)
    assert [(line["case"], line["pass"]) for line in lines] == [
        ("random n=10", True),  # 1.6x LangGraph
        ("random n=10", False),  # 3.6x sequential
        ("random n=10", True),  # 1.04 of the bound
        ("random n=99", False),  # 1.4x LangGraph
        ("random n=99", True),  # 4x sequential
        ("random n=99", False),  # 1.06 of the bound
    ]
    assert [line["value"] for line in lines[:3]] == [1.6, 3.6, 1.04]


def test_goals_that_do_not_apply_give_no_line() -> None:
    rows = [
        # Not a random DAG: no LangGraph goal; too narrow: no sequential goal.
        _row("chains", "breadth", 1.0, shape="chains", work=3.0, bound=1.0),
        _row("chains", "langgraph", 3.0, shape="chains"),
        _row("chains", "sequential", 3.0, shape="chains"),
        # Sequential skipped: no sequential goal.
        _row("random n=5", "breadth", 1.0),
        {"label": "random n=5", "system": "sequential", "skipped": "too long"},
        # No breadth row: nothing to check.
        _row("random n=6", "langgraph", 1.0),
    ]
    lines = goals.checks(rows)
    assert [(line["check"].split(" ")[1], line["case"]) for line in lines] == [
        ("makespan", "chains"),
        ("makespan", "random n=5"),
    ]


def test_where_concurrency_is_the_bottleneck_the_ratio_and_chain_waits_are_reported() -> None:
    breadth = _row(
        "chain",
        "breadth",
        1.5,
        shape="chain_beside",
        bottleneck="concurrency",
        ratio=1.2,
        chain_waits_behind_side=0,
        chain_hop_wait_max_ms=0.5,
        chain_first_start_ms=4.0,
    )
    [line] = goals.checks([breadth])
    assert line["pass"] is None
    assert line["value"] == 1.2
    assert (line["chain_waits_behind_side"], line["chain_hop_wait_max_ms"]) == (0, 0.5)
    assert line["chain_first_start_ms"] == 4.0
