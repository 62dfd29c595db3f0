"""Quality at matched compute: each operator against plain voting at the same token budget.

Every operator answers the same generated, checkable tasks (``quality_tasks``: arithmetic
chains, Countdown, multiple-choice facts from the built-in corpus, at graded levels)
through its real op code on a real model: the embedded SmolLM2-135M by default, or the
OpenAI-compatible servers given with ``--model-url`` (vLLM, llama.cpp's server). Tokens
are counted by the job's budget tracker, as in a job (one tracker per question).

The baseline is a plain vote. Each question first gets one ``vote`` op run of
``--max-votes`` samples; a vote of ``k`` is its first ``k`` samples (independent draws,
counted with the op's own extraction and plurality), costing the prompt once plus ``k``
completions, so the single sample and every vote size come from one run. After each
operator, the baseline gets the operator's measured tokens per question as a vote of as
many samples as fit (``quality_stats.matched_samples``, capped at ``--max-votes``, and
the row says when the cap bit), and the two are compared paired on the same questions.

Prints one JSON line per configuration (accuracy with its 95 % Wilson interval, tokens,
samples and wall time per question; an operator's line also carries ``vs_single`` and
``vs_matched_vote``), writes them to ``bench/results/quality.json`` (a profile file
``op: auto`` reads) and plots accuracy against tokens per question to
``bench/results/quality.png``.

    python bench/quality.py --questions 300
    python bench/quality.py --questions 60 --operators best_of_n,debate --difficulty 1,2
    python bench/quality.py --model-url http://localhost:8000/v1 --questions 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality_plot import plot
from quality_stats import matched_samples, paired_difference, verdict, wilson_interval
from quality_tasks import FAMILIES, LEVELS, Task, check, generate, vote_key

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from agents.strategies.vote_tally import majority_vote
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.context import RunContext
from orchestrator.errors import BreadthError
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.factory import build_model
from orchestrator.models.protocol import (
    ChatMessage,
    Completion,
    GenerateRequest,
    Replica,
    StreamChunk,
)

RESULTS = Path(__file__).parent / "results"
EMBEDDED = "SmolLM2-135M-Instruct (embedded, llama.cpp)"


@dataclass(frozen=True)
class Config:
    name: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)


# One configuration per operator, kept small: a real model on a CPU is slow.
CONFIGS = {
    "vote": Config("vote n=4", "vote", {"n": 4}),
    "best_of_n": Config(
        "best_of_n n=4 (judge score 1-10)", "best_of_n", {"n": 4, "judge": "judge"}
    ),
    "tournament": Config(
        "tournament n=4 (both orders, rejudge 1)", "tournament", {"n": 4, "judge": "judge"}
    ),
    "debate": Config("debate 3 agents x 2 rounds (vote)", "debate", {"agents": 3, "rounds": 2}),
    "moa": Config("moa 2 layers x 3 proposers", "moa", {"layers": 2, "width": 3}),
    "aggregate": Config("aggregate population=4", "aggregate", {"population": 4}),
    "universal_vote": Config("universal_vote n=4", "universal_vote", {"n": 4}),
}
DEFAULT_OPERATORS = "best_of_n,tournament,debate,moa"


class _Drop:
    async def emit(self, event: Event) -> None:
        return None


class SeededReplica:
    """Gives every request that has no seed one derived from the bench's seed and prompt.

    The k-th identical request of a run gets seed ``hash(seed, prompt, k)``, so a rerun
    with one question in flight at a time samples the same texts.
    """

    def __init__(self, inner: Replica, seed: int) -> None:
        self.name = inner.name
        self.inner = inner
        self.seed = seed
        self.seen: dict[int, int] = {}

    def _seeded(self, request: GenerateRequest) -> GenerateRequest:
        if request.seed is not None:
            return request
        key = zlib.crc32(json.dumps([self.seed, [m.content for m in request.messages]]).encode())
        count = self.seen.get(key, 0)
        self.seen[key] = count + 1
        return request.model_copy(update={"seed": (key + 7919 * count) % 2**31})

    async def generate(self, request: GenerateRequest) -> Completion:
        return await self.inner.generate(self._seeded(request))

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        async for chunk in self.inner.stream(self._seeded(request)):
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Outcome:
    """One question's result under one configuration."""

    right: bool
    prompt_tokens: int
    completion_tokens: int
    samples: int
    wall_s: float
    error: str | None = None


OPS = builtin_ops()


def graph(agent: AgentSpec, judge: AgentSpec) -> GraphSpec:
    """The bench's graph: the answering agent, and a judge whose verdicts (a reason, then a
    score or winner, as JSON) get their own token limit so they are not cut short."""
    return GraphSpec(
        name="quality",
        agents={"default": agent, "judge": judge},
        nodes={"only": NodeSpec(op="vote")},
    )


def _context(task: Task, model: Replica, spec: GraphSpec) -> RunContext:
    """A job context of one question: its own budget tracker counts the question's tokens."""
    return RunContext(
        job_id="quality",
        question=task.prompt,
        models={"default": model},
        executor=LocalExecutor(),
        budget=BudgetTracker(Budgets()),
        events=_Drop(),
        graph=spec,
        ops=OPS,
    )


async def answer(config: Config, task: Task, model: Replica, spec: GraphSpec) -> Outcome:
    """``config``'s op on one task, with a fresh budget tracker counting its tokens."""
    defn = STRATEGIES[config.op]
    accepted = defn.params.model_fields
    extra = {k: v for k, v in task.extract.items() if k in accepted}
    params = parse_params(defn, {**config.params, **extra}, where=config.name)
    ctx = _context(task, model, spec)
    branches = Branches(ctx, spec.agents["default"])
    begun = time.perf_counter()
    error = None
    right = False
    try:
        outcome = await defn.run(branches, params, [ChatMessage(role="user", content=task.prompt)])
        right = check(task, outcome.answer)
    except BreadthError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    usage = ctx.budget.usage
    return Outcome(
        right,
        usage.prompt_tokens,
        usage.completion_tokens,
        branches.samples,
        time.perf_counter() - begun,
        error,
    )


async def run_config(
    config: Config, tasks: Sequence[Task], model: Replica, spec: GraphSpec, concurrency: int
) -> list[Outcome]:
    slots = asyncio.Semaphore(concurrency)
    done = 0

    async def one(task: Task) -> Outcome:
        nonlocal done
        async with slots:
            result = await answer(config, task, model, spec)
        done += 1
        if done % 10 == 0 or done == len(tasks):
            print(f"# {config.name}: {done}/{len(tasks)}", file=sys.stderr, flush=True)
        return result

    return list(await asyncio.gather(*(one(t) for t in tasks)))


def summarize(
    config: Config, tasks: Sequence[Task], outcomes: Sequence[Outcome], model_name: str, wall: float
) -> dict[str, Any]:
    """A profile row (``op: auto``'s format) for one configuration's outcomes."""
    n = len(outcomes)
    right = sum(o.right for o in outcomes)
    low, high = wilson_interval(right, n)
    by_task: dict[str, list[int]] = {}
    for task, outcome in zip(tasks, outcomes, strict=True):
        counts = by_task.setdefault(f"{task.family}-{task.level}", [0, 0])
        counts[0] += outcome.right
        counts[1] += 1
    errors = [o.error for o in outcomes if o.error]
    row: dict[str, Any] = {
        "operator": config.op,
        "config": config.name,
        "params": config.params,
        "questions": n,
        "accuracy": round(right / n, 4),
        "ci_low": round(low, 4),
        "ci_high": round(high, 4),
        "tokens_per_question": round(
            sum(o.prompt_tokens + o.completion_tokens for o in outcomes) / n, 1
        ),
        "prompt_tokens_per_question": round(sum(o.prompt_tokens for o in outcomes) / n, 1),
        "completion_tokens_per_question": round(sum(o.completion_tokens for o in outcomes) / n, 1),
        "samples_per_question": round(sum(o.samples for o in outcomes) / n, 2),
        "wall_s_per_question": round(sum(o.wall_s for o in outcomes) / n, 3),
        "wall_s": round(wall, 1),
        "errors": len(errors),
        "right_by_task": {k: f"{r}/{t}" for k, (r, t) in sorted(by_task.items())},
        "model": model_name,
        "task_family": "any",
    }
    if errors:
        row["first_error"] = errors[0]
    return row


def compare(
    outcomes: Sequence[Outcome], base: Sequence[Outcome], base_row: dict[str, Any]
) -> dict[str, Any]:
    """The operator's accuracy minus a baseline's on the same questions, with its interval."""
    d, low, high = paired_difference([o.right for o in outcomes], [o.right for o in base])
    return {
        "config": base_row["config"],
        "accuracy": base_row["accuracy"],
        "tokens_per_question": base_row["tokens_per_question"],
        "difference": round(d, 4),
        "difference_ci": [round(low, 4), round(high, 4)],
        "verdict": verdict(low, high),
    }


def _csv(text: str, known: Sequence[str], flag: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in known]
    if unknown or not values:
        raise SystemExit(
            f"{flag} {text!r}: unknown or missing {unknown or 'values'}; use a comma-separated "
            f"subset of {', '.join(known)}"
        )
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=300, help="tasks (default 300)")
    parser.add_argument("--operators", default=DEFAULT_OPERATORS, help=f"of {', '.join(CONFIGS)}")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--difficulty", default=",".join(map(str, LEVELS)), help="levels 1-3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-url", action="append", default=[], help="repeatable")
    parser.add_argument("--model-name", help="model to ask the servers for (default: theirs)")
    parser.add_argument("--max-tokens", type=int, default=96, help="per generation")
    parser.add_argument("--judge-max-tokens", type=int, default=160, help="per judge verdict")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--concurrency", type=int, help="questions in flight (1 embedded, 16 URLs)")
    parser.add_argument(
        "--max-votes", type=int, default=24, help="samples of the baseline vote (the cap)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    parser.add_argument("--plot", type=Path, default=RESULTS / "quality.png")
    args = parser.parse_args(argv)
    for flag, value, low in (
        ("--questions", args.questions, 1),
        ("--max-tokens", args.max_tokens, 1),
        ("--judge-max-tokens", args.judge_max_tokens, 1),
        ("--max-votes", args.max_votes, 1),
    ):
        if value < low:
            parser.error(f"{flag} {value!r} must be at least {low}")
    if not 0.0 <= args.temperature <= 2.0:
        parser.error(f"--temperature {args.temperature!r} must be between 0 and 2")
    if args.concurrency is not None and args.concurrency < 1:
        parser.error(f"--concurrency {args.concurrency!r} must be at least 1")
    args.operators = _csv(args.operators, list(CONFIGS), "--operators")
    args.families = _csv(args.families, FAMILIES, "--families")
    args.difficulty = [
        int(v) for v in _csv(args.difficulty, [str(v) for v in LEVELS], "--difficulty")
    ]
    return args


@dataclass
class Votes:
    """One question's plain vote of ``n`` samples: each sample's text and the tokens spent."""

    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    wall_s: float


async def sample_votes(task: Task, k: int, model: Replica, spec: GraphSpec) -> Votes:
    """The ``vote`` op with ``n=k`` on one task; its samples (in order) and token counts."""
    defn = STRATEGIES["vote"]
    params = parse_params(defn, {"n": k, **task.extract}, where="baseline vote")
    ctx = _context(task, model, spec)
    begun = time.perf_counter()
    outcome = await defn.run(
        Branches(ctx, spec.agents["default"]),
        params,
        [ChatMessage(role="user", content=task.prompt)],
    )
    usage = ctx.budget.usage
    return Votes(
        outcome.candidates,
        usage.prompt_tokens,
        usage.completion_tokens,
        time.perf_counter() - begun,
    )


def prefix_vote(task: Task, votes: Votes, k: int) -> Outcome:
    """A vote of the first ``k`` samples, counted as the vote op counts and costs it.

    Samples are independent, so the first ``k`` of ``n`` are a vote of ``k``: the same
    extraction and plurality as the op (``majority_vote``; no answer at all falls back to
    the first text), costing the prompt once plus ``k`` mean completions.
    """
    texts = votes.texts[:k]
    result = majority_vote([vote_key(task, t) for t in texts])
    winner = result.winner if result.winner is not None else texts[0].strip()
    share = k / len(votes.texts)
    return Outcome(
        check(task, winner),
        votes.prompt_tokens,
        round(votes.completion_tokens * share),
        k,
        votes.wall_s * share,
    )


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    tasks = generate(args.questions, seed=args.seed, families=args.families, levels=args.difficulty)
    try:
        inner = build_model(args.model_url, model_name=args.model_name)
    except BreadthError as exc:
        raise SystemExit(f"--model-url: {exc}") from None
    model = SeededReplica(inner, args.seed)
    model_name = EMBEDDED if not args.model_url else (args.model_name or ",".join(args.model_url))
    concurrency = args.concurrency or (16 if args.model_url else 1)
    spec = graph(
        AgentSpec(max_tokens=args.max_tokens, temperature=args.temperature),
        AgentSpec(max_tokens=args.judge_max_tokens, temperature=args.temperature),
    )
    rows: list[dict[str, Any]] = []
    try:
        slots = asyncio.Semaphore(concurrency)

        async def votes_of(task: Task) -> Votes:
            async with slots:
                return await sample_votes(task, args.max_votes, model, spec)

        begun = time.perf_counter()
        votes = await asyncio.gather(*(votes_of(t) for t in tasks))
        print(f"# baseline votes: {time.perf_counter() - begun:.0f} s", file=sys.stderr, flush=True)
        baselines: dict[int, tuple[dict[str, Any], list[Outcome]]] = {}

        def baseline(k: int, role: str = "baseline") -> tuple[dict[str, Any], list[Outcome]]:
            if k not in baselines:
                outs = [prefix_vote(t, v, k) for t, v in zip(tasks, votes, strict=True)]
                name = "single sample" if k == 1 else f"vote n={k}"
                config = Config(name, "vote", {"n": k})
                row = summarize(config, tasks, outs, model_name, sum(o.wall_s for o in outs))
                row.update(role=role, note=f"first {k} of {args.max_votes} samples")
                baselines[k] = (row, outs)
            return baselines[k]

        curve = sorted({1, 2, 4, 8, 16, args.max_votes} & set(range(1, args.max_votes + 1)))
        for k in curve:
            print(json.dumps(baseline(k)[0]), flush=True)
        # The baseline is the longest part of a run: keep it even if an operator never ends.
        write(args, [b[0] for _, b in sorted(baselines.items())])
        one = baseline(1)
        operator_rows = []
        for name in args.operators:
            config = CONFIGS[name]
            begun = time.perf_counter()
            outs = await run_config(config, tasks, model, spec, concurrency)
            row = summarize(config, tasks, outs, model_name, time.perf_counter() - begun)
            row["role"] = "operator"
            row["vs_single"] = compare(outs, one[1], one[0])
            wanted = matched_samples(
                row["tokens_per_question"],
                one[0]["prompt_tokens_per_question"],
                one[0]["completion_tokens_per_question"],
            )
            k = min(wanted, args.max_votes)
            match_row, match_outs = baseline(k)
            row["vs_matched_vote"] = {
                **compare(outs, match_outs, match_row),
                "samples_that_fit": wanted,
                "capped": wanted > args.max_votes,
            }
            operator_rows.append(row)
            print(json.dumps(row), flush=True)
            rows = [*(b[0] for _, b in sorted(baselines.items())), *operator_rows]
            write(args, rows)
        rows = [*(b[0] for _, b in sorted(baselines.items())), *operator_rows]
        for row in rows[: len(baselines)]:
            if row["config"] not in {f"vote n={k}" for k in curve} | {"single sample"}:
                print(json.dumps(row), flush=True)  # matched votes outside the curve
        write(args, rows)
    finally:
        await model.aclose()
    return rows


def write(args: argparse.Namespace, rows: Sequence[dict[str, Any]]) -> None:
    """The rows as JSON lines (a profile file ``op: auto`` reads) and their plot."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python bench/quality.py " + " ".join(sys.argv[1:])
    args.out.write_text(f"# {command.strip()}\n" + "".join(json.dumps(r) + "\n" for r in rows))
    plot(rows, args.plot)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
