"""The runtime every parallel-reasoning strategy shares: sampling branches, params, registry.

A strategy is ``async (branches, params, messages) -> StrategyOutcome``: it answers the
conversation ``messages`` (the question is the last user message) by fanning out model
calls through ``branches``. ``Branches`` sends samples that share a prompt as one
request with ``n`` (so the replica reuses the prefix); every call goes through the job's
budgeted replica, which checks the budget and counts every branch's tokens in one tally.
Strategies compose: a strategy whose params take an ``inner`` strategy (e.g. a debate
whose agents each answer by self-consistency) calls ``branches.solve(messages, inner)``
instead of sampling once; the inner strategy is looked up in the job's op registry
(``ctx.ops``), like every op.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from agents.common import agent_replica, build_request
from orchestrator import (
    AgentSpec,
    BudgetedReplica,
    BudgetExceeded,
    ChatMessage,
    Choice,
    ConfigError,
    InnerOp,
    RunContext,
    StrategyOutcome,
    StreamChunk,
    Tally,
    TokenUsage,
    observe_branches,
)
from orchestrator import parse_params as parse_model_params

T = TypeVar("T")


@dataclass
class Branches:
    """Model access for one strategy run: one agent, the job's budget, shared token tallies."""

    ctx: RunContext
    agent: AgentSpec
    task_id: str | None = None
    _tally: Tally = field(default_factory=Tally)

    @property
    def usage(self) -> TokenUsage:
        return self._tally.usage

    @property
    def samples(self) -> int:
        return self._tally.samples

    def check_budget(self) -> None:
        self.ctx.budget.check()

    def with_agent(self, name: str, *, param: str) -> Branches:
        """Branches for another agent of the graph (a judge, an aggregator), same tallies."""
        agents = self.ctx.graph.agents
        if name not in agents:
            raise ConfigError(
                f"{param}: agent {name!r} is not defined; defined agents: "
                f"{sorted(agents) or 'none'}; add it under 'agents:' in the graph"
            )
        return Branches(self.ctx, agents[name], self.task_id, self._tally)

    def or_agent(self, name: str | None, *, param: str) -> Branches:
        """Branches for the agent ``name`` when one is named, else these branches."""
        return self if name is None else self.with_agent(name, param=param)

    def _replica(self) -> BudgetedReplica:
        return agent_replica(self.ctx, self.agent, task_id=self.task_id, tally=self._tally)

    async def sample(
        self, messages: Sequence[ChatMessage], n: int = 1, **overrides: Any
    ) -> list[Choice]:
        """``n`` samples of one prompt, sent as one request so the replica shares the prefix."""
        request = build_request(self.ctx, self.agent, messages, n=n, **overrides)
        completion = await self._replica().generate(request)
        return list(completion.choices)

    async def text(self, messages: Sequence[ChatMessage], **overrides: Any) -> str:
        """One sample's text."""
        return (await self.sample(messages, 1, **overrides))[0].text

    async def stream(
        self, messages: Sequence[ChatMessage], **overrides: Any
    ) -> AsyncGenerator[StreamChunk, None]:
        """One streamed sample; closing the iterator early aborts the generation.

        Tokens are counted from the final usage chunk, or estimated from the deltas
        received when the stream is closed before it (an aborted trace).
        """
        request = build_request(self.ctx, self.agent, messages, **overrides)
        async with aclosing(self._replica().stream(request)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def solve(
        self, messages: Sequence[ChatMessage], inner: InnerOp | None = None, **overrides: Any
    ) -> str:
        """Answer ``messages`` with one sample, or with the ``inner`` strategy when given."""
        if inner is None:
            return await self.text(messages, **overrides)
        outcome = await run_strategy(self, inner.op, inner.params, messages, where="inner")
        return outcome.answer


StrategyFn = Callable[[Branches, Any, list[ChatMessage]], Awaitable[StrategyOutcome]]


@dataclass(frozen=True)
class StrategyDef:
    """A strategy: its name (the op), params model, function and source paper."""

    name: str
    params: type[BaseModel]
    run: StrategyFn
    paper: str
    summary: str


def parse_params(defn: StrategyDef, raw: Mapping[str, Any], *, where: str) -> Any:
    """Validate ``raw`` against the strategy's params; every problem named with its rule."""
    return parse_model_params(defn.params, raw, op=defn.name, where=where)


async def run_strategy(
    branches: Branches,
    name: str,
    raw_params: Mapping[str, Any],
    messages: Sequence[ChatMessage],
    *,
    where: str,
) -> StrategyOutcome:
    """Run the strategy ``name`` of the job's op registry, with unvalidated params."""
    ops = branches.ctx.ops
    strategy = ops.strategy(name, where=where)
    params = ops.parse_strategy_params(name, raw_params, where=where)
    return await strategy.run(branches, params, list(messages))


def question_of(messages: Sequence[ChatMessage]) -> str:
    """The question a strategy answers: the last user message."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "").strip()


async def run_all(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``jobs`` concurrently; the first error cancels the rest and is raised as itself.

    They are the operator's branches: an observer (tracing) sees each one run.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in observe_branches(jobs)]
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


async def gather_within_budget(
    jobs: Sequence[Coroutine[Any, Any, T]],
) -> tuple[list[T | None], BudgetExceeded | None]:
    """Run ``jobs`` concurrently; a job stopped by the budget yields None (anytime results).

    Any other error cancels the rest and propagates. Returns the results in order and
    the first budget stop, if any.
    """
    stops: list[BudgetExceeded] = []

    async def guarded(job: Coroutine[Any, Any, T]) -> T | None:
        try:
            return await job
        except BudgetExceeded as exc:
            stops.append(exc)
            return None

    results = await run_all([guarded(job) for job in jobs])
    return results, (stops[0] if stops else None)
