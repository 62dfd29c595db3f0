"""The model layer: the replica protocol, backends, the pool and structured output."""

from orchestrator.models.protocol import (
    ChatMessage,
    Choice,
    Completion,
    GenerateRequest,
    Replica,
    StreamChunk,
    TokenLogprob,
)

__all__ = [
    "ChatMessage",
    "Choice",
    "Completion",
    "GenerateRequest",
    "Replica",
    "StreamChunk",
    "TokenLogprob",
]
