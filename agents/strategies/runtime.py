"""The runtime every parallel-reasoning strategy shares: sampling branches, params, registry.

A strategy is ``async (branches, params, messages) -> StrategyOutcome``: it answers the
conversation ``messages`` (the question is the last user message) by fanning out model
calls through ``branches``. ``Branches`` sends samples that share a prompt as one request
with ``n`` (so the replica reuses the prefix), checks the job's budget before each call,
and counts every branch's tokens. Strategies compose: a strategy whose params take an
``inner`` strategy (e.g. a debate whose agents each answer by self-consistency) calls
``branches.solve(messages, inner)`` instead of sampling once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.common import agent_replica, build_request, check_budget
from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.context import RunContext
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, Choice, StreamChunk
from orchestrator.usage import TokenUsage

T = TypeVar("T")


class InnerStrategy(BaseModel):
    """A strategy used as the answerer inside another one (``inner: {op: vote, n: 5}``)."""

    model_config = ConfigDict(extra="forbid")

    op: str = Field(description="Name of a strategy op: vote, best_of_n, tournament, ...")
    params: dict[str, Any] = Field(default_factory=dict, description="Its params.")


@dataclass
class StrategyOutcome:
    """A strategy's answer, the candidates it weighed, and what it cost."""

    answer: str
    candidates: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    samples: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    stopped_by: str | None = None


@dataclass
class _Tally:
    usage: TokenUsage = field(default_factory=TokenUsage)
    samples: int = 0


@dataclass
class Branches:
    """Model access for one strategy run: one agent, the job's budget, shared token tallies."""

    ctx: RunContext
    agent: AgentSpec
    task_id: str | None = None
    _tally: _Tally = field(default_factory=_Tally)

    @property
    def usage(self) -> TokenUsage:
        return self._tally.usage

    @property
    def samples(self) -> int:
        return self._tally.samples

    def check_budget(self) -> None:
        check_budget(self.ctx)

    def with_agent(self, name: str, *, param: str) -> Branches:
        """Branches for another agent of the graph (a judge, an aggregator), same tallies."""
        agents: Mapping[str, AgentSpec] = self.ctx.graph.agents if self.ctx.graph else {}
        if name not in agents:
            raise ConfigError(
                f"{param}: agent {name!r} is not defined; defined agents: "
                f"{sorted(agents) or 'none'}; add it under 'agents:' in the graph"
            )
        return Branches(self.ctx, agents[name], self.task_id, self._tally)

    def or_agent(self, name: str | None, *, param: str) -> Branches:
        """Branches for the agent ``name`` when one is named, else these branches."""
        return self if name is None else self.with_agent(name, param=param)

    async def _record(self, usage: TokenUsage, samples: int) -> None:
        self._tally.usage = self._tally.usage + usage
        self._tally.samples += samples
        await self.ctx.record_usage(usage, self.task_id)

    async def sample(
        self, messages: Sequence[ChatMessage], n: int = 1, **overrides: Any
    ) -> list[Choice]:
        """``n`` samples of one prompt, sent as one request so the replica shares the prefix."""
        self.check_budget()
        request = build_request(self.ctx, self.agent, messages, n=n, **overrides)
        completion = await agent_replica(self.ctx, self.agent).generate(request)
        await self._record(completion.usage, n)
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
        self.check_budget()
        request = build_request(self.ctx, self.agent, messages, **overrides)
        prompt_tokens = sum(len(m.content) // 4 for m in request.messages)
        received = 0
        usage: TokenUsage | None = None
        stream = agent_replica(self.ctx, self.agent).stream(request)
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.delta:
                    received += 1
                yield chunk
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            if usage is None:
                usage = TokenUsage(prompt_tokens=prompt_tokens, completion_tokens=received)
            await self._record(usage, 1)

    async def solve(
        self, messages: Sequence[ChatMessage], inner: InnerStrategy | None = None, **overrides: Any
    ) -> str:
        """Answer ``messages`` with one sample, or with the ``inner`` strategy when given."""
        if inner is None:
            return await self.text(messages, **overrides)
        outcome = await run_strategy(self, inner.op, inner.params, messages, where="inner")
        return outcome.answer


StrategyFn = Callable[[Branches, Any, list[ChatMessage]], Awaitable[StrategyOutcome]]


@dataclass(frozen=True)
class StrategyDef:
    """A registered strategy: its name (the op), params model, function and source paper."""

    name: str
    params: type[BaseModel]
    run: StrategyFn
    paper: str
    summary: str


STRATEGIES: dict[str, StrategyDef] = {}


def register_strategy(
    name: str, params: type[BaseModel], *, paper: str, summary: str
) -> Callable[[StrategyFn], StrategyFn]:
    """Decorator: register ``fn`` as the strategy ``name`` (an op of the same name)."""

    def decorate(fn: StrategyFn) -> StrategyFn:
        if name in STRATEGIES:
            raise ConfigError(f"strategy {name!r} is registered twice; names must be unique")
        STRATEGIES[name] = StrategyDef(name, params, fn, paper, summary)
        return fn

    return decorate


def get_strategy(name: str, *, where: str) -> StrategyDef:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            f"{where}: unknown strategy {name!r}; known strategies: {', '.join(sorted(STRATEGIES))}"
        ) from None


def parse_params(defn: StrategyDef, raw: Mapping[str, Any], *, where: str) -> Any:
    """Validate ``raw`` against the strategy's params; every problem named with its rule."""
    fields = param_summary(defn)
    try:
        return defn.params.model_validate(dict(raw))
    except ConfigError as exc:
        raise ConfigError(
            f"bad params for {defn.name!r} ({where}): {exc}. Valid params: {fields}"
        ) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"]) or "params"
            value = error.get("input")
            problems.append(f"{where}.params.{loc} = {value!r}: {error['msg']}")
        raise ConfigError(
            f"bad params for {defn.name!r}: " + "; ".join(problems) + f". Valid params: {fields}"
        ) from None


def param_summary(defn: StrategyDef) -> str:
    """Every param of a strategy with its bounds and default, for error messages."""
    return ", ".join(
        f"{key} ({describe_field(info)})" for key, info in defn.params.model_fields.items()
    )


def describe_field(info: Any) -> str:
    bounds = []
    for meta in info.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                bounds.append(f"{sign} {bound}")
    if info.is_required():
        default = ""
    elif info.default_factory is not None:
        default = f"default {info.default_factory()!r}"
    else:
        default = f"default {info.default!r}"
    return ", ".join([*bounds, default]).strip(", ") or "required"


async def run_strategy(
    branches: Branches,
    name: str,
    raw_params: Mapping[str, Any],
    messages: Sequence[ChatMessage],
    *,
    where: str,
) -> StrategyOutcome:
    """Run the strategy ``name`` with unvalidated params (used for composition)."""
    defn = get_strategy(name, where=where)
    params = parse_params(defn, raw_params, where=where)
    return await defn.run(branches, params, list(messages))


def question_of(messages: Sequence[ChatMessage]) -> str:
    """The question a strategy answers: the last user message."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "").strip()


async def run_all(jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``jobs`` concurrently; the first error cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
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
