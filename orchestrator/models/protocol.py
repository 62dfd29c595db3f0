"""The model replica seam: chat request in, completions out (or a stream of chunks).

Every backend (OpenAI-compatible HTTP, in-process llama.cpp, the scripted model,
the pool itself) implements ``Replica``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.usage import TokenUsage

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "abort", "error"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str
    name: str | None = None


class GenerateRequest(BaseModel):
    """One generation request; ``n`` samples share the prompt (and its prefix cache)."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    n: int = Field(default=1, ge=1, le=256)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1, le=131_072)
    stop: list[str] | None = None
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = Field(default=0, ge=0, le=20)
    # JSON Schema the output must follow (structured output / guided decoding).
    json_schema: dict[str, Any] | None = None

    def prefix_key(self, messages: int | None = None) -> str:
        """Hash of the first ``messages`` messages (all but the last by default).

        Requests that share this key share a prompt prefix, so the pool sends them
        to the same replica to reuse its prefix cache.
        """
        count = len(self.messages) - 1 if messages is None else messages
        head = self.messages[: max(count, 1)]
        blob = "\x1e".join(f"{m.role}\x1f{m.content}" for m in head).encode()
        return hashlib.sha1(blob).hexdigest()[:16]


class TokenLogprob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    logprob: float
    top_logprobs: dict[str, float] = Field(default_factory=dict)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = 0
    text: str
    finish_reason: FinishReason = "stop"
    logprobs: list[TokenLogprob] | None = None


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choices: list[Choice]
    usage: TokenUsage = Field(default_factory=TokenUsage)
    model: str = ""
    replica: str = ""

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""


class StreamChunk(BaseModel):
    """A piece of a streamed generation; ``usage`` is set on the last chunk."""

    model_config = ConfigDict(extra="forbid")

    index: int = 0
    delta: str = ""
    logprobs: list[TokenLogprob] | None = None
    finish_reason: FinishReason | None = None
    usage: TokenUsage | None = None


@runtime_checkable
class Replica(Protocol):
    """Something that generates: a model server, an in-process engine, a pool, a script."""

    name: str

    async def generate(self, request: GenerateRequest) -> Completion: ...

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...


# The provider of a replica that does not say (``served_model``).
UNKNOWN_PROVIDER = "unknown"


@dataclass(frozen=True)
class ServedModel:
    """The model a request is served by (its real name, not a pool's) and who provides it.

    ``provider`` names the backend: ``openai``, ``vllm``, ``llama_cpp``, ...
    """

    model: str
    provider: str


@runtime_checkable
class DescribesModel(Protocol):
    """A replica that can say which model serves a request (for traces)."""

    async def describe(self, request: GenerateRequest) -> ServedModel: ...


async def served_model(replica: Replica, request: GenerateRequest) -> ServedModel:
    """The model ``replica`` serves ``request`` with: its answer, else what the request names."""
    if isinstance(replica, DescribesModel):
        return await replica.describe(request)
    return ServedModel(model=request.model or replica.name, provider=UNKNOWN_PROVIDER)
