"""Every registered strategy as an agent-graph op (``op: vote``, ``op: debate``, ...).

The op reads its input from the job state (``input``, default ``question``), runs the
strategy with the node's agent and params, and writes the answer (``output``, default
``answer``), a Markdown ``report`` and the strategy's details and costs back to the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from agents.common import node_agent
from agents.strategies.runtime import (
    STRATEGIES,
    Branches,
    StrategyDef,
    describe_field,
    parse_params,
)
from orchestrator.errors import ConfigError
from orchestrator.graph.context import JobState, Op, OpRegistry, ParamCheck, RunContext
from orchestrator.graph.spec import NodeSpec
from orchestrator.models.protocol import ChatMessage

# Keys of a strategy node's params that the op reads itself (the rest go to the strategy).
OP_KEYS = ("input", "output", "system")


def load_strategies() -> None:
    """Import every strategy module so that each registers itself."""
    from agents.strategies import operators  # noqa: F401


def question_messages(state: JobState, key: str, system: str | None) -> list[ChatMessage]:
    value = state.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"the strategy's input {key!r} is {value!r} in the job state; it must be a "
            f"non-empty string: set params.input to a key an earlier node writes"
        )
    messages = [ChatMessage(role="system", content=system)] if system else []
    return [*messages, ChatMessage(role="user", content=value)]


def render_report(defn: StrategyDef, question: str, answer: str, details: dict[str, Any]) -> str:
    """A short Markdown report of a strategy's answer and how it was reached."""
    lines = [f"# {question.strip()}", "", answer.strip(), "", f"## How: `{defn.name}`", ""]
    lines.append(f"{defn.summary} ({defn.paper}).")
    for key, value in details.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


def strategy_op(defn: StrategyDef) -> Op:
    async def op(ctx: RunContext, node: NodeSpec, state: JobState) -> JobState:
        where = f"node op {defn.name!r}"
        raw = {k: v for k, v in node.params.items() if k not in OP_KEYS}
        params = parse_params(defn, raw, where=where)
        agent = node_agent(ctx, node)
        input_key = str(node.params.get("input", "question"))
        output_key = str(node.params.get("output", "answer"))
        system = node.params.get("system") or agent.system
        messages = question_messages(state, input_key, system)
        branches = Branches(ctx, agent)
        outcome = await defn.run(branches, params, messages)
        details = {
            "op": defn.name,
            "samples": branches.samples,
            "total_tokens": branches.usage.total_tokens,
            "stopped_by": outcome.stopped_by,
            **outcome.details,
        }
        await ctx.emit("log", message=f"{defn.name}: {branches.samples} samples", **details)
        return {
            output_key: outcome.answer,
            "candidates": outcome.candidates,
            "strategy": details,
            "report": render_report(defn, messages[-1].content, outcome.answer, details),
            **({"stopped_by": outcome.stopped_by} if outcome.stopped_by else {}),
        }

    op.__doc__ = defn.summary
    return op


def params_check(defn: StrategyDef) -> ParamCheck:
    """A check of a node's params against the strategy's params model (for the loader)."""

    def check(params: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        raw = {k: v for k, v in params.items() if k not in OP_KEYS}
        try:
            defn.params.model_validate(raw)
        except ConfigError as exc:
            return [((), f"{exc}")]
        except ValidationError as exc:
            return [(tuple(error["loc"]), _param_message(defn, error)) for error in exc.errors()]
        return []

    return check


def _param_message(defn: StrategyDef, error: ErrorDetails) -> str:
    fields = defn.params.model_fields
    name = str(error["loc"][0]) if error["loc"] else ""
    if name in fields:
        rule = f"{name}: {describe_field(fields[name])}"
    else:
        rule = f"the params of {defn.name!r} are {', '.join(fields)}"
    return f"{error.get('input')!r}: {error['msg']} ({rule})"


def register_strategy_ops(registry: OpRegistry) -> None:
    """Register every strategy as an op of the same name, with its params check."""
    load_strategies()
    for name, defn in sorted(STRATEGIES.items()):
        registry.register(
            name,
            strategy_op(defn),
            doc=f"{defn.summary} ({defn.paper})",
            check_params=params_check(defn),
        )
