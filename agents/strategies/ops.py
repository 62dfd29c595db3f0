"""Every registered strategy as an agent-graph op (``op: vote``, ``op: debate``, ...).

The op reads its input from the job state (``input``, default ``question``), runs the
strategy with the node's agent and params, and writes the answer (``output``, default
``answer``), a Markdown ``report`` and the strategy's details and costs back to the state.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents.common import node_agent
from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, StrategyDef
from orchestrator import (
    ChatMessage,
    ConfigError,
    JobState,
    NodeSpec,
    OpRegistry,
    RunContext,
    Strategy,
)


class _NodeKeys(BaseModel):
    """The params a strategy node reads itself; the rest are the strategy's."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(
        default="question", description="State key of the question (a string) to answer."
    )
    output: str = Field(default="answer", description="State key the answer is written to.")
    system: str | None = Field(default=None, description="System prompt (default: the agent's).")
    context: str | None = Field(
        default=None,
        description="State key of a text (or list of texts), e.g. a document, given before "
        "the question (chain_of_agents reads it as its long input).",
    )


def node_params_model(defn: StrategyDef) -> type[BaseModel]:
    """The params of a strategy node: the strategy's own, plus input, output and system."""
    return create_model(
        f"{defn.params.__name__}Node",
        __base__=(_NodeKeys, defn.params),
        __doc__=f"Params of a ``{defn.name}`` node.",
    )


def question_messages(
    state: JobState, key: str, system: str | None, context: str | None = None
) -> list[ChatMessage]:
    """The conversation a strategy node answers: system, the context texts, the question."""
    value = state.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"the strategy's input {key!r} is {value!r} in the job state; it must be a "
            f"non-empty string: set params.input to a key an earlier node writes"
        )
    messages = [ChatMessage(role="system", content=system)] if system else []
    texts = [] if context is None else context_texts(state, context)
    messages += [ChatMessage(role="user", content=text) for text in texts]
    return [*messages, ChatMessage(role="user", content=value)]


def context_texts(state: JobState, key: str) -> list[str]:
    """The texts at ``state[key]`` (a string or a list of strings), or a ConfigError."""
    value = state.get(key)
    texts = [value] if isinstance(value, str) else value
    if (
        not isinstance(texts, list)
        or not texts
        or not all(isinstance(t, str) and t.strip() for t in texts)
    ):
        raise ConfigError(
            f"the strategy's context {key!r} is {value!r:.100} in the job state; it must be a "
            f"non-empty string or list of strings: set params.context to a key an earlier "
            f"node writes"
        )
    return [t.strip() for t in texts]


def render_report(defn: StrategyDef, question: str, answer: str, details: dict[str, Any]) -> str:
    """A short Markdown report of a strategy's answer and how it was reached."""
    lines = [f"# {question.strip()}", "", answer.strip(), "", f"## How: `{defn.name}`", ""]
    lines.append(f"{defn.summary} ({defn.paper}).")
    for key, value in details.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"


def strategy_op(defn: StrategyDef) -> Any:
    """The graph op of a strategy: answer the state's input, write the answer and a report."""

    async def op(ctx: RunContext, node: NodeSpec, params: Any, state: JobState) -> JobState:
        agent = node_agent(ctx, node)
        system = params.system or agent.system
        messages = question_messages(state, params.input, system, params.context)
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
            params.output: outcome.answer,
            "candidates": outcome.candidates,
            "strategy": details,
            "report": render_report(defn, messages[-1].content, outcome.answer, details),
            **({"stopped_by": outcome.stopped_by} if outcome.stopped_by else {}),
        }

    op.__doc__ = defn.summary
    return op


def register_strategy_ops(registry: OpRegistry) -> None:
    """Register every strategy as an op of the same name, composable through ``inner:``."""
    for name, defn in sorted(STRATEGIES.items()):
        registry.register(
            name,
            strategy_op(defn),
            params=node_params_model(defn),
            doc=f"{defn.summary} ({defn.paper})",
            strategy=Strategy(
                run=defn.run, params=defn.params, paper=defn.paper, summary=defn.summary
            ),
        )
