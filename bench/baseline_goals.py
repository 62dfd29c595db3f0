"""The issue's goals for ``baselines.py``, checked on its rows (pure: no clock, no I/O).

A row is one shape and system (``label``, ``system``, ``makespan_s``, ``ratio``, ...; a
system that did not run the shape has ``skipped`` instead of figures). Each goal gives one
line per case it applies to, with the measured value and whether it passed (``None``:
reported, no goal to pass):

- breadth >= 1.5x faster than LangGraph in supersteps, on the ``random`` shape;
- breadth >= 3.7x faster than the sequential loop, where the DAG's width allows (its work
  is at least 3.7 times its lower bound) and the sequential loop ran;
- breadth's makespan <= 1.05x the lower bound where the critical path, not the
  concurrency limit, is the bottleneck; where the limit is, the ratio and the chain's
  waits (``chain_beside``) are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def checks(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per goal of the issue, per case it applies to, with the measured figure."""
    out: list[dict[str, Any]] = []
    by_case: dict[str, dict[str, Mapping[str, Any]]] = {}
    for row in rows:
        by_case.setdefault(row["label"], {})[row["system"]] = row
    for label, systems in by_case.items():
        breadth = systems.get("breadth")
        if breadth is None or "makespan_s" not in breadth:
            continue
        lang: Mapping[str, Any] = systems.get("langgraph", {})
        if breadth["shape"] == "random" and "makespan_s" in lang:
            speedup = lang["makespan_s"] / breadth["makespan_s"]
            out.append(
                _check(
                    "breadth >= 1.5x faster than LangGraph supersteps",
                    label,
                    speedup,
                    speedup >= 1.5,
                )
            )
        seq: Mapping[str, Any] = systems.get("sequential", {})
        parallelism = breadth["work_nominal_s"] / breadth["bound_nominal_s"]
        if "makespan_s" in seq and parallelism >= 3.7:
            speedup = seq["makespan_s"] / breadth["makespan_s"]
            out.append(
                _check("breadth >= 3.7x faster than sequential", label, speedup, speedup >= 3.7)
            )
        if breadth["bottleneck"] == "critical_path":
            ratio = breadth["ratio"]
            row = _check(
                "breadth makespan <= 1.05x the bound (concurrency not the bottleneck)",
                label,
                ratio,
                ratio <= 1.05,
            )
            # The same from the first task's start (breadth's DAG building left out).
            row["ratio_from_first_start"] = breadth["ratio_from_first_start"]
            out.append(row)
        else:
            row = _check(
                "breadth makespan / bound where concurrency is the bottleneck",
                label,
                breadth["ratio"],
                None,
            )
            if "chain_waits_behind_side" in breadth:
                row["chain_waits_behind_side"] = breadth["chain_waits_behind_side"]
                row["chain_hop_wait_max_ms"] = breadth["chain_hop_wait_max_ms"]
                row["chain_first_start_ms"] = breadth["chain_first_start_ms"]
            out.append(row)
    return out


def _check(goal: str, label: str, value: float, passed: bool | None) -> dict[str, Any]:
    return {"check": goal, "case": label, "value": round(value, 3), "pass": passed}
