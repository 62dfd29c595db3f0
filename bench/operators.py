"""Accuracy and cost of every parallel-reasoning operator on a scripted noisy solver.

Every operator registered in ``agents.strategies.runtime.STRATEGIES`` runs once per
question through its real op code (``defn.run`` with ``Branches``, all its branches
concurrent), against ``NoisySolver``, a scripted model that behaves like a noisy but
useful LLM. Its rules are generic, the same for every operator; a request's role is read
from what its prompt asks (the cue in brackets):

- answer (anything not below): a fresh answer is right with probability ``--p-right``
  (0.6), else one of ``--wrong`` (4) wrong values, so wrong answers are spread and the
  right one is the plurality. A model whose prompt already states answers (a debater
  shown the others' answers, a ReConcile seat, a Tree-of-Thoughts step or final answer
  built on earlier steps, a Graph-of-Thoughts follow-up) adopts their plurality (ties
  broken at random) with probability ``--p-follow`` (0.5) and otherwise solves afresh.
- judge / selector / aggregator / joiner (picks a ``best``/``choice`` index; "most
  consistent response"; "synthesize", "candidate solutions", "Improve this answer";
  a JSON reply with an ``action``): among the answers it is shown, it picks the right
  one with probability ``--p-judge`` (0.75) when it is present, otherwise one of the
  wrong ones at random; with no right one shown, any one at random. An aggregator writes
  "the answer is X" for its pick. A pairwise judge (``winner``: A/B/tie) says tie for
  equal answers, prefers the right one with probability ``p_judge``, else flips a coin.
- quality signals (a 1-10 ``score``, a sure/likely/impossible ``value``, a stated
  ``confidence``, a fresh trace's token logprobs): a noisy reading ``z = ±d/2 + N(0, 1)``
  of whether the answer it is about (the last one stated in the prompt) is right, with
  ``d = √2·Φ⁻¹(p_judge)``, so a right answer outranks a wrong one with probability
  ``p_judge``. Scores are ``Φ(z)`` stretched over the schema's range; values are sure /
  likely / impossible by thirds of ``Φ(z)``; trace logprobs are ``-0.45 + 0.15·z``.
- Tree-of-Thoughts steps ("Write only the next step"): "Step s: ... the answer is X"
  under the answer rule. Skeleton-of-Thought: four points ("giving the skeleton"); each
  point is expanded alone ("only continue the writing of point"); the last point's
  expansion states a fresh answer, the assembled text is the answer.
- LLMCompiler ("planning tool calls"): the planner writes ``1. solve(question="...")``
  three times and ``4. join()``; the ``solve`` tool returns a fresh answer; the joiner
  is a judge over the results.
- Native parallel output (a system prompt describing ``<Parallel>``): the model writes a
  block of three ``<Path>``s; each fork ("Work out only path") answers afresh; the
  continuation ("Every path of your parallel block") concludes with the paths' plurality.

JSON-schema requests get schema-following JSON, filled by field name and type. A question
counts as right when the last answer the operator's answer states ("answer is X",
"answer: X", else its last number) is the right value. An operator that raises on a
question counts it wrong and is reported under ``errors``.

Prints one JSON line per operator configuration (accuracy, samples, requests and tokens
per question), then one line per check of issue 3 (``vote`` at N=16 >= 0.90 accuracy;
adaptive ``vote`` >= 40 % fewer samples than fixed N=16 at <= 1 point lower accuracy),
and writes them all to ``bench/results/operators.json``.

    python bench/operators.py --questions 500
    python bench/operators.py --questions 200 --only debate,reconcile --p-judge 0.9
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from agents.strategies.ops import load_strategies
from agents.strategies.runtime import STRATEGIES, Branches, parse_params
from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.errors import BreadthError
from orchestrator.events import Event
from orchestrator.executors.local import LocalExecutor
from orchestrator.graph.context import RunContext
from orchestrator.graph.spec import AgentSpec, GraphSpec, NodeSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.testing import ScriptedModel, ScriptedReply
from tools.registry import ToolRegistry

RESULTS = Path(__file__).parent / "results" / "operators.json"
_QUESTION = re.compile(r"Question #(\d+)")
_STATED = re.compile(r"answer(?: is|:)\s*(-?\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+")
# Candidates shown to a judge: "Response 1:", "Candidate 2:", "Choice 3:", "Agent 2 (x):".
_LABEL = re.compile(r"^(?:Response|Candidate|Choice|Agent) (\w+)(?: \([^)]*\))?:", re.MULTILINE)
_AT_MOST = re.compile(r"at most (\d+) (?:points|paths|tool calls)")
_ANGLES = ("direct", "algebraic", "numeric", "backward", "casewise", "estimating", "modular")
_ASPECTS = ("quick", "thorough", "careful", "rough", "plain", "neat", "stepwise")
_POINTS = ("Restate what is asked", "Work out the value", "Check the work", "State the answer")
_AGGREGATE_CUES = ("synthesize", "candidate solutions", "improve this answer")
SEATS = ("seat1", "seat2", "seat3")


@dataclass(frozen=True)
class World:
    """The bench's ground truth and model of quality: right answers, wrong ones, noise."""

    p_right: float
    p_judge: float
    p_follow: float
    wrong: int
    seed: int

    def right(self, q: int) -> int:
        return random.Random(f"{self.seed}:{q}").randint(100, 999)

    def wrong_values(self, q: int) -> list[int]:
        right = self.right(q)
        return [right + 7 * (k + 1) for k in range(self.wrong)]

    def question(self, q: int) -> str:
        return f"Question #{q}: what is the value? End with 'the answer is N'."

    @property
    def gap(self) -> float:
        """Separation d of the quality reading, so P(z_right > z_wrong) = p_judge."""
        return math.sqrt(2) * NormalDist().inv_cdf(self.p_judge)


def stated(text: str) -> list[int]:
    """Every answer a text states ("the answer is X", "answer: X"), in order."""
    return [int(v) for v in _STATED.findall(text)]


def final_value(answer: str) -> int | None:
    """The answer an operator's output states last (else its last number)."""
    values = stated(answer) or [int(v) for v in _NUMBER.findall(answer)]
    return values[-1] if values else None


def labelled(prompt: str) -> dict[str, int | None]:
    """Labelled candidates shown in a prompt, each with the last answer its block states."""
    marks = list(_LABEL.finditer(prompt))
    blocks: dict[str, int | None] = {}
    ends = [m.start() for m in marks[1:]] + [len(prompt)] if marks else []
    for mark, end in zip(marks, ends, strict=True):
        body = prompt[mark.end() : end]
        values = stated(body)
        blocks[mark.group(1)] = values[-1] if values else None
    return blocks


class NoisySolver:
    """A scripted model for one question that answers, judges and scores like a noisy LLM."""

    def __init__(self, world: World, q: int, seed: int) -> None:
        self.world = world
        self.q = q
        self.right = world.right(q)
        self.rng = random.Random(seed)

    # -- answers and judgements ------------------------------------------------------

    def fresh(self) -> int:
        if self.rng.random() < self.world.p_right:
            return self.right
        return self.rng.choice(self.world.wrong_values(self.q))

    def plurality(self, values: Sequence[int]) -> int:
        counts = Counter(values)
        top = max(counts.values())
        return self.rng.choice([v for v, c in counts.items() if c == top])

    def follow(self, seen: Sequence[int]) -> int:
        """The answer of a model shown ``seen``: their plurality or a fresh answer."""
        if seen and self.rng.random() < self.world.p_follow:
            return self.plurality(seen)
        return self.fresh()

    def pick(self, answers: Sequence[int | None]) -> int:
        """The index a judge picks among candidates stating ``answers``."""
        right = [i for i, a in enumerate(answers) if a == self.right]
        wrong = [i for i, a in enumerate(answers) if a != self.right]
        if right and (not wrong or self.rng.random() < self.world.p_judge):
            return self.rng.choice(right)
        return self.rng.choice(wrong or right)

    def quality(self, answer: int | None) -> float:
        """A noisy reading z of whether ``answer`` is right (higher: more likely right)."""
        sign = 1.0 if answer == self.right else -1.0
        return sign * self.world.gap / 2 + self.rng.gauss(0.0, 1.0)

    def angle(self) -> str:
        """A varied phrase, so that texts differ as sampled LLM texts do."""
        return f"{self.rng.choice(_ASPECTS)} {self.rng.choice(_ANGLES)}"

    # -- the script --------------------------------------------------------------------

    def reply(self, request: GenerateRequest, _: int) -> ScriptedReply:
        prompt = "\n".join(m.content for m in request.messages)
        last = request.messages[-1].content
        seen = stated(prompt)
        if request.json_schema is not None:
            return ScriptedReply(json.dumps(self.structured(prompt, last, seen, request)))
        lowered = last.lower()
        if "most consistent response" in lowered:
            blocks = labelled(prompt)
            labels = list(blocks)
            chosen = labels[self.pick(list(blocks.values()))] if labels else "1"
            return ScriptedReply(f"The most consistent response is Response {chosen}.")
        if "write only the next step" in lowered:
            step = re.search(r"step (\d+) of", last)
            number = step.group(1) if step else "1"
            value = self.follow(seen)
            return ScriptedReply(f"Step {number}: a {self.angle()} move; so the answer is {value}.")
        if "only continue the writing of point" in lowered:
            return ScriptedReply(self.expansion(request.messages, last))
        if "giving the skeleton" in lowered:
            count = min(len(_POINTS), self.limit(last, len(_POINTS)))
            return ScriptedReply("\n".join(f"{i}. {p}" for i, p in enumerate(_POINTS[:count], 1)))
        if "work out only path" in lowered:
            return ScriptedReply(f"Working this path out, the answer is {self.follow(seen)}.")
        if "every path of your parallel block" in lowered:
            value = self.plurality(seen) if seen else self.fresh()
            return ScriptedReply(
                f"The paths mostly agree.\n</Conclusion>\n</Parallel>\nSo the answer is {value}."
            )
        system = request.messages[0].content if request.messages[0].role == "system" else ""
        if "<Parallel>" in system:
            return ScriptedReply(self.parallel_block(system))
        if "planning tool calls" in system:
            return ScriptedReply(self.plan(prompt))
        if any(cue in prompt.lower() for cue in _AGGREGATE_CUES) and seen:
            value = self.aggregated(prompt, seen)
            return ScriptedReply(f"Weighing the candidates, the answer is {value}.")
        return self.trace(self.follow(seen))

    def trace(self, value: int) -> ScriptedReply:
        """A worked answer; its token logprobs read its quality (right traces surer)."""
        steps = " ".join(f"step {k}: reasoning about #{self.q}." for k in range(6))
        logprob = -0.45 + 0.15 * self.quality(value)
        text = f"{steps} Taking the {self.angle()} route, the answer is {value}."
        return ScriptedReply(text, logprob=min(logprob, -0.01))

    def aggregated(self, prompt: str, seen: Sequence[int]) -> int:
        blocks = list(labelled(prompt).values())
        candidates = blocks if any(b is not None for b in blocks) else list(seen)
        value = candidates[self.pick(candidates)]
        return value if value is not None else self.fresh()

    def limit(self, prompt: str, default: int) -> int:
        match = _AT_MOST.search(prompt)
        return int(match.group(1)) if match else default

    def expansion(self, messages: Sequence[ChatMessage], last: str) -> str:
        point = re.search(r"writing of point (\d+)", last)
        skeleton = next((m.content for m in messages if m.role == "assistant"), "")
        total = len(re.findall(r"^\d+\. ", skeleton, re.MULTILINE))
        if point is not None and int(point.group(1)) == total:
            return f"Putting it together, the answer is {self.fresh()}."
        return f"This point is worked out the {self.angle()} way."

    def parallel_block(self, system: str) -> str:
        paths = min(3, self.limit(system, 3))
        body = "\n".join(
            f"<Path>Solve the question the {_ANGLES[i]} way</Path>" for i in range(paths)
        )
        return (
            "I will solve this in independent ways at once.\n<Parallel>\n"
            f"<Goal>Solve the question independently</Goal>\n{body}\n</Parallel>"
        )

    def plan(self, prompt: str) -> str:
        calls = min(3, self.limit(prompt, 3))
        question = json.dumps(self.world.question(self.q))
        lines = [f"{i}. solve(question={question})" for i in range(1, calls + 1)]
        return "Thought: solve it independently, then join.\n" + "\n".join(
            [*lines, f"{calls + 1}. join()"]
        )

    def structured(
        self, prompt: str, last: str, seen: list[int], request: GenerateRequest
    ) -> dict[str, Any]:
        """Schema-following JSON, each field filled by its name and type."""
        schema = request.json_schema or {}
        props: dict[str, Any] = schema.get("properties", {})
        item = seen[-1] if seen else None
        out: dict[str, Any] = {}
        answer: int | None = None
        if "action" in props:  # a joiner: picks among the results it reads
            answer = self.aggregated(prompt, seen)
        elif "confidence" in props:  # a round-table seat: answers, maybe following the others
            answer = self.follow(seen)
        elif "answer" in props:  # an extractor: reads the answer the text states
            answer = seen[-1] if seen else self.fresh()
        for name, spec in props.items():
            kind = spec.get("type")
            if name in ("reason", "thought", "explanation"):
                out[name] = "Checked the reasoning against the question."
            elif name == "answer":
                out[name] = f"the answer is {answer}"
            elif name == "winner":
                out[name] = self.pairwise(labelled(prompt), spec.get("enum", ["A", "B", "tie"]))
            elif name in ("best", "choice"):
                blocks = list(labelled(prompt).values())
                out[name] = self.pick(blocks) + 1 if blocks else 1
            elif name == "confidence":
                out[name] = round(NormalDist().cdf(self.quality(answer)), 2)
            elif name == "points":
                out[name] = self.points(last, spec)
            elif "enum" in spec:
                out[name] = self.label(item, spec["enum"])
            elif kind in ("integer", "number"):
                low, high = spec.get("minimum", 1), spec.get("maximum", 10)
                share = NormalDist().cdf(self.quality(item))
                score = low + (high - low) * share
                out[name] = round(score) if kind == "integer" else round(score, 3)
            elif kind == "boolean":
                out[name] = self.quality(item) > 0
            else:
                out[name] = f"the answer is {self.follow(seen)}"
        return out

    def pairwise(self, blocks: dict[str, int | None], options: Sequence[str]) -> str:
        a, b = blocks.get("A"), blocks.get("B")
        if a == b:
            return "tie" if "tie" in options else "A"
        if self.right in (a, b):
            favoured = "A" if a == self.right else "B"
            other = "B" if favoured == "A" else "A"
            return favoured if self.rng.random() < self.world.p_judge else other
        return self.rng.choice(["A", "B"])

    def label(self, item: int | None, options: Sequence[str]) -> str:
        """A value label (sure/likely/impossible) by thirds of the quality reading."""
        if set(options) >= {"sure", "likely", "impossible"}:
            share = NormalDist().cdf(self.quality(item))
            return "sure" if share > 2 / 3 else "likely" if share > 1 / 3 else "impossible"
        return str(options[0])

    def points(self, last: str, spec: dict[str, Any]) -> list[str]:
        count = int(spec.get("maxItems", len(_POINTS)))
        if "next step" in last.lower():
            seen = stated(last)
            return [
                f"A {self.angle()} move; so the answer is {self.follow(seen)}."
                for _ in range(count)
            ]
        return list(_POINTS[: min(count, len(_POINTS))])

    def tools(self) -> ToolRegistry:
        """The ``solve`` tool of ``compile``: a fresh answer to the question it is given."""

        async def solve(question: str) -> str:
            """Solve one question and return the worked answer.

            Args:
                question: The question to solve.
            """
            return f"Solved independently: the answer is {self.fresh()}."

        return ToolRegistry([solve])


@dataclass(frozen=True)
class Config:
    name: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)


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
]


class _Drop:
    async def emit(self, event: Event) -> None:
        return None


def _graph() -> GraphSpec:
    names = ("judge", "selector", "aggregator", "solver", *SEATS)
    return GraphSpec(
        name="bench", agents={n: AgentSpec() for n in names}, nodes={"only": NodeSpec(op="vote")}
    )


def _context(model: ScriptedModel, graph: GraphSpec, tools: ToolRegistry) -> RunContext:
    return RunContext(
        job_id="bench",
        question="",
        models={"default": model},
        store=None,  # type: ignore[arg-type]
        executor=LocalExecutor(),
        budget=BudgetTracker(Budgets()),
        events=_Drop(),
        graph=graph,
        tools=tools,
    )


async def run_config(config: Config, world: World, questions: int, seed: int) -> dict[str, Any]:
    """Run ``config`` on every question concurrently; its accuracy and costs per question."""
    defn = STRATEGIES[config.op]
    params = parse_params(defn, config.params, where=config.name)
    graph = _graph()
    right = samples = requests = tokens = completion = errors = 0
    first_error: str | None = None
    started = time.perf_counter()

    async def one(q: int) -> None:
        nonlocal right, samples, requests, tokens, completion, errors, first_error
        solver = NoisySolver(world, q, seed * 1_000_003 + q)
        model = ScriptedModel(solver.reply)
        ctx = _context(model, graph, solver.tools())
        branches = Branches(ctx, AgentSpec())
        messages = [ChatMessage(role="user", content=world.question(q))]
        try:
            outcome = await defn.run(branches, params, messages)
        except BreadthError as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
        else:
            right += final_value(outcome.answer) == world.right(q)
        samples += branches.samples
        requests += len(model.calls)
        tokens += ctx.budget.usage.total_tokens
        completion += ctx.budget.usage.completion_tokens

    await asyncio.gather(*(one(q) for q in range(questions)))
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
    }
    if first_error is not None:
        row["first_error"] = first_error
    return row


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
    args = parser.parse_args(argv)
    load_strategies()
    world = World(args.p_right, args.p_judge, args.p_follow, args.wrong, args.seed)
    missing = sorted(set(STRATEGIES) - {c.op for c in CONFIGS})
    if missing:
        raise SystemExit(f"no bench config for operators {missing}; add one to CONFIGS")
    rows = []
    for config in selected(CONFIGS, args.only):
        row = asyncio.run(run_config(config, world, args.questions, args.seed))
        print(json.dumps(row), flush=True)
        rows.append(row)
    verdicts = checks(rows)
    for verdict in verdicts:
        print(json.dumps(verdict), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([*rows, *verdicts], indent=2) + "\n")


if __name__ == "__main__":
    main()
