"""The bench's scripted LLM: a noisy but useful solver, judge and aggregator for every operator.

Every operator listed in ``agents.strategies.operators.STRATEGIES`` runs once per
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
- Partial traces (``prune``, ``probe``, ``peers``): a worked trace opens with its route and
  states its answer only at its end; every trace written is remembered, so a partial one
  shown back is recognized. A paused trace asked to continue ("Continue your reasoning
  exactly where it stops") writes the rest of the same trace. Asked for its current answer
  (a probe, "state your current best final answer") or for a summary ("summarize your
  reasoning so far"), a partial trace states the answer it is heading to with probability
  the share of it written so far, else a guess (any candidate, uniformly). A path shown
  peers' summaries ("summaries from peers") continues its own trace but adopts the
  plurality of the answers they state with probability ``p_follow``. A judge asked whether
  two partial traces will reach the same answer (a ``same`` field) is right with
  probability ``p_judge``. A Cumulative Reasoning reporter (a ``ready`` field) picks among
  the numbered propositions it is shown like an aggregator; verifiers (a boolean
  ``valid``) read the quality of the last answer stated, the proposition under check.
- Atom of Thoughts: a decomposition (a ``subquestions`` schema) has two independent parts
  and a third that needs them; a part ("Answer only this sub-question") gets a sub-result
  that says nothing about the final answer; the contraction ("Rewrite the problem")
  restates the question. So the contracted question is answered afresh: the model gives
  decomposition no advantage it cannot measure.
- Chain of Agents: the long input is ``document(k)``, k sources each stating a fresh
  answer (as noisy as the solver); a worker ("Write down, briefly") restates what its
  chunk states (or NOTHING RELEVANT), a summary link ("Rewrite the summary") keeps every
  value stated so far, and the manager answers under the answer rule (it follows the
  evidence's plurality with probability ``p_follow``).
- Sparse MoA: a ``selected`` list picks that many shown responses, one by one as a judge
  does; a moderator's ``stop`` is a quality reading of the last answer shown.
- TUMIX: a tool agent's step (a ``calls`` schema) calls the first tool with the question
  while it has no tool results, then answers under the answer rule with them in view.

- Correlated judges (``--trap-share``, ``--judge-correlation`` rho; off by default): a
  share of the wrong fresh answers go to one trap value (the solver's most common wrong
  answer), and whenever the trap is among what a judge is shown, the judge prefers it with
  probability rho before its usual rule: a picking judge picks it, a pairwise judge prefers
  its side, a quality reading reads it as if it were right. Judges then err the way the
  solver errs, as a real model judging its own answers does.

JSON-schema requests get schema-following JSON, filled by field name and type. A question
counts as right when the last answer the operator's answer states ("answer is X",
"answer: X", else its last number) is the right value. An operator that raises on a
question counts it wrong and is reported under ``errors``.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.testing import ScriptedReply
from tools.registry import ToolRegistry

_QUESTION = re.compile(r"Question #(\d+)")
_STATED = re.compile(r"answer(?: is|:)\s*(-?\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+")
# Candidates shown to a judge: "Response 1:", "Candidate 2:", "Choice 3:", "Agent 2 (x):",
# "Proposition 1 (from 0):".
_LABEL = re.compile(
    r"^(?:Response|Candidate|Choice|Agent|Proposition) (\w+)(?: \([^)]*\))?:", re.MULTILINE
)
_AT_MOST = re.compile(r"at most (\d+) (?:points|paths|tool calls)")
_ANGLES = ("direct", "algebraic", "numeric", "backward", "casewise", "estimating", "modular")
_ASPECTS = ("quick", "thorough", "careful", "rough", "plain", "neat", "stepwise")
_POINTS = ("Restate what is asked", "Work out the value", "Check the work", "State the answer")
_AGGREGATE_CUES = ("synthesize", "candidate solutions", "improve this answer")
SEATS = ("seat1", "seat2", "seat3")
_TRACES = re.compile(r"Trace A:\n(.*?)\n\nTrace B:\n(.*?)\n\nReply", re.DOTALL)
_CONTINUE_CUE = "continue your reasoning exactly where it stops"
_PROBE_CUES = ("state your current best final answer", "summarize your reasoning so far")
_PEERS_CUE = "summaries from peers"


@dataclass(frozen=True)
class World:
    """The bench's ground truth and model of quality: right answers, wrong ones, noise."""

    p_right: float
    p_judge: float
    p_follow: float
    wrong: int
    seed: int
    # Correlated errors: the share of wrong fresh answers that are the trap (the first wrong
    # value; None spreads them evenly), and the chance rho that a judge or quality reading
    # prefers the trap whenever it is shown (0: judges err independently of the solver).
    trap_share: float | None = None
    judge_correlation: float = 0.0

    def trap(self, q: int) -> int:
        """The wrong answer the solver and, with ``judge_correlation``, its judges prefer."""
        return self.wrong_values(q)[0]

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
        # The correlated judges' own draws: the main stream stays the same whatever rho is,
        # so runs with and without correlation answer and judge alike until a judge is lured.
        self.lure_rng = random.Random(seed + 1)
        # Every worked trace written, with the answer it ends on (newest last): partial
        # traces shown back (paused, probed, compared) are looked up here.
        self.written: dict[str, int] = {}

    # -- answers and judgements ------------------------------------------------------

    def fresh(self) -> int:
        if self.rng.random() < self.world.p_right:
            return self.right
        wrong = self.world.wrong_values(self.q)
        if self.world.trap_share is None:
            return self.rng.choice(wrong)
        if len(wrong) == 1 or self.rng.random() < self.world.trap_share:
            return wrong[0]
        return self.rng.choice(wrong[1:])

    def lured(self, shown: Sequence[int | None]) -> bool:
        """Whether a judge shown ``shown`` falls for the trap (correlated errors only)."""
        rho = self.world.judge_correlation
        return rho > 0 and self.world.trap(self.q) in shown and self.lure_rng.random() < rho

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
            chosen = self.rng.choice(right)
        else:
            chosen = self.rng.choice(wrong or right)
        if self.lured(answers):
            trap = self.world.trap(self.q)
            return self.lure_rng.choice([i for i, a in enumerate(answers) if a == trap])
        return chosen

    def quality(self, answer: int | None) -> float:
        """A noisy reading z of whether ``answer`` is right (higher: more likely right)."""
        noise = self.rng.gauss(0.0, 1.0)
        sign = 1.0 if answer == self.right or self.lured([answer]) else -1.0
        return sign * self.world.gap / 2 + noise

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
        own = "".join(m.content for m in request.messages if m.role == "assistant")
        if _CONTINUE_CUE in lowered:
            return ScriptedReply(self.resumed(request.messages, []))
        if any(cue in lowered for cue in _PROBE_CUES) and own:
            return ScriptedReply(f"So far my reasoning points to: the answer is {self.lean(own)}.")
        if _PEERS_CUE in lowered:
            return ScriptedReply(self.resumed(request.messages, stated(last)))
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
        if "answer only this sub-question" in lowered:
            return ScriptedReply(f"This part works out to {self.rng.randint(2, 99)}.")
        if "rewrite the problem as one new" in lowered:
            return ScriptedReply(f"{self.world.question(self.q)} (its parts are solved)")
        if "write down, briefly, everything in this part" in lowered:
            chunk = last.split("Part ", 2)[-1]
            values = stated(chunk)
            if not values:
                return ScriptedReply("NOTHING RELEVANT")
            return ScriptedReply(" ".join(f"This part says the answer is {v}." for v in values))
        if "rewrite the summary" in lowered:
            return ScriptedReply(
                "Evidence so far: " + "; ".join(f"the answer is {v}" for v in seen) + "."
            )
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
        """A worked answer; its token logprobs read its quality (right traces surer).

        It opens with its route (so partial traces differ, as sampled ones do) and states
        its answer only at the end.
        """
        steps = " ".join(f"step {k}: reasoning about #{self.q}." for k in range(6))
        logprob = -0.45 + 0.15 * self.quality(value)
        text = f"Taking the {self.angle()} route, {steps} the answer is {value}."
        self.written[text] = value
        return ScriptedReply(text, logprob=min(logprob, -0.01))

    def origin(self, partial: str) -> tuple[str, int] | None:
        """The worked trace ``partial`` is the beginning of (the newest such), and its answer."""
        head = partial.strip()
        if not head:
            return None
        for text in reversed(self.written):
            if text.startswith(head):
                return text, self.written[text]
        return None

    def guess(self) -> int:
        """An answer stated before the work is done: any of the candidates, uniformly."""
        return self.rng.choice([self.right, *self.world.wrong_values(self.q)])

    def lean(self, partial: str) -> int:
        """What a partial trace says its answer is when asked: the answer it is heading to
        with probability the share of it written so far (consensus forms as traces go
        on), else a guess."""
        found = self.origin(partial)
        if found is None:
            return self.guess()
        text, value = found
        return value if self.rng.random() < len(partial.strip()) / len(text) else self.guess()

    def resumed(self, messages: Sequence[ChatMessage], peers: Sequence[int]) -> str:
        """The rest of a paused trace; after reading peers, its answer may follow theirs."""
        written = "".join(m.content for m in messages if m.role == "assistant")
        found = self.origin(written)
        if found is None:
            return self.trace(self.follow(list(peers))).text
        text, value = found
        rest = text[len(written.strip()) :] if text.startswith(written.strip()) else text
        if peers and self.rng.random() < self.world.p_follow:
            new = self.plurality(peers)
            rest = rest.replace(f"the answer is {value}.", f"the answer is {new}.")
            self.written[written.strip() + rest] = new
        return rest

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
        if "action" in props or "ready" in props:  # a joiner / reporter: picks what it reads
            answer = self.aggregated(prompt, seen)
        elif "confidence" in props:  # a round-table seat: answers, maybe following the others
            answer = self.follow(seen)
        elif "answer" in props:  # an extractor: reads the answer the text states
            answer = seen[-1] if seen else self.fresh()
        for name, spec in props.items():
            kind = spec.get("type")
            if name == "subquestions":
                out[name] = self.subquestions(int(spec.get("maxItems", 3)))
            elif name == "selected":
                out[name] = self.selection(labelled(prompt), int(spec.get("maxItems", 1)))
            elif name == "calls":
                out[name], answer = self.tool_step(prompt, spec, seen)
            elif name in ("reason", "thought", "explanation"):
                out[name] = "Checked the reasoning against the question."
            elif name == "answer" and "calls" in props:
                out[name] = f"the answer is {answer}" if answer else ""
            elif name == "answer":
                out[name] = f"the answer is {answer}"
            elif name == "same":
                out[name] = self.same_answer(last)
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

    def same_answer(self, prompt: str) -> bool:
        """Whether two partial traces will reach one answer: right with probability p_judge."""
        shown = _TRACES.search(prompt)
        found = [self.origin(t) for t in shown.groups()] if shown else [None, None]
        if found[0] is None or found[1] is None:
            return self.rng.random() < 0.5
        truth = found[0][1] == found[1][1]
        return truth if self.rng.random() < self.world.p_judge else not truth

    def pairwise(self, blocks: dict[str, int | None], options: Sequence[str]) -> str:
        a, b = blocks.get("A"), blocks.get("B")
        if a == b:
            return "tie" if "tie" in options else "A"
        if self.right in (a, b):
            favoured = "A" if a == self.right else "B"
            other = "B" if favoured == "A" else "A"
            verdict = favoured if self.rng.random() < self.world.p_judge else other
        else:
            verdict = self.rng.choice(["A", "B"])
        if self.lured([a, b]):
            return "A" if a == self.world.trap(self.q) else "B"
        return verdict

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

    def subquestions(self, most: int) -> list[dict[str, Any]]:
        """Atom of Thoughts' decomposition: independent parts, then one that needs them."""
        parts = max(1, min(2, most - 1))
        atoms: list[dict[str, Any]] = [
            {"question": f"What is part {i} of question #{self.q}?", "depends_on": []}
            for i in range(1, parts + 1)
        ]
        needs = list(range(1, parts + 1))
        atoms.append({"question": f"Combine the parts of #{self.q}.", "depends_on": needs})
        return atoms

    def selection(self, blocks: dict[str, int | None], k: int) -> list[int]:
        """Sparse MoA's judge: ``k`` picks among the shown responses, one at a time."""
        labels = list(blocks)
        chosen: list[int] = []
        while labels and len(chosen) < k:
            index = self.pick([blocks[label] for label in labels])
            chosen.append(int(labels.pop(index)))
        return chosen or [1]

    def tool_step(
        self, prompt: str, spec: dict[str, Any], seen: Sequence[int]
    ) -> tuple[list[dict[str, Any]], int]:
        """A TUMIX tool agent's step: call the first tool, or answer once results are in."""
        options = spec.get("items", {}).get("anyOf", [])
        if options and int(spec.get("maxItems", 0)) > 0 and "Tool results:" not in prompt:
            tool = options[0]["properties"]["tool"]["enum"][0]
            props = options[0]["properties"]["args"].get("properties", {})
            arg = next(iter(props), "question")
            return [{"tool": tool, "args": {arg: self.world.question(self.q)}}], 0
        return [], self.follow(seen)

    def document(self, sources: int) -> str:
        """Chain of Agents' long input: ``sources`` paragraphs, each stating a fresh answer."""
        filler = " ".join(f"Background sentence {k} about #{self.q}." for k in range(6))
        return "\n\n".join(
            f"Source {k}: {filler} This source says the answer is {self.fresh()}."
            for k in range(1, sources + 1)
        )

    def tools(self) -> ToolRegistry:
        """The ``solve`` tool of ``compile``: a fresh answer to the question it is given."""

        async def solve(question: str) -> str:
            """Solve one question and return the worked answer.

            Args:
                question: The question to solve.
            """
            return f"Solved independently: the answer is {self.fresh()}."

        return ToolRegistry([solve])
