"""``mcts``: Monte-Carlo tree search over reasoning steps, rollouts of an iteration in parallel.

Each iteration selects up to ``parallel`` paths by UCT (``mcts_tree.SearchTree``), each
taking a virtual loss so the next selection of the same iteration goes elsewhere;
expands every selected leaf into ``k`` next steps (one request with ``n=k``, so the
replica shares the prefix); has an ``evaluator`` agent value each new step (the value
prompt: sure / likely / impossible, or a 1-10 score), all concurrently; and backs every
value up its path. The search stops after ``iterations`` iterations or once the tree
holds ``max_nodes`` nodes; the most-visited path's steps then go to a last answer
prompt, answered by one sample or an ``inner`` strategy.

Papers: MCTS with process supervision for LLM reasoning (Li et al. 2025) and Dynamic
Parallel Tree Search (Ding et al. 2025, arXiv:2502.16235). Where ours differs, and why:
those use a trained process reward model or a policy's own rollouts to the end to value
a node; here a node's value is an LLM evaluator's verdict on the partial solution (as
in Tree-of-Thoughts' value prompt), so it runs on any stock server without a reward
model — a full rollout per node would multiply the cost by the depth. DPTS's own
parallelism (its Parallelism Streamline: fine-grained KV-cache management of arbitrary
paths in one batch) needs engine control a stock server does not give, so parallel
rollouts under virtual loss are the portable equivalent; its Search and Transition
Mechanism (early stop of weak paths, deep seek of strong ones) is approximated by UCT.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.common import clip
from agents.strategies.judge_scorer import JUDGE_SYSTEM, SCORE_SCHEMA
from agents.strategies.judges_scores import read_score
from agents.strategies.mcts_tree import SearchTree
from agents.strategies.prompting import ask, distinct_texts, step_value_prompt
from agents.strategies.runtime import Branches, StrategyDef, gather_within_budget, question_of
from agents.strategies.tree_beam import VALUE_WORDS, parse_value
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, ModelOutputError, StrategyOutcome

VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 160},
        "value": {"type": "string", "enum": sorted(VALUE_WORDS)},
    },
    "required": ["reason", "value"],
}


class MctsParams(BaseModel):
    """Settings of ``mcts``."""

    model_config = ConfigDict(extra="forbid")

    iterations: int = Field(default=4, ge=1, le=64, description="Search iterations.")
    parallel: int = Field(
        default=2, ge=1, le=16, description="Rollouts selected and expanded per iteration."
    )
    k: int = Field(default=3, ge=1, le=8, description="Next steps proposed per expansion.")
    depth: int = Field(default=3, ge=1, le=8, description="Steps in a full solution.")
    max_nodes: int = Field(
        default=40, ge=2, le=512, description="Node budget: the search stops at this size."
    )
    exploration: float = Field(default=1.0, ge=0.0, le=10.0, description="UCT constant c.")
    virtual_loss: float = Field(
        default=1.0, ge=0.0, le=10.0, description="Loss a path in flight counts per rollout."
    )
    evaluate: Literal["label", "score"] = Field(
        default="label", description="label: sure/likely/impossible; score: 1-10."
    )
    evaluator: str | None = Field(
        default=None, description="Agent that values steps (default: the node's)."
    )
    clip_chars: int = Field(
        default=2000, ge=200, le=100_000, description="Characters of a path shown to judges."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Proposal temperature."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy that writes the final answer (default: one sample)."
    )


def read_node_value(text: str, evaluate: Literal["label", "score"]) -> float | None:
    """A step's value in [0, 1] from an evaluator's reply (JSON label or score, else text).

    A JSON reply is read by its ``value`` label or ``score`` field only, so words in its
    reason are not taken for a verdict.
    """
    if evaluate == "score":
        score = read_score(text)
        return None if score is None else score / 10
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start : end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict):
            label = data.get("value")
            return VALUE_WORDS.get(label.strip().lower()) if isinstance(label, str) else None
    return parse_value(text)


class _Mcts:
    """One search: the tree, the proposer and evaluator, what stopped it."""

    def __init__(
        self,
        branches: Branches,
        evaluator: Branches,
        params: MctsParams,
        messages: list[ChatMessage],
    ) -> None:
        self.branches = branches
        self.evaluator = evaluator
        self.params = params
        self.messages = messages
        self.question = question_of(messages)
        self.tree = SearchTree(params.depth, params.exploration, params.virtual_loss)
        self.stop: BudgetExceeded | None = None
        self.unreadable = 0

    def _steps_text(self, node_id: int) -> str:
        steps = self.tree.steps(node_id)
        return "\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1)) or "(none yet)"

    async def propose(self, node_id: int, count: int) -> list[str]:
        p = self.params
        step = self.tree.node(node_id).depth + 1
        last = " It is the last step: reach the answer." if step == p.depth else ""
        prompt = (
            f"Question:\n{self.question}\n\nSteps so far:\n{self._steps_text(node_id)}\n\n"
            f"Write only the next step (step {step} of {p.depth}), briefly.{last}"
        )
        choices = await self.branches.sample(
            ask(self.messages, prompt), count, temperature=p.temperature
        )
        return distinct_texts([c.text for c in choices])

    async def value(self, node_id: int) -> float:
        p = self.params
        prompt = step_value_prompt(
            self.question,
            clip(self._steps_text(node_id), p.clip_chars),
            label=p.evaluate == "label",
        )
        system = self.evaluator.agent.system or JUDGE_SYSTEM
        reply = await self.evaluator.text(
            [ChatMessage(role="system", content=system), ChatMessage(role="user", content=prompt)],
            json_schema=VALUE_SCHEMA if p.evaluate == "label" else SCORE_SCHEMA,
            temperature=0.0,
        )
        value = read_node_value(reply, p.evaluate)
        if value is None:
            # An unreadable verdict counts as a dead end, so the search looks elsewhere.
            self.unreadable += 1
            return 0.0
        return value

    async def rollout(self, path: list[int], room: int) -> None:
        """Expand the leaf at the end of ``path`` into at most ``room`` children, value, back up."""
        leaf = path[-1]
        node = self.tree.node(leaf)
        if self.tree.terminal(leaf) or node.expanded or room < 1:
            # A full solution (or a dead end) is re-valued by its own mean: no new calls.
            self.tree.backpropagate(path, node.mean if node.visits else 0.0)
            return
        texts = await self.propose(leaf, min(self.params.k, room))
        children = self.tree.expand(leaf, texts)
        values, stop = await gather_within_budget([self.value(c) for c in children])
        self.stop = self.stop or stop
        for child, value in zip(children, values, strict=True):
            if value is not None:
                self.tree.backpropagate([*path, child], value)

    async def iteration(self) -> int:
        """One iteration: select ``parallel`` paths under virtual loss, roll them out at once."""
        paths: list[list[int]] = []
        for _ in range(self.params.parallel):
            path = self.tree.select()
            if any(p[-1] == path[-1] for p in paths):
                break
            self.tree.add_virtual_loss(path)
            paths.append(path)
        room = self.params.max_nodes - len(self.tree)
        shares = [room // len(paths) + (i < room % len(paths)) for i in range(len(paths))]
        try:
            _, stop = await gather_within_budget(
                [self.rollout(path, share) for path, share in zip(paths, shares, strict=True)]
            )
        finally:
            for path in paths:
                self.tree.remove_virtual_loss(path)
        self.stop = self.stop or stop
        return len(paths)

    async def answer(self, leaf: int) -> str:
        steps = self._steps_text(leaf)
        if self.stop is not None:
            return steps
        prompt = (
            f"Question:\n{self.question}\n\nReasoning steps:\n{steps}\n\nUsing these steps, "
            f"answer the question. State the final answer clearly."
        )
        try:
            return await self.branches.solve(ask(self.messages, prompt), self.params.inner)
        except BudgetExceeded as exc:
            self.stop = self.stop or exc
            return steps


async def run_mcts(
    branches: Branches, params: MctsParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    evaluator = branches.or_agent(params.evaluator, param="params.evaluator")
    search = _Mcts(branches, evaluator, params, messages)
    iterations = rollouts = 0
    while iterations < params.iterations and search.stop is None:
        if len(search.tree) >= params.max_nodes:
            break
        rollouts += await search.iteration()
        iterations += 1
    path = search.tree.best_path()
    if len(path) == 1:
        if search.stop is not None:
            raise search.stop
        raise ModelOutputError(
            "mcts: the model proposed no usable step for the question; use a model that "
            "follows the step prompt",
            output="",
        )
    leaf = path[-1]
    answer = await search.answer(leaf)
    details: dict[str, Any] = {
        "iterations": iterations,
        "rollouts": rollouts,
        "nodes": len(search.tree),
        "best_path": search.tree.steps(leaf),
        "best_visits": [search.tree.node(i).visits for i in path[1:]],
        "unreadable_evaluations": search.unreadable,
        "tree": search.tree.to_details(),
    }
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=search.tree.steps(leaf),
        details=details,
        stopped_by=search.stop.budget if search.stop is not None else None,
    )


MCTS = StrategyDef(
    name="mcts",
    params=MctsParams,
    run=run_mcts,
    paper="Li et al. 2025, process supervision with MCTS; Ding et al. 2025, Dynamic Parallel "
    "Tree Search (arXiv:2502.16235)",
    summary="Monte-Carlo tree search over reasoning steps: UCT selection, k children per "
    "expansion, LLM-valued steps, backpropagation; parallel rollouts under virtual loss",
)
