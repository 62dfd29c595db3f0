"""Benchmark: breadth's scheduler against LangGraph, ``asyncio.gather`` and a sequential loop.

The same task DAGs, with the same task latencies (``asyncio.sleep``) and the same
concurrency limit, run through every system of ``baseline_systems`` (``--systems``):
breadth's ``Scheduler``, LangGraph in supersteps (a node per task, waiting edges),
LangGraph with a ``Send`` fan-out per level, ``asyncio.gather`` per topological level,
and one task at a time. Shapes (``--shapes``, built by ``dag_shapes``):

- ``random``: layered random planner-like DAGs of each size of ``--sizes``;
- ``chain_beside``: a long chain beside ``--side-tasks`` independent tasks at
  ``--chain-concurrency`` (16): concurrency is the bottleneck, and the question is whether
  a chain task ever waits behind the side tasks;
- ``diamonds``: fan-out -> join -> fan-out, ``--stages`` times;
- ``chains``: ``--chains`` deep chains side by side.

One JSON line per shape and system (also in ``bench/results/baselines.json``), then one
line per goal of the issue; a PNG of makespan / lower bound per system and shape in
``bench/results/baselines.png`` (needs matplotlib: ``pip install -e ".[bench]"``).
bench/README.md lists the fields.

Run: ``.venv/bin/python bench/baselines.py [--sizes 100,1000,10000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baseline_goals import checks
from baseline_systems import RUNNERS, SYSTEMS, Run, Timeline
from dag_shapes import (
    chain_beside_tasks,
    chain_id,
    critical_path,
    diamonds,
    lower_bound,
    nominal_durations,
    parallel_chains,
    random_plan,
    ready_delays,
    summarize_delays,
    topological_levels,
)

from orchestrator.plan import TaskPlan

RESULTS = Path(__file__).parent / "results"
SHAPES = ("random", "chain_beside", "diamonds", "chains")


@dataclass
class Case:
    """One DAG to run through every system."""

    shape: str
    label: str
    plan: TaskPlan
    concurrency: int


@dataclass
class Measured:
    """One run of a case by a system, with the figures taken from its timeline."""

    run: Run
    bound_s: float
    critical_path_s: float
    work_s: float
    delays: dict[str, float]
    # From the call to the first task's start: building the DAG, or compiling.
    first_start_s: float


def build_cases(args: argparse.Namespace) -> list[Case]:
    short_s, long_s, frac = args.short_ms / 1e3, args.long_ms / 1e3, args.long_fraction
    cases: list[Case] = []
    for shape in args.shapes:
        if shape == "random":
            for size in args.sizes:
                # Large DAGs get shorter latencies, so that the whole run takes minutes.
                scale = args.large_scale if size > args.large_tasks else 1.0
                plan = random_plan(
                    size, args.width, frac, short_s * scale, long_s * scale, args.seed
                )
                cases.append(Case(shape, f"random n={size}", plan, args.concurrency))
        elif shape == "chain_beside":
            plan = chain_beside_tasks(
                args.chain_length, args.chain_ms / 1e3, args.side_tasks, args.side_ms / 1e3
            )
            label = (
                f"chain {args.chain_length} + {args.side_tasks} side, c={args.chain_concurrency}"
            )
            cases.append(Case(shape, label, plan, args.chain_concurrency))
        elif shape == "diamonds":
            plan = diamonds(args.stages, args.diamond_width, frac, short_s, long_s, args.seed)
            label = f"diamonds {args.stages}x{args.diamond_width}"
            cases.append(Case(shape, label, plan, args.concurrency))
        else:
            plan = parallel_chains(args.chains, args.depth, frac, short_s, long_s, args.seed)
            label = f"chains {args.chains}x{args.depth}"
            cases.append(Case(shape, label, plan, args.concurrency))
    return cases


async def measure(case: Case, system: str) -> Measured:
    """Run ``case`` once through ``system``; figures from the tasks' recorded times."""
    timeline = Timeline(nominal_durations(case.plan))
    gc.collect()  # one run's garbage does not pause the next
    run = await RUNNERS[system](case.plan, case.concurrency, timeline)
    durations = timeline.durations()
    return Measured(
        run=run,
        bound_s=lower_bound(case.plan, durations, case.concurrency),
        critical_path_s=critical_path(case.plan, durations)[0],
        work_s=sum(durations.values()),
        delays=ready_delays(case.plan, timeline.starts, timeline.ends, timeline.origin),
        first_start_s=min(timeline.starts.values()) - timeline.origin,
    )


def skip_reason(case: Case, system: str, args: argparse.Namespace) -> str | None:
    """Why ``system`` does not run ``case`` (None: it does)."""
    work = sum(nominal_durations(case.plan).values())
    if system == "sequential" and work > args.sequential_max_s:
        return (
            f"the DAG's work is {work:.1f} s, over --sequential-max-s {args.sequential_max_s:g}; "
            "one task at a time takes at least that long"
        )
    return None


async def run_case(case: Case, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every system on ``case``, ``--repeat`` rounds, the systems' order rotating per round."""
    systems = [s for s in args.systems if skip_reason(case, s, args) is None]
    runs: dict[str, list[Measured]] = {s: [] for s in systems}
    for round_ in range(args.repeat):
        shift = round_ % len(systems)
        for system in systems[shift:] + systems[:shift]:
            runs[system].append(await measure(case, system))
    rows = [describe(case, system, runs[system], args) for system in systems]
    breadth = next((r for r in rows if r["system"] == "breadth"), None)
    for row in rows:
        if breadth is not None:
            row["breadth_speedup"] = round(row["makespan_s"] / breadth["makespan_s"], 3)
    for system in args.systems:
        reason = skip_reason(case, system, args)
        if reason is not None:
            rows.append({**case_fields(case), "system": system, "skipped": reason})
    return rows


def case_fields(case: Case) -> dict[str, Any]:
    nominal = nominal_durations(case.plan)
    critical_s, hops = critical_path(case.plan, nominal)
    work_s = sum(nominal.values())
    levels = topological_levels(case.plan)
    return {
        "bench": "baselines",
        "shape": case.shape,
        "label": case.label,
        "tasks": len(case.plan.tasks),
        "edges": sum(len(task.depends_on) for task in case.plan.tasks),
        "levels": len(levels),
        "widest_level": max(len(level) for level in levels),
        "critical_path_tasks": hops,
        "concurrency": case.concurrency,
        "latencies_ms": sorted({round(task.estimate * 1e3, 3) for task in case.plan.tasks}),
        "critical_path_nominal_s": round(critical_s, 4),
        "work_nominal_s": round(work_s, 4),
        "bound_nominal_s": round(max(critical_s, work_s / case.concurrency), 4),
        # Which term of the bound is larger: is the concurrency limit the bottleneck?
        "bottleneck": "concurrency" if work_s / case.concurrency > critical_s else "critical_path",
    }


def describe(
    case: Case, system: str, runs: list[Measured], args: argparse.Namespace
) -> dict[str, Any]:
    """The row of ``system`` on ``case``: its median run's figures, and the spread."""
    ordered = sorted(runs, key=lambda m: m.run.makespan_s)
    median = ordered[len(ordered) // 2]
    makespan = median.run.makespan_s
    fields = case_fields(case)
    row: dict[str, Any] = {
        **fields,
        "system": system,
        "makespan_s": round(makespan, 4),
        "makespan_min_s": round(ordered[0].run.makespan_s, 4),
        "makespan_max_s": round(ordered[-1].run.makespan_s, 4),
        "repeat": len(runs),
        "critical_path_s": round(median.critical_path_s, 4),
        "work_s": round(median.work_s, 4),
        "bound_s": round(median.bound_s, 4),
        "ratio": round(makespan / median.bound_s, 4),
        "ratio_nominal": round(makespan / fields["bound_nominal_s"], 4),
        "setup_s": round(median.run.setup_s, 4),
        "first_start_ms": round(median.first_start_s * 1e3, 3),
        "ratio_from_first_start": round((makespan - median.first_start_s) / median.bound_s, 4),
        **{
            f"ready_wait_{k}": round(v, 3)
            for k, v in summarize_delays(list(median.delays.values())).items()
        },
    }
    if case.shape == "chain_beside":
        chain = [median.delays[chain_id(i)] for i in range(args.chain_length)]
        # The first chain task's wait counts from the run's start (breadth builds the DAG
        # first); each later one's from the end of the task before it: one hop.
        row["chain_first_start_ms"] = round(chain[0] * 1e3, 3)
        hops = summarize_delays(chain[1:])
        row.update({f"chain_hop_wait_{k}": round(v, 3) for k, v in hops.items()})
        # A chain task that waited over half a side task's latency waited behind one.
        threshold = args.side_ms / 2e3
        row["chain_waits_behind_side"] = sum(1 for delay in chain if delay > threshold)
    return row


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Grouped bars: makespan / lower bound per system, one group per case."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            'matplotlib is missing, so no plot: install it with `pip install -e ".[bench]"`',
            file=sys.stderr,
        )
        return
    measured = [row for row in rows if "ratio" in row]
    labels = list(dict.fromkeys(row["label"] for row in measured))
    systems = list(dict.fromkeys(row["system"] for row in measured))
    ratio = {(row["label"], row["system"]): row["ratio"] for row in measured}
    skipped = {(row["label"], row["system"]) for row in rows if "skipped" in row}
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(8.0, 1.6 * len(labels)), 5))
    for index, system in enumerate(systems):
        xs = [i + (index - (len(systems) - 1) / 2) * width for i in range(len(labels))]
        ys = [ratio.get((label, system), 0.0) for label in labels]
        ax.bar(xs, ys, width, label=system)
        for x, label in zip(xs, labels, strict=True):
            if (label, system) in skipped:
                ax.text(x, 1.0, "not run", rotation=90, ha="center", va="bottom", fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(1.05, color="grey", linewidth=0.8, linestyle="--", label="1.05x bound")
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("makespan / max(critical path, work / concurrency)")
    ax.set_title("Task DAGs through each system (lower is better; 1 = the bound)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers; write e.g. 100,1000,10000"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1; e.g. 100,1000")
    return values


def _names(known: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"{text!r}: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                f"choose from {','.join(known)}"
            )
        return names

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--shapes", type=_names(SHAPES), default=list(SHAPES), help=f"default {','.join(SHAPES)}")
    add(
        "--systems",
        type=_names(SYSTEMS),
        default=list(SYSTEMS),
        help=f"default {','.join(SYSTEMS)}",
    )
    add(
        "--sizes",
        type=_positive_ints,
        default=[100, 1000, 10_000],
        help="random DAG sizes (default 100,1000,10000)",
    )
    add("--width", type=int, default=40, help="tasks per layer of a random DAG (default 40)")
    add(
        "--concurrency",
        type=int,
        default=64,
        help="limit for every shape but chain_beside (default 64)",
    )
    add("--seed", type=int, default=0, help="random seed of the DAGs (default 0)")
    add("--repeat", type=int, default=3, help="rounds; each row is the median run (default 3)")
    add("--short-ms", type=float, default=5.0, help="short task latency (default 5)")
    add("--long-ms", type=float, default=50.0, help="long task latency (default 50)")
    add("--long-fraction", type=float, default=0.2, help="share of long tasks (default 0.2)")
    add("--chain-length", type=int, default=50, help="chain_beside: chain tasks (default 50)")
    add("--chain-ms", type=float, default=20.0, help="chain_beside: each chain task (default 20)")
    add("--side-tasks", type=int, default=1000, help="chain_beside: side tasks (default 1000)")
    add("--side-ms", type=float, default=20.0, help="chain_beside: each side task (default 20)")
    add("--chain-concurrency", type=int, default=16, help="chain_beside: limit (default 16)")
    add("--stages", type=int, default=20, help="diamonds: fan-out/join stages (default 20)")
    add("--diamond-width", type=int, default=32, help="diamonds: tasks per fan-out (default 32)")
    add("--chains", type=int, default=8, help="chains: chains side by side (default 8)")
    add("--depth", type=int, default=100, help="chains: tasks per chain (default 100)")
    add(
        "--large-tasks",
        type=int,
        default=2000,
        help="random DAGs with more tasks get latencies times --large-scale (default 2000)",
    )
    add("--large-scale", type=float, default=0.4, help="see --large-tasks (default 0.4)")
    add(
        "--sequential-max-s",
        type=float,
        default=15.0,
        help="skip the sequential system on DAGs whose work exceeds this (default 15 s)",
    )
    args = parser.parse_args(argv)
    counts = (
        "width",
        "concurrency",
        "repeat",
        "chain_length",
        "side_tasks",
        "chain_concurrency",
        "large_tasks",
    )
    for name in (*counts, "stages", "diamond_width", "chains", "depth"):
        if getattr(args, name) < 1:
            parser.error(
                f"--{name.replace('_', '-')} is {getattr(args, name)!r}; it must be at least 1"
            )
    for name in ("concurrency", "chain_concurrency"):
        if getattr(args, name) > 10_000:
            parser.error(
                f"--{name.replace('_', '-')} is {getattr(args, name)!r}; it must be at most "
                "10000 (breadth's budgets.concurrency limit)"
            )
    for name in ("short_ms", "long_ms", "chain_ms", "side_ms"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} is {getattr(args, name)!r}; it must be >= 0")
    if not 0 < args.large_scale <= 1:
        parser.error(f"--large-scale is {args.large_scale!r}; it must be in (0, 1]")
    if not 0 <= args.long_fraction <= 1:
        parser.error(f"--long-fraction is {args.long_fraction!r}; it must be between 0 and 1")
    return args


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for case in build_cases(args):
        started = time.perf_counter()
        case_rows = await run_case(case, args)
        for row in case_rows:
            print(json.dumps(row), flush=True)
        print(f"# {case.label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        rows.extend(case_rows)
    return rows


if __name__ == "__main__":
    arguments = parse_args()
    load_before = os.getloadavg()
    all_rows = asyncio.run(main(arguments))
    goal_rows = checks(all_rows)
    meta = {
        "bench": "baselines",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    for row in [*goal_rows, meta]:
        print(json.dumps(row))
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row) for row in [*all_rows, *goal_rows, meta]]
    (RESULTS / "baselines.json").write_text("".join(line + "\n" for line in lines))
    plot(all_rows, RESULTS / "baselines.png")
