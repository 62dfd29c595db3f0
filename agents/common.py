"""What every agent op shares: finding its agent, and building requests from the agent's settings.

An agent's sampling settings come from three places, most specific first: the call
(an op's explicit choice, e.g. temperature 0 for a judge), the agent in the graph
(``agents.NAME.temperature``), then the agent's model (``models.NAME.temperature``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from orchestrator import (
    AgentSpec,
    BudgetedReplica,
    ChatMessage,
    Completion,
    ConfigError,
    GenerateRequest,
    JobState,
    ModelSpec,
    NodeSpec,
    RunContext,
    Tally,
    TokenUsage,
    Toolbox,
    generate_structured,
)

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)


def node_agent(ctx: RunContext, node: NodeSpec, default: str | None = None) -> AgentSpec:
    """The agent a node runs (``node.agent``, else ``default``, else a plain default agent)."""
    name = node.agent or default
    agents = ctx.graph.agents
    if name is None or (node.agent is None and name not in agents):
        return AgentSpec()
    try:
        return agents[name]
    except KeyError:
        raise ConfigError(
            f"agent {name!r} is not defined; defined agents: {sorted(agents) or 'none'}; "
            f"add it under 'agents:' in the graph"
        ) from None


def agent_model_spec(ctx: RunContext, agent: AgentSpec) -> ModelSpec:
    """The model spec an agent uses (a plain default when the graph defines none)."""
    models = ctx.graph.models
    if agent.model not in models and agent.model != "default":
        raise ConfigError(
            f"model {agent.model!r} is not defined; defined models: {sorted(models)}; "
            f"add it under 'models:' in the graph"
        )
    return models.get(agent.model, ModelSpec())


def build_request(
    ctx: RunContext,
    agent: AgentSpec,
    messages: Sequence[ChatMessage],
    **overrides: Any,
) -> GenerateRequest:
    """A request with the agent's (then its model's) defaults; ``overrides`` win when not None."""
    sampling = agent_sampling(ctx, agent)
    fields: dict[str, Any] = {
        "messages": list(messages),
        "model": agent_model_spec(ctx, agent).model,
        "temperature": sampling.temperature,
        "max_tokens": sampling.max_tokens,
    }
    fields.update({key: value for key, value in overrides.items() if value is not None})
    return GenerateRequest(**fields)


def with_system(agent: AgentSpec, default_system: str, user: str) -> list[ChatMessage]:
    """The system prompt (the agent's override, else the op's) and one user message."""
    return [
        ChatMessage(role="system", content=agent.system or default_system),
        ChatMessage(role="user", content=user),
    ]


async def generate(
    ctx: RunContext,
    agent: AgentSpec,
    messages: Sequence[ChatMessage],
    *,
    task_id: str | None = None,
    **overrides: Any,
) -> Completion:
    """One request with the agent's settings, through the job's budgeted replica."""
    request = build_request(ctx, agent, messages, **overrides)
    return await agent_replica(ctx, agent, task_id=task_id).generate(request)


@dataclass(frozen=True)
class Sampling:
    """The temperature and completion limit of one call."""

    temperature: float
    max_tokens: int


def agent_sampling(
    ctx: RunContext,
    agent: AgentSpec,
    *,
    temperature: float | None = None,
    min_max_tokens: int | None = None,
) -> Sampling:
    """The agent's settings, else the op's (``temperature``), else its model's.

    ``min_max_tokens`` is a floor under the completion limit for structured replies:
    their length is bounded by their schema (the server decodes under it), and a reply
    cut short by a smaller limit does not parse, so a lower setting would only waste
    the call.
    """
    model_spec = agent_model_spec(ctx, agent)
    if agent.temperature is not None:
        temp = agent.temperature
    else:
        temp = temperature if temperature is not None else model_spec.temperature
    limit = agent.max_tokens if agent.max_tokens is not None else model_spec.max_tokens
    return Sampling(temperature=temp, max_tokens=max(limit, min_max_tokens or 0))


def agent_replica(
    ctx: RunContext, agent: AgentSpec, *, task_id: str | None = None, tally: Tally | None = None
) -> BudgetedReplica:
    """The agent's model behind the job's budget, asking for the agent's served model name."""
    served = agent_model_spec(ctx, agent).model
    return ctx.replica(agent.model, served=served, task_id=task_id, tally=tally)


async def generate_json(
    ctx: RunContext,
    agent: AgentSpec,
    messages: Sequence[ChatMessage],
    schema: type[M],
    *,
    replica: BudgetedReplica | None = None,
    task_id: str | None = None,
    temperature: float | None = None,
    extra_temperature: float = 0.0,
    min_max_tokens: int | None = None,
    attempts: int = 2,
) -> tuple[M, TokenUsage]:
    """A structured reply (``generate_structured``) with the agent's settings.

    Every call goes through the job's budgeted replica, so the budget is checked and the
    tokens are recorded as they are spent, failed attempts too (pass one ``replica`` to
    several calls to tally them all, even those that raise). ``extra_temperature`` is
    added for a retry that should not repeat the last reply (capped at 1.0, or at the
    setting if higher). Returns the parsed reply and the tokens of this call's attempts.
    """
    ctx.budget.check()
    sampling = agent_sampling(ctx, agent, temperature=temperature, min_max_tokens=min_max_tokens)
    if extra_temperature:
        base = sampling.temperature
        raised = min(max(base, 1.0), base + extra_temperature)
        sampling = Sampling(temperature=raised, max_tokens=sampling.max_tokens)
    replica = replica or agent_replica(ctx, agent, task_id=task_id)
    before = replica.usage
    value, _ = await generate_structured(
        replica,
        list(messages),
        schema,
        max_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
        attempts=attempts,
    )
    spent = replica.usage
    return value, TokenUsage(
        prompt_tokens=spent.prompt_tokens - before.prompt_tokens,
        completion_tokens=spent.completion_tokens - before.completion_tokens,
    )


def job_toolbox(ctx: RunContext, *, op: str) -> Toolbox:
    """The job's tools, or a ``ConfigError`` saying that ``op`` needs some."""
    if ctx.tools is None:
        raise ConfigError(
            f"{op} needs tools, but this job has none; run it through breadth's runtime "
            f"(which gives every job the corpus tools search and read) or give the context tools"
        )
    return ctx.tools


def state_text(state: Mapping[str, Any], key: str, *, op: str, producer: str) -> str:
    """A non-empty string the op needs from the job state, or a ConfigError naming the fix."""
    value = state.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"op {op!r} needs a non-empty string at state[{key!r}], found {value!r}; "
            f"put a {producer!r} node before it in the graph"
        )
    return value


def job_question(ctx: RunContext, state: JobState) -> str:
    """The job's question: the state's (set by the runner), else the context's."""
    question = state.get("question") or ctx.question
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(
            f"the job has no question (state['question'] is {question!r}); submit the job "
            f"with a non-empty question"
        )
    return question.strip()


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(0, limit - 15)].rstrip() + " …[truncated]"
