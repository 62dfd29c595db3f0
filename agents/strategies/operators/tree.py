"""``tree_search`` and ``got``: search over thoughts, every branch of a level at once.

``tree_search`` is Tree-of-Thoughts (Yao et al., 2023, arXiv:2305.10601): from the
question it proposes ``k`` next steps per state, has an evaluator value each state
(sure / likely / impossible, or 1-10) or vote for the most promising, and keeps the best
``beam`` per level (BFS), or goes depth-first, pruning states valued below a threshold and
backtracking (DFS); the best leaf's steps then feed a last answer prompt. ``got`` is
Graph-of-Thoughts (Besta et al., 2023, arXiv:2308.09687): a list of operations (generate,
score, keep_best, aggregate, refine) applied in order to a working set of thoughts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.judge_scorer import JUDGE_SYSTEM, SCORE_SCHEMA
from agents.strategies.judges_scores import read_score
from agents.strategies.prompting import ask, distinct_texts, step_value_prompt
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.skeleton_points import parse_skeleton
from agents.strategies.tree_beam import (
    VALUE_WORDS,
    DfsFrontier,
    Thought,
    ThoughtTree,
    aggregate_votes_for_states,
    combine_values,
    parse_value,
    parse_vote,
    select_beam,
)
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, ModelOutputError, StrategyOutcome

VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 300},
        "value": {"type": "string", "enum": sorted(VALUE_WORDS)},
    },
    "required": ["reason", "value"],
}


def _vote_schema(n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "maxLength": 400},
            "best": {"type": "integer", "minimum": 1, "maximum": n},
        },
        "required": ["reason", "best"],
    }


def _steps_schema(k: int) -> dict[str, Any]:
    step = {"type": "string", "minLength": 1, "maxLength": 600}
    return {
        "type": "object",
        "properties": {"points": {"type": "array", "items": step, "minItems": 1, "maxItems": k}},
        "required": ["points"],
    }


def _json_dict(text: str) -> dict[str, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_state_value(text: str) -> float | None:
    """A state's value in [0, 1] from an evaluator's reply (JSON label or score, else text).

    A JSON reply is read by its ``value`` label or ``score`` (1-10) field only, so words
    in its reason are not taken for a verdict.
    """
    data = _json_dict(text)
    if data is None:
        return parse_value(text)
    label = data.get("value")
    if isinstance(label, str):
        return VALUE_WORDS.get(label.strip().lower())
    score = read_score(text)
    return None if score is None else score / 10


def read_state_vote(text: str, n_states: int) -> int | None:
    """The 0-based state a vote picks: a JSON ``best`` (1-based), else 'The best choice is s'."""
    data = _json_dict(text)
    best = data.get("best") if data is not None else None
    if isinstance(best, int) and not isinstance(best, bool) and 1 <= best <= n_states:
        return best - 1
    return parse_vote(text, n_states)


# -- tree_search -------------------------------------------------------------------------


class TreeSearchParams(BaseModel):
    """Settings of ``tree_search``."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=3, ge=1, le=16, description="Thoughts proposed per state.")
    beam: int = Field(default=2, ge=1, le=16, description="States kept per level (BFS's b).")
    depth: int = Field(default=2, ge=1, le=8, description="Levels (steps) before answering.")
    search: Literal["bfs", "dfs"] = Field(default="bfs", description="Beam search or DFS.")
    propose: Literal["sample", "list"] = Field(
        default="sample",
        description="sample: one request with n=k per state; list: one 'propose k' prompt.",
    )
    evaluate: Literal["value", "vote"] = Field(
        default="value", description="value: rate each state; vote: pick the best of a level."
    )
    value_format: Literal["label", "score"] = Field(
        default="label", description="label: sure/likely/impossible; score: 1-10."
    )
    value_samples: int = Field(
        default=1, ge=1, le=16, description="Evaluator samples per state (averaged)."
    )
    votes: int = Field(default=3, ge=1, le=16, description="Votes per level (evaluate: vote).")
    evaluator: str | None = Field(
        default=None, description="Agent that evaluates states (default: the node's)."
    )
    value_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="DFS prunes states valued below this."
    )
    max_expansions: int = Field(
        default=16, ge=1, le=256, description="DFS: states expanded at most."
    )
    clip_chars: int = Field(
        default=2000, ge=200, le=100_000, description="Characters of a state shown to judges."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Proposal temperature."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy that writes the final answer (default: one sample)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> TreeSearchParams:
        if self.search == "dfs" and self.evaluate == "vote":
            raise ValueError("search 'dfs' prunes by value_threshold, which needs evaluate: value")
        return self


@dataclass
class _ToT:
    """One Tree-of-Thoughts run: the tree, its model access and what stopped it."""

    branches: Branches
    evaluator: Branches
    params: TreeSearchParams
    messages: list[ChatMessage]
    question: str = ""
    tree: ThoughtTree = field(default_factory=ThoughtTree)
    stop: BudgetExceeded | None = None
    unreadable: int = 0
    empty_proposals: list[str] = field(default_factory=list)

    def _steps(self, state: Thought) -> str:
        return self.tree.path_text(state.id) or "(none yet)"

    def _judge(self, prompt: str) -> list[ChatMessage]:
        system = self.evaluator.agent.system or JUDGE_SYSTEM
        return [
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content=prompt),
        ]

    def _note(self, stop: BudgetExceeded | None) -> None:
        self.stop = self.stop or stop

    async def propose(self, state: Thought) -> list[Thought]:
        p = self.params
        step = state.depth + 1
        head = f"Question:\n{self.question}\n\nSteps so far:\n{self._steps(state)}\n\n"
        last = " It is the last step: reach the answer." if step == p.depth else ""
        if p.propose == "sample":
            prompt = f"{head}Write only the next step (step {step} of {p.depth}), briefly.{last}"
            choices = await self.branches.sample(
                ask(self.messages, prompt), p.k, temperature=p.temperature
            )
            texts = [c.text for c in choices]
            raw = "\n".join(texts)
        else:
            prompt = (
                f"{head}Propose {p.k} different possible next steps (step {step} of "
                f'{p.depth}), each one short.{last} Reply as JSON: {{"points": ["<step>", ...]}}'
            )
            raw = await self.branches.text(
                ask(self.messages, prompt),
                json_schema=_steps_schema(p.k),
                temperature=p.temperature,
            )
            texts = parse_skeleton(raw, p.k) if raw.strip() else []
        kept = distinct_texts(texts)
        if not kept:
            self.empty_proposals.append(raw)
        return self.tree.expand(state.id, kept)

    async def value(self, state: Thought) -> None:
        p = self.params
        prompt = step_value_prompt(
            self.question, clip(self._steps(state), p.clip_chars), label=p.value_format == "label"
        )
        choices = await self.evaluator.sample(
            self._judge(prompt),
            p.value_samples,
            json_schema=VALUE_SCHEMA if p.value_format == "label" else SCORE_SCHEMA,
            temperature=0.0 if p.value_samples == 1 else None,
        )
        values = [read_state_value(c.text) for c in choices]
        self.unreadable += sum(v is None for v in values)
        readable = any(v is not None for v in values)
        self.tree.set_score(state.id, combine_values(values) if readable else None)

    async def vote(self, states: Sequence[Thought]) -> None:
        if len(states) == 1:
            self.tree.set_score(states[0].id, 1.0)
            return
        p = self.params
        choices = "\n\n".join(
            f"Choice {i}:\n{clip(self._steps(s), p.clip_chars)}" for i, s in enumerate(states, 1)
        )
        prompt = (
            f"Question:\n{self.question}\n\nGiven the question and several partial solutions, "
            f"decide which choice is most promising.\n\n{choices}\n\nAnalyze each choice, then "
            f'reply as JSON: {{"reason": "<analysis>", "best": <number of the best choice>}}.'
        )
        replies = await self.evaluator.sample(
            self._judge(prompt),
            p.votes,
            json_schema=_vote_schema(len(states)),
            temperature=0.0 if p.votes == 1 else None,
        )
        picks = [read_state_vote(r.text, len(states)) for r in replies]
        self.unreadable += sum(pick is None for pick in picks)
        for state, share in zip(
            states, aggregate_votes_for_states(picks, len(states)), strict=True
        ):
            self.tree.set_score(state.id, share)

    async def grow(self, state: Thought) -> list[Thought]:
        """``state``'s children, each valued as soon as it exists (evaluate: value)."""
        children = await self.propose(state)
        if self.params.evaluate == "value":
            _, stop = await gather_within_budget([self.value(c) for c in children])
            self._note(stop)
        return [self.tree.get(c.id) for c in children]

    async def bfs(self, details: dict[str, Any]) -> Thought | None:
        frontier = [self.tree.root]
        levels: list[dict[str, Any]] = []
        for _ in range(self.params.depth):
            grown, stop = await gather_within_budget([self.grow(s) for s in frontier])
            self._note(stop)
            children = [c for group in grown if group for c in group]
            if children and self.params.evaluate == "vote" and self.stop is None:
                try:
                    await self.vote(children)
                except BudgetExceeded as exc:
                    self._note(exc)
            if not children:
                break
            frontier = select_beam([self.tree.get(c.id) for c in children], self.params.beam)
            levels.append({"states": len(children), "kept": [(t.id, t.score) for t in frontier]})
            if self.stop is not None:
                break
        details["levels"] = levels
        return frontier[0] if frontier[0].id != 0 else None

    async def dfs(self, details: dict[str, Any]) -> Thought | None:
        p = self.params
        frontier = DfsFrontier(p.value_threshold)
        state: Thought | None = self.tree.root
        expansions = backtracks = 0
        solution: Thought | None = None
        while state is not None and expansions < p.max_expansions and self.stop is None:
            try:
                children = await self.grow(state)
            except BudgetExceeded as exc:
                self._note(exc)
                break
            expansions += 1
            if children and children[0].depth >= p.depth:
                good = [c for c in children if c.score is not None and c.score >= p.value_threshold]
                frontier.pruned.extend(c for c in children if c not in good)
                if good:
                    solution = select_beam(good, 1)[0]
                    break
            else:
                frontier.push(children)
            parent = state.id
            state = frontier.pop()
            backtracks += state is not None and state.parent != parent
        details.update(expansions=expansions, backtracks=backtracks, pruned=len(frontier.pruned))
        if solution is not None:
            return solution
        # No leaf passed the threshold: answer from the best state of the deepest level.
        for depth in range(p.depth, 0, -1):
            best = self.tree.best(depth)
            if best is not None:
                return best
        return None

    async def answer(self, leaf: Thought) -> str:
        steps = self.tree.path_text(leaf.id)
        if self.stop is not None:
            return steps
        prompt = (
            f"Question:\n{self.question}\n\nReasoning steps:\n{steps}\n\nUsing these steps, "
            f"answer the question. State the final answer clearly."
        )
        try:
            return await self.branches.solve(ask(self.messages, prompt), self.params.inner)
        except BudgetExceeded as exc:
            self._note(exc)
            return steps


async def run_tree_search(
    branches: Branches, params: TreeSearchParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    evaluator = branches.or_agent(params.evaluator, param="params.evaluator")
    search = _ToT(branches, evaluator, params, messages, question_of(messages))
    details: dict[str, Any] = {"search": params.search, "evaluate": params.evaluate}
    leaf = await (search.bfs(details) if params.search == "bfs" else search.dfs(details))
    if leaf is None:
        if search.stop is not None:
            raise search.stop
        raise ModelOutputError(
            "tree_search: the model proposed no usable thought for the question; use a model "
            "that follows the proposal prompt (or propose: sample)",
            output="\n---\n".join(search.empty_proposals)[:2000],
        )
    answer = await search.answer(leaf)
    path = search.tree.path(leaf.id)[1:]
    details.update(
        best=leaf.id,
        best_score=leaf.score,
        best_path=[t.text for t in path],
        thoughts=len(search.tree) - 1,
        unreadable_evaluations=search.unreadable,
        tree=search.tree.to_details(),
    )
    stopped_by = search.stop.budget if search.stop is not None else None
    return StrategyOutcome(answer.strip(), [t.text for t in path], details, stopped_by=stopped_by)


TREE_SEARCH = StrategyDef(
    name="tree_search",
    params=TreeSearchParams,
    run=run_tree_search,
    paper="Yao et al. 2023, Tree of Thoughts (arXiv:2305.10601)",
    summary="Propose k thoughts per state, evaluate them (value or vote), keep the best b per "
    "level (BFS) or search depth-first with backtracking, then answer from the best leaf",
)
