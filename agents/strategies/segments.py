"""Traces written in segments on a stock chat API: stream a few tokens, pause, go on later.

Operators that look at traces while they are being written (``probe`` asks each for its
current answer, ``peers`` has them exchange summaries) pause a trace by closing its stream
after ``limit`` tokens, which stops the generation on any OpenAI-compatible server, and
continue it with a new request: the conversation, the trace so far as an assistant turn
and a user turn asking to go on (chat APIs cannot portably resume a half-written
assistant turn). Every segment goes through ``Branches.stream``, so its tokens count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.strategies.runtime import Branches
from orchestrator import ChatMessage

CONTINUE_PROMPT = (
    "Continue your reasoning exactly where it stops above, without repeating it, and end "
    "with your final answer."
)


def continuation(messages: Sequence[ChatMessage], text: str, prompt: str) -> list[ChatMessage]:
    """The conversation, the trace so far as an assistant turn (if any), then ``prompt``."""
    said = [ChatMessage(role="assistant", content=text)] if text.strip() else []
    return [*messages, *said, ChatMessage(role="user", content=prompt)]


@dataclass
class Trace:
    """One trace being written: its text so far, tokens streamed, and whether it ended."""

    text: str = ""
    tokens: int = 0
    finished: bool = False


async def stream_segment(
    branches: Branches,
    messages: Sequence[ChatMessage],
    trace: Trace,
    limit: int | None,
    *,
    prompt: str = CONTINUE_PROMPT,
    **overrides: Any,
) -> Trace:
    """Write up to ``limit`` more tokens of ``trace`` (None: to its end), in place.

    The first segment answers ``messages``; later ones continue the trace through
    ``continuation`` with ``prompt`` (which may carry new context, such as peers'
    summaries). Reaching ``limit`` closes the stream: that is the pause. A stream that
    ends by itself marks the trace finished.
    """
    request = continuation(messages, trace.text, prompt) if trace.text else list(messages)
    written = 0
    stream = branches.stream(request, **overrides)
    try:
        async for chunk in stream:
            if chunk.delta:
                trace.text += chunk.delta
                trace.tokens += 1
                written += 1
            if chunk.finish_reason is not None:
                # Read on: the usage chunk that follows counts the tokens exactly.
                trace.finished = True
            elif limit is not None and written >= limit and not trace.finished:
                break
    finally:
        await stream.aclose()
    if limit is None:
        trace.finished = True
    return trace
