"""Accuracy and cost of every parallel-reasoning operator on a scripted noisy solver.

Every operator listed in ``agents.strategies.operators.STRATEGIES`` runs once per
question through its real op code (``defn.run`` with ``Branches``, all its branches
concurrent), against ``noisy_solver.NoisySolver``, whose rules are in that module.

Prints one JSON line per operator configuration (accuracy with its 95 % Wilson interval,
samples, requests, tokens and wall time per question), then one line per check of issue 3
(``vote`` at N=16 >= 0.90 accuracy; adaptive ``vote`` >= 40 % fewer samples than fixed
N=16 at <= 1 point lower accuracy), and writes them all to ``bench/results/operators.json``.
``--profiles PATH`` also writes the rows as the accuracy/cost profiles ``auto`` reads (the
packaged ``agents/strategies/auto_profiles.jsonl`` is such a file); ``--latency-ms`` makes
every model request take that long, so the wall time per question counts the model calls
on its critical path.

    python bench/operators.py --questions 500
    python bench/operators.py --questions 200 --only debate,reconcile --p-judge 0.9
    python bench/operators.py --latency-ms 20 --concurrency 50 --profiles /tmp/profiles.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noisy_solver import SEATS, NoisySolver, World, final_value
from quality_stats import wilson_interval

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.context import RunContext
from orchestrator.errors import BreadthError
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage
from orchestrator.testing import ScriptedModel
from tools.registry import ToolRegistry

RESULTS = Path(__file__).parent / "results" / "operators.json"


@dataclass(frozen=True)
class Config:
    name: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    # Sources in a synthetic long input given before the question (chain_of_agents).
    document: int = 0


VOTE_N16 = "vote n=16"
VOTE_ADAPTIVE = "vote n=16 adaptive (beta 0.9, waves of 1)"
_LAST = {"extract": "last_number"}

CONFIGS = [
    Config("single sample", "vote", {"n": 1, **_LAST}),
    Config("vote n=8", "vote", {"n": 8, **_LAST}),
    Config(VOTE_N16, "vote", {"n": 16, **_LAST}),
    Config(
        VOTE_ADAPTIVE,
        "vote",
        {"n": 16, "adaptive": True, "threshold": 0.9, "first_wave": 1, **_LAST},
    ),
    Config(
        "vote n=16 adaptive (beta 0.95, waves of 4)",
        "vote",
        {"n": 16, "adaptive": True, "first_wave": 4, **_LAST},
    ),
    Config("vote n=16 confidence-weighted", "vote", {"n": 16, "weight": "mean", **_LAST}),
    Config(
        "vote n=16 top 50% confidence",
        "vote",
        {"n": 16, "weight": "mean", "keep_fraction": 0.5, **_LAST},
    ),
    Config(
        "vote n=16 online pruning",
        "vote",
        {"n": 16, "prune": True, "warmup": 4, "window": 8, **_LAST},
    ),
    Config("universal_vote n=8", "universal_vote", {"n": 8}),
    Config("best_of_n n=8 (judge score 1-10)", "best_of_n", {"n": 8}),
    Config("tournament n=8 (both orders, rejudge 1, score tie-break)", "tournament", {"n": 8}),
    Config("aggregate population=4", "aggregate", {"population": 4}),
    Config(
        "aggregate RSA population=4 subset=3 rounds=2",
        "aggregate",
        {"population": 4, "subset": 3, "rounds": 2},
    ),
    Config(
        "debate 3 agents x 3 rounds (all-to-all, vote)",
        "debate",
        {"agents": 3, "rounds": 3, **_LAST},
    ),
    Config(
        "reconcile 3 seats x 3 rounds",
        "reconcile",
        {"agents": list(SEATS), "rounds": 3, **_LAST},
    ),
    Config("moa 2 layers x 3 proposers", "moa", {"layers": 2, "width": 3}),
    Config(
        "tree_search bfs k=3 beam=2 depth=2 (value labels)",
        "tree_search",
        {"k": 3, "beam": 2, "depth": 2},
    ),
    Config(
        "tree_search bfs k=3 beam=2 depth=2 (3 votes per level)",
        "tree_search",
        {"k": 3, "beam": 2, "depth": 2, "evaluate": "vote", "votes": 3},
    ),
    Config("got generate 3, score, keep 2, aggregate 2, refine 1", "got"),
    Config("skeleton 4 points", "skeleton", {"max_points": 4}),
    Config("compile 3 solve calls, joiner, no replan", "compile", {"max_replans": 0}),
    Config("spawn_join 1 block x 3 paths", "spawn_join", {"max_paths": 3, "max_blocks": 1}),
    Config(
        "aggregate RSA population=4 subset=3 rounds=2, stop_entropy 0.5",
        "aggregate",
        {"population": 4, "subset": 3, "rounds": 2, "stop_entropy": 0.5, **_LAST},
    ),
    Config(
        "debate 3 agents x 3 rounds, stop_entropy 0.6",
        "debate",
        {"agents": 3, "rounds": 3, "stop_entropy": 0.6, **_LAST},
    ),
    Config(
        "moa 3 layers x 3 proposers, stop_entropy 0.6",
        "moa",
        {"layers": 3, "width": 3, "stop_entropy": 0.6, **_LAST},
    ),
    Config(
        "mcts 4 iterations x 2 rollouts, k=2, depth 2 (value labels)",
        "mcts",
        {"iterations": 4, "parallel": 2, "k": 2, "depth": 2},
    ),
    Config(
        "prune n=8, judge after 12 tokens",
        "prune",
        {"n": 8, "prefix_tokens": 12, **_LAST},
    ),
    Config(
        "prune n=8, judge after 12 tokens, 2 kept per cluster",
        "prune",
        {"n": 8, "prefix_tokens": 12, "keep_per_cluster": 2, **_LAST},
    ),
    Config(
        "probe n=8, every 12 tokens, patience 2, pruning after 2 probes",
        "probe",
        {"n": 8, "interval": 12, "max_probes": 3, "warmup": 2, "min_branches": 4, **_LAST},
    ),
    Config(
        "probe n=8, every 16 tokens, patience 2, share 0.6, no pruning",
        "probe",
        {"n": 8, "interval": 16, "max_probes": 2, "min_share": 0.6, "prune": False, **_LAST},
    ),
    Config(
        "cumulative 2 proposals x 3 rounds, 1 verifier vote",
        "cumulative",
        {"proposals": 2, "rounds": 3, "votes": 1},
    ),
    Config(
        "peers n=8, 1 exchange after 12 tokens, k=3 dispersed",
        "peers",
        {"n": 8, "interval": 12, "exchanges": 1, "k": 3, **_LAST},
    ),
    Config(
        "peers n=8, 1 exchange after 24 tokens, k=3 hybrid",
        "peers",
        {"n": 8, "interval": 24, "exchanges": 1, "k": 3, "routing": "hybrid", **_LAST},
    ),
    Config("atoms 2 rounds, 3 atoms, ensemble judge", "atoms", {"max_rounds": 2, "max_atoms": 3}),
    Config(
        "chain_of_agents 4 sources, map then chain",
        "chain_of_agents",
        {"chunk_chars": 300},
        document=4,
    ),
    Config(
        "chain_of_agents 4 sources, sequential (paper)",
        "chain_of_agents",
        {"chunk_chars": 300, "mode": "sequential"},
        document=4,
    ),
    Config("smoa 3 layers x 4 proposers, select 2, moderator", "smoa", {"layers": 3, "width": 4}),
    Config(
        "smoa 2 layers x 4 proposers, select 1, no early stop",
        "smoa",
        {"layers": 2, "width": 4, "select": 1, "early_stop": False},
    ),
    Config(
        "tumix text + tool agent x2, 3 rounds, judge stop",
        "tumix",
        {"copies": 2, "rounds": 3, **_LAST},
    ),
    Config(
        "tumix text + tool agent x4, 2 rounds, no judge",
        "tumix",
        {"copies": 4, "rounds": 2, "early_stop": False, **_LAST},
    ),
    Config("auto, 300 tokens a question", "auto", {"max_tokens": 300}),
    Config("auto, 1000 tokens a question", "auto", {"max_tokens": 1000}),
    Config(
        "auto, 2000 tokens and 0.2 s a question", "auto", {"max_tokens": 2000, "max_latency_s": 0.2}
    ),
]


class _Drop:
    async def emit(self, event: Event) -> None:
        return None


def _graph() -> GraphSpec:
    names = ("judge", "selector", "aggregator", "solver", *SEATS)
    return GraphSpec(
        name="bench", agents={n: AgentSpec() for n in names}, nodes={"only": NodeSpec(op="vote")}
    )


OPS = builtin_ops()


def _context(model: ScriptedModel, graph: GraphSpec, tools: ToolRegistry) -> RunContext:
    return RunContext(
        job_id="bench",
        question="",
        models={"default": model},
        executor=LocalExecutor(),
        budget=BudgetTracker(Budgets()),
        events=_Drop(),
        graph=graph,
        tools=tools,
        ops=OPS,
    )


async def run_config(
    config: Config,
    world: World,
    questions: int,
    seed: int,
    latency_s: float = 0.0,
    concurrency: int = 10_000,
) -> dict[str, Any]:
    """Run ``config`` on every question concurrently; its accuracy and costs per question.

    With ``latency_s`` every model request takes that long (the scripted model sleeps), so
    a question's wall time counts the model calls on its critical path.
    """
    defn = STRATEGIES[config.op]
    params = parse_params(defn, config.params, where=config.name)
    graph = _graph()
    right = samples = requests = tokens = completion = errors = 0
    wall = 0.0
    first_error: str | None = None
    started = time.perf_counter()
    slots = asyncio.Semaphore(concurrency)

    async def one(q: int) -> None:
        nonlocal right, samples, requests, tokens, completion, errors, first_error, wall
        solver = NoisySolver(world, q, seed * 1_000_003 + q)
        model = ScriptedModel(solver.reply, delay=latency_s)
        ctx = _context(model, graph, solver.tools())
        branches = Branches(ctx, AgentSpec())
        messages = [ChatMessage(role="user", content=world.question(q))]
        if config.document:
            messages.insert(0, ChatMessage(role="user", content=solver.document(config.document)))
        async with slots:
            begun = time.perf_counter()
            try:
                outcome = await defn.run(branches, params, messages)
            except BreadthError as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
            else:
                right += final_value(outcome.answer) == world.right(q)
            wall += time.perf_counter() - begun
        samples += branches.samples
        requests += len(model.calls)
        tokens += ctx.budget.usage.total_tokens
        completion += ctx.budget.usage.completion_tokens

    await asyncio.gather(*(one(q) for q in range(questions)))
    low, high = wilson_interval(right, questions)
    row: dict[str, Any] = {
        "operator": config.op,
        "config": config.name,
        "questions": questions,
        "accuracy": round(right / questions, 4),
        "samples_per_question": round(samples / questions, 2),
        "requests_per_question": round(requests / questions, 2),
        "tokens_per_question": round(tokens / questions, 1),
        "completion_tokens_per_question": round(completion / questions, 1),
        "errors": errors,
        "wall_s": round(time.perf_counter() - started, 2),
        "ci_low": round(low, 4),
        "ci_high": round(high, 4),
        "wall_s_per_question": round(wall / questions, 4),
        "params": config.params,
    }
    if config.document:
        row["document"] = config.document
    if first_error is not None:
        row["first_error"] = first_error
    return row


PROFILE_HEADER = (
    "# Accuracy/cost profiles for op: auto, measured with bench/operators.py on its scripted\n"
    "# noisy solver (not a real model): {command}\n"
    "# One JSON object per line, in bench/quality.py's format; point auto's `profiles` param\n"
    "# at profiles measured on your own model and tasks (e.g. bench/results/quality.json).\n"
)


def profile_rows(rows: Sequence[dict[str, Any]], world: World) -> list[dict[str, Any]]:
    """The measured rows in the profile format ``auto`` reads.

    Left out: ``auto``'s own rows, rows with errors, and rows that answered from a long
    input (``chain_of_agents``), which a plain question does not have.
    """
    return [
        {
            "operator": row["operator"],
            "config": row["config"],
            "params": row["params"],
            "accuracy": row["accuracy"],
            "ci_low": row["ci_low"],
            "ci_high": row["ci_high"],
            "tokens_per_question": row["tokens_per_question"],
            "wall_s_per_question": row["wall_s_per_question"],
            "questions": row["questions"],
            "model": f"noisy-solver p_right={world.p_right} p_judge={world.p_judge}",
            "task_family": "math",
        }
        for row in rows
        if row["operator"] != "auto" and row["errors"] == 0 and not row.get("document")
    ]


def checks(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 3's two expectations, from the ``vote`` rows (none if they did not run)."""
    by_name = {row["config"]: row for row in rows}
    fixed, adaptive = by_name.get(VOTE_N16), by_name.get(VOTE_ADAPTIVE)
    out: list[dict[str, Any]] = []
    if fixed is not None:
        out.append(
            {
                "check": "vote n=16 accuracy >= 0.90",
                "pass": fixed["accuracy"] >= 0.90,
                "accuracy": fixed["accuracy"],
            }
        )
    if fixed is not None and adaptive is not None:
        saving = 1 - adaptive["samples_per_question"] / fixed["samples_per_question"]
        drop = round(100 * (fixed["accuracy"] - adaptive["accuracy"]), 2)
        out.append(
            {
                "check": "adaptive vote >= 40% fewer samples than n=16, <= 1 point less accurate",
                "pass": saving >= 0.40 and drop <= 1.0,
                "config": adaptive["config"],
                "samples_fixed": fixed["samples_per_question"],
                "samples_adaptive": adaptive["samples_per_question"],
                "saving": round(saving, 4),
                "accuracy_fixed": fixed["accuracy"],
                "accuracy_adaptive": adaptive["accuracy"],
                "accuracy_drop_points": drop,
            }
        )
    return out


def selected(configs: Sequence[Config], only: str | None) -> list[Config]:
    """The configs whose operator is in the comma-separated ``only`` list (all if None)."""
    if only is None:
        return list(configs)
    wanted = {name.strip() for name in only.split(",") if name.strip()}
    unknown = sorted(wanted - set(STRATEGIES))
    if unknown:
        raise SystemExit(f"--only: unknown operators {unknown}; known: {sorted(STRATEGIES)}")
    return [c for c in configs if c.op in wanted]


def ranking(rows: Sequence[dict[str, Any]], rho: float) -> dict[str, Any]:
    """The configs of one judge-correlation run, most accurate first."""
    ordered = sorted(rows, key=lambda row: (-row["accuracy"], row["tokens_per_question"]))
    return {
        "ranking": f"judge_correlation {rho}",
        "order": [f"{row['config']}: {row['accuracy']}" for row in ordered],
    }


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 0 and 1")
    return value


def _rhos(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 0,0.5"
        ) from None
    bad = [v for v in values if not 0.0 <= v < 1.0]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"{text!r}: each rho must be in [0, 1), e.g. 0,0.5 (bad: {bad or 'none given'})"
        )
    return values


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} must be strictly between 0 and 1")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--p-right", type=_probability, default=0.6)
    parser.add_argument("--p-judge", type=_probability, default=0.75)
    parser.add_argument("--p-follow", type=_probability, default=0.5)
    parser.add_argument("--wrong", type=int, default=4, help="distinct wrong answers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="comma-separated operators to run (default: all)")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="time each model request takes (the wall time per question counts them)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=10_000, help="questions in flight at once"
    )
    parser.add_argument("--profiles", type=Path, help="also write the rows as auto profiles here")
    parser.add_argument(
        "--trap-share",
        type=_share,
        help="share of wrong answers that are the trap, the solver's favourite (default: even)",
    )
    parser.add_argument(
        "--judge-correlation",
        type=_rhos,
        default=[0.0],
        help="comma-separated rho: judges prefer the trap with this probability; each runs",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args(argv)
    missing = sorted(set(STRATEGIES) - {c.op for c in CONFIGS})
    if missing:
        raise SystemExit(f"no bench config for operators {missing}; add one to CONFIGS")
    rows: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for rho in args.judge_correlation:
        world = World(
            args.p_right,
            args.p_judge,
            args.p_follow,
            args.wrong,
            args.seed,
            trap_share=args.trap_share,
            judge_correlation=rho,
        )
        these = []
        for config in selected(CONFIGS, args.only):
            row = asyncio.run(
                run_config(
                    config,
                    world,
                    args.questions,
                    args.seed,
                    latency_s=args.latency_ms / 1000,
                    concurrency=args.concurrency,
                )
            )
            if args.trap_share is not None or rho > 0:
                row.update(trap_share=args.trap_share, judge_correlation=rho)
            print(json.dumps(row), flush=True)
            these.append(row)
        if len(args.judge_correlation) > 1:
            verdicts.append(ranking(these, rho))
            print(json.dumps(verdicts[-1]), flush=True)
        rows.extend(these)
    if args.judge_correlation == [0.0]:
        verdicts.extend(checks(rows))
        for verdict in verdicts:
            print(json.dumps(verdict), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([*rows, *verdicts], indent=2) + "\n")
    if args.profiles is not None:
        command = "python bench/operators.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        lines = [json.dumps(row) for row in profile_rows(rows, world)]
        header = PROFILE_HEADER.format(command=command.strip())
        args.profiles.write_text(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
