"""The one registry of ops: every op an agent graph's node can use, built-in or strategy.

An op is registered with a pydantic params model (``extra="forbid"``), so the graph
loader checks every node's params with lines (``breadth validate``), ``breadth schema``
describes them, and the op itself gets them parsed. An op that can answer a conversation
on its own (a parallel-reasoning strategy: ``vote``, ``debate``, ...) also carries a
``Strategy``: what ``inner: {op: ..., params: ...}`` composition, ``answer_with`` and
``operator`` tasks run, looked up here too. Wrapping the registry (tracing) wraps the
functions and keeps everything else, params checks included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import ConfigError
from orchestrator.params import ParamProblem, describe_params, params_problems, parse_params
from orchestrator.usage import TokenUsage

if TYPE_CHECKING:
    from orchestrator.context import RunContext
    from orchestrator.graph.spec import NodeSpec

P = TypeVar("P", bound=BaseModel)

# The LangGraph state of a job: plain data, so it can be checkpointed and stored.
JobState = dict[str, Any]

OpFn = Callable[["RunContext", "NodeSpec", P, JobState], Awaitable[JobState]]
"""An op's function: ``(ctx, node, params, state) -> state update``, params already parsed."""

# Checks a node's params before the job runs: one problem per bad value.
ParamCheck = Callable[[Mapping[str, Any]], list[ParamProblem]]


class InnerOp(BaseModel):
    """A strategy used inside another op: ``inner: {op: vote, params: {n: 5}}``."""

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


@dataclass(frozen=True)
class Strategy:
    """The composable face of an op: answers a conversation by fanning out model calls.

    ``run(branches, params, messages)`` gets the agents' fan-out runtime (``Branches``,
    which the engine does not know), the params parsed by ``params`` and the messages.
    """

    run: Callable[..., Awaitable[StrategyOutcome]]
    params: type[BaseModel]
    paper: str
    summary: str


@dataclass(frozen=True)
class OpDef(Generic[P]):
    """A registered op: its function, its params model and, for a strategy, its composable face.

    Calling it as ``await op(ctx, node, state)`` parses the node's params (a bad one is a
    ``ConfigError`` naming the value, the rule and the fix) and runs the function.
    """

    name: str
    fn: OpFn[P]
    params: type[P]
    doc: str = ""
    strategy: Strategy | None = None

    async def __call__(self, ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
        params = parse_params(
            self.params, node.params, op=self.name, where=f"node op {self.name!r}"
        )
        return await self.fn(ctx, node, params, state)


OpWrapper = Callable[[OpDef[Any]], OpFn[Any]]
StrategyWrapper = Callable[[str, Strategy], Callable[..., Awaitable[StrategyOutcome]]]


class OpRegistry:
    """Named ops an agent graph's nodes can use (``op: plan``), each with its params model."""

    def __init__(self) -> None:
        self._ops: dict[str, OpDef[Any]] = {}

    def register(
        self,
        name: str,
        fn: OpFn[P],
        *,
        params: type[P],
        doc: str = "",
        strategy: Strategy | None = None,
    ) -> OpDef[P]:
        """Add an op; a second op of the same name is refused."""
        if name in self._ops:
            raise ConfigError(f"op {name!r} is registered twice; op names must be unique")
        if params.model_config.get("extra") != "forbid":
            raise ConfigError(
                f"op {name!r}: its params model {params.__name__} must forbid unknown fields "
                f'(model_config = ConfigDict(extra="forbid")), so a typo is an error'
            )
        op = OpDef(name, fn, params, doc, strategy)
        self._ops[name] = op
        return op

    def get(self, name: str) -> OpDef[Any]:
        try:
            return self._ops[name]
        except KeyError:
            raise ConfigError(
                f"unknown op {name!r}; known ops: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._ops)

    def doc(self, name: str) -> str:
        return self.get(name).doc

    def strategy(self, name: str, *, where: str) -> Strategy:
        """The strategy ``name`` (for ``inner:`` and operator tasks), or a ``ConfigError``."""
        op = self._ops.get(name)
        if op is None or op.strategy is None:
            what = "unknown op" if op is None else "op that is not a strategy"
            raise ConfigError(
                f"{where}: {name!r} is an {what}; strategies that can answer inside another "
                f"op: {', '.join(self.strategy_names()) or 'none'}"
            )
        return op.strategy

    def strategy_names(self) -> list[str]:
        return [name for name in self.names() if self._ops[name].strategy is not None]

    def parse_strategy_params(self, name: str, raw: Mapping[str, Any], *, where: str) -> Any:
        """The params of the strategy ``name``, parsed; its inner strategies are checked too."""
        strategy = self.strategy(name, where=where)
        problems = self._problems(strategy.params, raw, ())
        if problems:
            listed = "; ".join(problem.sentence() for problem in problems)
            raise ConfigError(
                f"bad params for op {name!r} ({where}): {listed}. Valid params: "
                f"{describe_params(strategy.params)}. Fix them in the graph"
            )
        return strategy.params.model_validate(dict(raw))

    def param_checks(self) -> dict[str, ParamCheck]:
        """Per op, a check of a node's params (for the graph loader, ``breadth validate``).

        Strategies named by ``inner:`` are checked against their own params, recursively.
        """
        return {name: self._checker(op) for name, op in self._ops.items()}

    def _checker(self, op: OpDef[Any]) -> ParamCheck:
        def check(raw: Mapping[str, Any]) -> list[ParamProblem]:
            return self._problems(op.params, raw, ())

        return check

    def _problems(
        self, model: type[BaseModel], raw: Mapping[str, Any], path: tuple[str | int, ...]
    ) -> list[ParamProblem]:
        """Problems of ``raw`` against ``model``, then of each inner strategy it names."""
        problems = params_problems(model, raw)
        if problems:
            return [ParamProblem((*path, *p.path), p.rule, p.value) for p in problems]
        parsed = model.model_validate(dict(raw))
        for key, value in parsed:
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, item in items:
                if isinstance(item, InnerOp):
                    place = (*path, key) if index is None else (*path, key, index)
                    problems += self._inner_problems(item, place)
        return problems

    def _inner_problems(self, inner: InnerOp, place: tuple[str | int, ...]) -> list[ParamProblem]:
        op = self._ops.get(inner.op)
        if op is None or op.strategy is None:
            known = ", ".join(self.strategy_names())
            return [ParamProblem((*place, "op"), f"not a strategy; use one of: {known}", inner.op)]
        return self._problems(op.strategy.params, inner.params, (*place, "params"))

    def wrapped(self, wrap_op: OpWrapper, wrap_strategy: StrategyWrapper) -> OpRegistry:
        """A copy whose functions are wrapped (e.g. in tracing spans); params stay as they are."""
        copy = OpRegistry()
        for name, op in self._ops.items():
            strategy = op.strategy
            if strategy is not None:
                strategy = replace(strategy, run=wrap_strategy(name, strategy))
            copy._ops[name] = replace(op, fn=wrap_op(op), strategy=strategy)
        return copy

    def params_models(self) -> dict[str, type[BaseModel]]:
        """Each op's params model, by op name (``breadth schema`` describes them)."""
        return {name: op.params for name, op in sorted(self._ops.items())}
