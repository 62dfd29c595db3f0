"""Accuracy and cost of every parallel-reasoning operator on a scripted noisy solver.

The scripted model answers question ``i`` right with probability ``--p-right`` (0.6) and
otherwise picks one of ``--wrong`` (4) wrong values, so the wrong answers are spread and
the right one is the plurality. Right traces are a little more confident (higher token
logprobs) than wrong ones, as DeepConf observes for real models. Judges, selectors and
aggregators see the candidates in their prompt and pick the right one with probability
``--p-judge`` (0.75) when it is among them. Every operator runs once per question
through its real op code (``agents.strategies``), with all its branches concurrent.

Prints one JSON line per operator configuration (accuracy, samples and tokens per
question) and writes them all to ``bench/results/operators.json``.

    python bench/operators.py --questions 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.strategies.ops import load_strategies
from agents.strategies.runtime import STRATEGIES, Branches, parse_params
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.context import RunContext
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.testing import ScriptedModel, ScriptedReply

RESULTS = Path(__file__).parent / "results" / "operators.json"
_QUESTION = re.compile(r"Question #(\d+)")
_ANSWER = re.compile(r"answer is (-?\d+)")


@dataclass(frozen=True)
class World:
    """The bench's ground truth: each question's right answer and its wrong ones."""

    p_right: float
    p_judge: float
    wrong: int
    seed: int

    def right(self, q: int) -> int:
        return random.Random(f"{self.seed}:{q}").randint(100, 999)

    def wrong_values(self, q: int) -> list[int]:
        right = self.right(q)
        return [right + 7 * (k + 1) for k in range(self.wrong)]

    def question(self, q: int) -> str:
        return f"Question #{q}: what is the value? End with 'the answer is N'."


class NoisySolver:
    """A scripted model that solves, judges and aggregates like a noisy but useful LLM."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)

    def sample_answer(self, q: int) -> int:
        if self.rng.random() < self.world.p_right:
            return self.world.right(q)
        return self.rng.choice(self.world.wrong_values(q))

    def trace(self, q: int) -> ScriptedReply:
        answer = self.sample_answer(q)
        right = answer == self.world.right(q)
        # Right traces are a little more confident, with noise (DeepConf's observation).
        logprob = self.rng.gauss(-0.35 if right else -0.6, 0.15)
        steps = " ".join(f"step {k}: reasoning about #{q}." for k in range(6))
        return ScriptedReply(f"{steps} So the answer is {answer}.", logprob=min(logprob, -0.01))

    def judged(self, q: int, prompt: str) -> int | None:
        """The value a judge prefers among the prompt's candidates (None if it has none)."""
        values = [int(v) for v in _ANSWER.findall(prompt)]
        if not values:
            return None
        right = self.world.right(q)
        if right in values and self.rng.random() < self.world.p_judge:
            return right
        return self.rng.choice(values)

    def reply(self, request: GenerateRequest, _: int) -> ScriptedReply:
        prompt = "\n".join(m.content for m in request.messages)
        match = _QUESTION.search(prompt)
        q = int(match.group(1)) if match else 0
        if request.json_schema is not None:
            return ScriptedReply(self.structured(q, prompt, request.json_schema))
        judged = self.judged(q, prompt.split("Question #", 1)[-1])
        if judged is not None and _mentions_candidates(prompt):
            return self.pick(prompt, judged)
        return self.trace(q)

    def pick(self, prompt: str, value: int) -> ScriptedReply:
        """Select a response number when asked to select, else restate the chosen answer."""
        blocks = re.split(r"Response (\d+):", prompt)
        for k in range(1, len(blocks) - 1, 2):
            if f"answer is {value}" in blocks[k + 1]:
                return ScriptedReply(f"The most consistent response is Response {blocks[k]}.")
        return ScriptedReply(f"Weighing the candidates, the answer is {value}.")

    def structured(self, q: int, prompt: str, schema: dict[str, Any]) -> str:
        """Fill a judge's schema: scores favour candidates with the preferred answer."""
        props = schema.get("properties", {})
        values = [int(v) for v in _ANSWER.findall(prompt)]
        right = self.world.right(q)
        out: dict[str, Any] = {}
        for name, spec in props.items():
            kind = spec.get("type")
            if kind in ("integer", "number"):
                good = right in values[-1:] or (len(values) == 1 and values[0] == right)
                hit = self.rng.random() < self.world.p_judge
                low, high = spec.get("minimum", 1), spec.get("maximum", 10)
                out[name] = high if good == hit else low
            elif kind == "boolean":
                out[name] = self.rng.random() < 0.5
            elif "enum" in spec:
                choice = self.judged(q, prompt)
                options = spec["enum"]
                out[name] = (
                    options[0]
                    if choice is None or not values
                    else (options[0] if values and choice == values[0] else options[-1])
                )
            else:
                chosen = self.judged(q, prompt)
                out[name] = f"the answer is {chosen if chosen is not None else right}"
        return json.dumps(out)


def _mentions_candidates(prompt: str) -> bool:
    return len(_ANSWER.findall(prompt)) >= 2


@dataclass(frozen=True)
class Config:
    name: str
    op: str
    params: dict[str, Any]


CONFIGS = [
    Config("single sample", "vote", {"n": 1, "extract": "last_number"}),
    Config("vote n=16", "vote", {"n": 16, "extract": "last_number"}),
    Config(
        "vote n=16 adaptive (beta 0.9)",
        "vote",
        {"n": 16, "extract": "last_number", "adaptive": True, "threshold": 0.9, "first_wave": 1},
    ),
    Config(
        "vote n=16 adaptive (beta 0.95, waves of 4)",
        "vote",
        {"n": 16, "extract": "last_number", "adaptive": True, "first_wave": 4},
    ),
    Config(
        "vote n=16 confidence-weighted",
        "vote",
        {"n": 16, "extract": "last_number", "weight": "mean"},
    ),
    Config(
        "vote n=16 top 50% confidence",
        "vote",
        {"n": 16, "extract": "last_number", "weight": "mean", "keep_fraction": 0.5},
    ),
    Config(
        "vote n=16 online pruning",
        "vote",
        {"n": 16, "extract": "last_number", "prune": True, "warmup": 4, "window": 8},
    ),
]


def _context(model: ScriptedModel, agents: dict[str, AgentSpec]) -> RunContext:
    graph = GraphSpec(name="bench", agents=agents, nodes={"only": NodeSpec(op="vote")})

    class _Drop:
        async def emit(self, event: Event) -> None:
            return None

    return RunContext(
        job_id="bench",
        question="",
        models={"default": model},
        store=None,  # type: ignore[arg-type]
        executor=LocalExecutor(),
        budget=BudgetTracker(Budgets()),
        events=_Drop(),
        graph=graph,
    )


async def run_config(config: Config, world: World, questions: int, seed: int) -> dict[str, Any]:
    load_strategies()
    defn = STRATEGIES[config.op]
    agents = {name: AgentSpec() for name in ("judge", "selector", "aggregator", "solver")}
    params = parse_params(defn, config.params, where=config.name)
    right = samples = tokens = completion = 0
    started = time.perf_counter()

    async def one(q: int) -> None:
        nonlocal right, samples, tokens, completion
        solver = NoisySolver(world, seed * 1_000_003 + q)
        model = ScriptedModel(solver.reply)
        ctx = _context(model, agents)
        branches = Branches(ctx, AgentSpec())
        messages = [ChatMessage(role="user", content=world.question(q))]
        outcome = await defn.run(branches, params, messages)
        found = _ANSWER.findall(f"the answer is {outcome.answer}") or re.findall(
            r"-?\d+", outcome.answer
        )
        right += bool(found) and int(found[-1]) == world.right(q)
        samples += branches.samples
        tokens += ctx.budget.usage.total_tokens
        completion += ctx.budget.usage.completion_tokens

    await asyncio.gather(*(one(q) for q in range(questions)))
    return {
        "operator": config.op,
        "config": config.name,
        "questions": questions,
        "accuracy": round(right / questions, 4),
        "samples_per_question": round(samples / questions, 2),
        "tokens_per_question": round(tokens / questions, 1),
        "completion_tokens_per_question": round(completion / questions, 1),
        "wall_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--p-right", type=float, default=0.6)
    parser.add_argument("--p-judge", type=float, default=0.75)
    parser.add_argument("--wrong", type=int, default=4, help="distinct wrong answers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="run only configs whose operator is this")
    args = parser.parse_args(argv)
    world = World(args.p_right, args.p_judge, args.wrong, args.seed)
    rows = []
    for config in selected(CONFIGS, args.only):
        row = asyncio.run(run_config(config, world, args.questions, args.seed))
        print(json.dumps(row), flush=True)
        rows.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def selected(configs: list[Config], only: str | None) -> list[Config]:
    keep: Callable[[Config], bool] = lambda c: only is None or c.op == only  # noqa: E731
    return [c for c in configs if keep(c)]


if __name__ == "__main__":
    main()
