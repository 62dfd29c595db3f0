"""A scripted model for unit tests (and the scheduler benchmark): a ``Replica`` whose
replies come from a script instead of a neural network.

A script is one of:
- a callable ``(request, sample_index) -> str | ScriptedReply``;
- a list of replies, handed out in order (one per sample);
- a dict ``{substring: reply}`` matched against the last user message (first match wins;
  the key ``"*"`` matches anything).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.errors import BackendUnavailable
from orchestrator.models.protocol import (
    Choice,
    Completion,
    FinishReason,
    GenerateRequest,
    ServedModel,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.usage import TokenUsage


@dataclass(frozen=True)
class ScriptedReply:
    """A reply with extras: a per-token logprob, a delay, or a failure to raise."""

    text: str = ""
    logprob: float = -0.05
    delay: float | None = None
    error: Exception | None = None
    finish_reason: str = "stop"


Script = (
    Callable[[GenerateRequest, int], "str | ScriptedReply"]
    | Sequence["str | ScriptedReply"]
    | Mapping[str, "str | ScriptedReply"]
)

_TOKEN = re.compile(r"\S+\s*|\s+")


def count_tokens(text: str) -> int:
    """A rough token count (about four characters a token), never below one for non-empty text."""
    return 0 if not text else max(1, len(text) // 4)


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into word-sized pseudo tokens that concatenate back to it."""
    return _TOKEN.findall(text)


class ScriptedModel:
    """A ``Replica`` that answers from a script, with optional delay and injected failures."""

    def __init__(
        self,
        script: Script,
        *,
        name: str = "scripted",
        delay: float | Callable[[GenerateRequest], float] = 0.0,
        fail_first: int = 0,
    ) -> None:
        self.name = name
        self._script = script
        self._delay = delay
        self._fail_first = fail_first
        self._counter = itertools.count()
        self.calls: list[GenerateRequest] = []
        self.outstanding = 0

    def _reply(self, request: GenerateRequest, index: int) -> ScriptedReply:
        script = self._script
        if callable(script):
            raw = script(request, index)
        elif isinstance(script, Mapping):
            last_user = next(
                (m.content for m in reversed(request.messages) if m.role == "user"), ""
            )
            found = next((v for k, v in script.items() if k != "*" and k in last_user), None)
            if found is None:
                if "*" not in script:
                    raise AssertionError(
                        f"scripted model {self.name!r} has no reply for {last_user[:200]!r}; "
                        f"add a matching key (or '*') to the script"
                    )
                found = script["*"]
            raw = found
        else:
            position = next(self._counter)
            if position >= len(script):
                raise AssertionError(
                    f"scripted model {self.name!r} ran out of replies after {len(script)}; "
                    f"add more replies to the script"
                )
            raw = script[position]
        return raw if isinstance(raw, ScriptedReply) else ScriptedReply(text=raw)

    def _delay_for(self, request: GenerateRequest, reply: ScriptedReply) -> float:
        if reply.delay is not None:
            return reply.delay
        return self._delay(request) if callable(self._delay) else self._delay

    async def generate(self, request: GenerateRequest) -> Completion:
        self.calls.append(request)
        self.outstanding += 1
        try:
            if self._fail_first > 0:
                self._fail_first -= 1
                raise BackendUnavailable(f"scripted model {self.name!r}: injected failure")
            replies = [self._reply(request, i) for i in range(request.n)]
            wait = max(self._delay_for(request, r) for r in replies)
            if wait > 0:
                await asyncio.sleep(wait)
            for reply in replies:
                if reply.error is not None:
                    raise reply.error
            choices = []
            completion_tokens = 0
            for i, reply in enumerate(replies):
                text = reply.text
                completion_tokens += count_tokens(text)
                logprobs = None
                if request.logprobs:
                    logprobs = [
                        TokenLogprob(token=t, logprob=reply.logprob) for t in split_tokens(text)
                    ]
                finish: FinishReason = "length" if reply.finish_reason == "length" else "stop"
                choices.append(Choice(index=i, text=text, finish_reason=finish, logprobs=logprobs))
            prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
            return Completion(
                choices=choices,
                usage=TokenUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
                model=request.model or self.name,
                replica=self.name,
            )
        finally:
            self.outstanding -= 1

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        completion = await self.generate(request)
        for choice in completion.choices:
            pieces = split_tokens(choice.text)
            for j, piece in enumerate(pieces):
                lp = choice.logprobs[j : j + 1] if choice.logprobs else None
                yield StreamChunk(index=choice.index, delta=piece, logprobs=lp)
            yield StreamChunk(index=choice.index, finish_reason=choice.finish_reason)
        yield StreamChunk(usage=completion.usage)

    async def describe(self, request: GenerateRequest) -> ServedModel:
        """The model the request names, else this script's name; provider ``breadth.scripted``."""
        return ServedModel(model=request.model or self.name, provider="breadth.scripted")

    async def aclose(self) -> None:
        return None
