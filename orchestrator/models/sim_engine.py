"""The simulator as an in-process engine: what a CPU-only Ray replica actor hosts.

``SimEngine`` is a ``Replica`` with the simulator server's behaviour and clock, without
HTTP: a writer (``sim_writer.default_backend`` by default, a ``ScriptedModel`` in tests)
says what to answer; stop strings and ``max_tokens`` cut it as a server does; the
fleet latency model (``SimulatedTiming``) makes it take the time a replica would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from orchestrator.models.protocol import Choice, Completion, GenerateRequest, Replica, StreamChunk
from orchestrator.models.sim_fleet import FleetLatency, SimulatedTiming
from orchestrator.models.simulator import _cut, _Reply
from orchestrator.usage import TokenUsage


class SimEngine:
    """A simulated model engine in this process: ``backend`` writes, the latency model times."""

    def __init__(
        self,
        backend: Replica | None = None,
        *,
        latency: FleetLatency | None = None,
        name: str | None = None,
    ) -> None:
        if backend is None:
            from orchestrator.models.sim_writer import default_backend

            backend = default_backend()
        self.backend = backend
        self.name = name or backend.name
        self.timing = SimulatedTiming(latency or FleetLatency())

    async def _replies(self, request: GenerateRequest) -> tuple[list[_Reply], TokenUsage]:
        completion = await self.backend.generate(request)
        replies = [_cut(choice, request) for choice in completion.choices]
        usage = TokenUsage(
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=sum(len(r.pieces) for r in replies),
        )
        return replies, usage

    async def generate(self, request: GenerateRequest) -> Completion:
        replies, usage = await self._replies(request)
        self.timing.in_flight += 1
        try:
            await self.timing.prefill(request)
            await self.timing.decode(max((len(r.pieces) for r in replies), default=0))
        finally:
            self.timing.in_flight -= 1
        choices = [
            Choice(
                index=r.index,
                text=r.text,
                finish_reason=r.finish_reason,
                logprobs=r.logprobs if request.logprobs else None,
            )
            for r in replies
        ]
        return Completion(choices=choices, usage=usage, model=self.name, replica=self.name)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        replies, usage = await self._replies(request)
        self.timing.in_flight += 1
        try:
            await self.timing.prefill(request)
            for step in range(max((len(r.pieces) for r in replies), default=0)):
                await self.timing.decode(1)
                for r in replies:
                    if step < len(r.pieces):
                        yield StreamChunk(
                            index=r.index,
                            delta=r.pieces[step],
                            logprobs=r.logprobs[step : step + 1] if request.logprobs else None,
                        )
            for r in replies:
                yield StreamChunk(index=r.index, finish_reason=r.finish_reason)
            yield StreamChunk(usage=usage)
        finally:
            self.timing.in_flight -= 1

    async def aclose(self) -> None:
        await self.backend.aclose()
