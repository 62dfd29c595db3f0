"""``LoggedReplica``: a model replica whose every call goes through the job's ``CallLog``.

It wraps the replica seam, so the budget wrapper, the ops and the pool above it see a
replica like any other; what it returns may come from the recording (replay), the
shared cache (``--cache``) or the model itself, and is recorded either way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

from orchestrator.cache.keys import model_call_key, sampled_without_seed
from orchestrator.cache.log import Call, CallLog
from orchestrator.errors import ReplayMismatch
from orchestrator.models.protocol import Completion, GenerateRequest, Replica, StreamChunk

SHOWN_PROMPT = 120


class LoggedReplica:
    """``inner`` behind the job's call log; ``alias`` is the graph's name for the model."""

    def __init__(self, inner: Replica, log: CallLog, *, alias: str) -> None:
        self.name = inner.name
        self.inner = inner
        self.log = log
        self.alias = alias

    def _call(self, request: GenerateRequest, kind: str) -> Call:
        sampled = sampled_without_seed(request)
        last = request.messages[-1].content
        shown = last if len(last) <= SHOWN_PROMPT else last[:SHOWN_PROMPT] + "…"
        return Call(
            # The recording is keyed by the graph's model name (the same in a replay), the
            # shared cache by the replica that answers (another server is another model).
            key=f"{kind}-" + model_call_key(request, self.alias),
            cache_key=f"{kind}-" + model_call_key(request, self.inner.name),
            reusable=not sampled or self.log.policy.cache_sampled,
            per_occurrence=sampled,
            description=f"a {kind} call to model {self.alias!r} whose last message is {shown!r}",
        )

    async def generate(self, request: GenerateRequest) -> Completion:
        async def produce() -> tuple[str, bool]:
            completion = await self.inner.generate(request)
            return completion.model_dump_json(), True

        text = await self.log.resolve(self._call(request, "generate"), produce)
        return Completion.model_validate_json(text)

    async def stream(self, request: GenerateRequest) -> AsyncGenerator[StreamChunk, None]:
        """Chunks pass through as they come and are recorded when the stream ends.

        A stream its reader closes early is recorded as far as it was read (a replay reads
        as far again) but never cached: it is not a whole answer.
        """
        slot, found = await self.log.lookup(self._call(request, "stream"))
        if found is not None:
            for raw in json.loads(found):
                yield StreamChunk.model_validate(raw)
            return
        chunks: list[StreamChunk] = []
        completed = False
        stream = self.inner.stream(request)
        try:
            async for chunk in stream:
                chunks.append(chunk)
                yield chunk
            completed = True
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            text = json.dumps([c.model_dump(mode="json") for c in chunks])
            await self.log.record(slot, text, cacheable=completed)

    async def aclose(self) -> None:
        """The wrapped replica belongs to the job or the runtime, which close it."""


class NoModel:
    """The model of a replayed job: every call must come from the recording, none from here."""

    name = "replay"

    async def generate(self, request: GenerateRequest) -> Completion:
        raise ReplayMismatch("a replayed job reached for a model; every call must be recorded")

    async def stream(self, request: GenerateRequest) -> AsyncGenerator[StreamChunk, None]:
        raise ReplayMismatch("a replayed job reached for a model; every call must be recorded")
        yield StreamChunk()  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        """Nothing to close."""
