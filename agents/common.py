"""What every agent op shares: finding its agent, and building requests from the agent's settings.

An agent's sampling settings come from three places, most specific first: the call
(an op's explicit choice, e.g. temperature 0 for a judge), the agent in the graph
(``agents.NAME.temperature``), then the agent's model (``models.NAME.temperature``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orchestrator.errors import BudgetExceeded, ConfigError
from orchestrator.graph.context import JobState, RunContext
from orchestrator.graph.spec import AgentSpec, ModelSpec, NodeSpec
from orchestrator.models.protocol import (
    ChatMessage,
    Completion,
    GenerateRequest,
    Replica,
    StreamChunk,
)
from orchestrator.models.structured import generate_structured
from orchestrator.usage import TokenUsage

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=BaseModel)


def node_agent(ctx: RunContext, node: NodeSpec, default: str | None = None) -> AgentSpec:
    """The agent a node runs (``node.agent``, else ``default``, else a plain default agent)."""
    name = node.agent or default
    agents: dict[str, AgentSpec] = ctx.graph.agents if ctx.graph is not None else {}
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
    models: dict[str, ModelSpec] = ctx.graph.models if ctx.graph is not None else {}
    if agent.model not in models and agent.model != "default":
        raise ConfigError(
            f"model {agent.model!r} is not defined; defined models: {sorted(models)}; "
            f"add it under 'models:' in the graph"
        )
    return models.get(agent.model, ModelSpec())


def budget_error(ctx: RunContext, spent: str) -> BudgetExceeded:
    """The error for a spent budget, with its limit and what was used."""
    budgets = ctx.budget.budgets
    if spent == "max_tokens":
        return BudgetExceeded(
            spent, float(budgets.max_tokens or 0), float(ctx.budget.usage.total_tokens)
        )
    return BudgetExceeded(spent, float(budgets.deadline_s or 0), ctx.budget.elapsed())


def agent_replica(ctx: RunContext, agent: AgentSpec) -> Replica:
    return ctx.model(agent.model)


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
    """One request with the agent's settings; checks the budget first and records the tokens."""
    check_budget(ctx)
    request = build_request(ctx, agent, messages, **overrides)
    completion = await agent_replica(ctx, agent).generate(request)
    await ctx.record_usage(completion.usage, task_id)
    return completion


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


class RecordingReplica:
    """A replica that counts every call's tokens against the job (``ctx.record_usage``).

    Wrapping the replica, rather than counting after a helper returns, also counts the
    calls of attempts that failed, and sets the agent's served model name on requests.
    """

    def __init__(
        self, ctx: RunContext, inner: Replica, *, model: str | None, task_id: str | None
    ) -> None:
        self.name = inner.name
        self._ctx = ctx
        self._inner = inner
        self._model = model
        self._task_id = task_id
        self.usage = TokenUsage()

    def _named(self, request: GenerateRequest) -> GenerateRequest:
        if request.model is None and self._model is not None:
            return request.model_copy(update={"model": self._model})
        return request

    async def _record(self, usage: TokenUsage) -> None:
        self.usage = self.usage + usage
        await self._ctx.record_usage(usage, self._task_id)

    async def generate(self, request: GenerateRequest) -> Completion:
        completion = await self._inner.generate(self._named(request))
        await self._record(completion.usage)
        return completion

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        async for chunk in self._inner.stream(self._named(request)):
            if chunk.usage is not None:
                await self._record(chunk.usage)
            yield chunk

    async def aclose(self) -> None:
        """The wrapped replica belongs to the job, not to this wrapper: nothing to close."""


def check_budget(ctx: RunContext) -> None:
    """Raise ``BudgetExceeded`` if one of the job's budgets is spent."""
    spent = ctx.budget.exhausted()
    if spent is not None:
        raise budget_error(ctx, spent)


def recording_replica(
    ctx: RunContext, agent: AgentSpec, task_id: str | None = None
) -> RecordingReplica:
    """The agent's replica, recording tokens against the job (and tallying them in ``usage``)."""
    return RecordingReplica(
        ctx, agent_replica(ctx, agent), model=agent_model_spec(ctx, agent).model, task_id=task_id
    )


async def generate_json(
    ctx: RunContext,
    agent: AgentSpec,
    messages: Sequence[ChatMessage],
    schema: type[M],
    *,
    replica: RecordingReplica | None = None,
    task_id: str | None = None,
    temperature: float | None = None,
    extra_temperature: float = 0.0,
    min_max_tokens: int | None = None,
    attempts: int = 2,
) -> tuple[M, TokenUsage]:
    """A structured reply (``generate_structured``) with the agent's settings.

    Checks the budget first; every call's tokens are recorded as they are spent,
    failed attempts too (pass one ``replica`` to several calls to tally them all, even
    those that raise). ``extra_temperature`` is added for a retry that should not
    repeat the last reply (capped at 1.0, or at the setting if higher). Returns the
    parsed reply and the tokens of this call's attempts.
    """
    check_budget(ctx)
    sampling = agent_sampling(ctx, agent, temperature=temperature, min_max_tokens=min_max_tokens)
    if extra_temperature:
        base = sampling.temperature
        raised = min(max(base, 1.0), base + extra_temperature)
        sampling = Sampling(temperature=raised, max_tokens=sampling.max_tokens)
    replica = replica or recording_replica(ctx, agent, task_id)
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


def node_params(node: NodeSpec, model: type[P], *, op: str) -> P:
    """The node's ``params`` validated by ``model``; a bad one is named with its rule and fix."""
    try:
        return model.model_validate(dict(node.params))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "params"
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown param {name!r}")
            else:
                problems.append(f"params.{name} = {error.get('input')!r}: {error['msg']}")
        raise ConfigError(
            f"op {op!r}: " + "; ".join(problems) + f"; valid params: {describe_params(model)}; "
            f"fix the node's params in the graph"
        ) from None


def describe_params(model: type[BaseModel]) -> str:
    """Each field of a params model with its bounds and default, e.g. ``attempts (1..10, 3)``."""
    described = []
    for name, info in model.model_fields.items():
        low = high = None
        for meta in info.metadata:
            low = getattr(meta, "ge", None) if low is None else low
            high = getattr(meta, "le", None) if high is None else high
        parts = [f"{low}..{high}"] if low is not None and high is not None else []
        if not info.is_required():
            parts.append(f"default {info.default!r}")
        described.append(f"{name} ({', '.join(parts)})" if parts else name)
    return ", ".join(described) or "none"


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
