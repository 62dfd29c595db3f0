"""The one wrapper every model call of a job goes through: budget check, token accounting, events.

``BudgetedReplica`` wraps the replica an agent uses. Before each call it checks the job's
budgets (``BudgetExceeded`` names the spent one); after it, it counts the tokens against
the job (``BudgetTracker``), adds them and the samples to a ``Tally`` (an op's or a
task's own totals, shared by the branches of one operator) and emits a ``tokens`` event
for the progress view. A stream closed early is counted from what it received.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from orchestrator.budget import BudgetTracker
from orchestrator.events import Event, EventSink
from orchestrator.models.protocol import Completion, GenerateRequest, Replica, StreamChunk
from orchestrator.usage import TokenUsage

# Characters per token, for estimating the tokens of a stream closed before its usage.
CHARS_PER_TOKEN = 4


@dataclass
class Tally:
    """Tokens and samples spent by one op, task or operator run (all its branches)."""

    usage: TokenUsage = field(default_factory=TokenUsage)
    samples: int = 0


class BudgetedReplica:
    """A replica that checks the job's budget before each call and records every call's tokens.

    ``served`` is the model name sent with requests that name none (the agent's model).
    Attempts that fail after the server answered (a reply that does not parse) are counted
    too, since the tokens were spent.
    """

    def __init__(
        self,
        inner: Replica,
        *,
        budget: BudgetTracker,
        events: EventSink | None,
        job_id: str,
        task_id: str | None = None,
        served: str | None = None,
        tally: Tally | None = None,
    ) -> None:
        self.name = inner.name
        self.inner = inner
        self.budget = budget
        self.events = events
        self.job_id = job_id
        self.task_id = task_id
        self.served = served
        self.tally = tally if tally is not None else Tally()

    @property
    def usage(self) -> TokenUsage:
        return self.tally.usage

    def _named(self, request: GenerateRequest) -> GenerateRequest:
        if request.model is None and self.served is not None:
            return request.model_copy(update={"model": self.served})
        return request

    async def record(self, usage: TokenUsage, samples: int) -> None:
        """Count ``usage`` against the job and this tally, and tell the progress view."""
        self.budget.record(usage)
        self.tally.usage = self.tally.usage + usage
        self.tally.samples += samples
        if self.events is not None:
            await self.events.emit(
                Event(
                    type="tokens",
                    job_id=self.job_id,
                    task_id=self.task_id,
                    data={
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "total_tokens": self.budget.usage.total_tokens,
                    },
                )
            )

    async def generate(self, request: GenerateRequest) -> Completion:
        self.budget.check()
        completion = await self.inner.generate(self._named(request))
        await self.record(completion.usage, request.n)
        return completion

    async def stream(self, request: GenerateRequest) -> AsyncGenerator[StreamChunk, None]:
        """One streamed generation; closing the iterator early aborts it (and counts it)."""
        self.budget.check()
        request = self._named(request)
        prompt_tokens = sum(len(m.content) // CHARS_PER_TOKEN for m in request.messages)
        received = 0
        usage: TokenUsage | None = None
        stream = self.inner.stream(request)
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.delta:
                    received += 1
                yield chunk
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            if usage is None:
                usage = TokenUsage(prompt_tokens=prompt_tokens, completion_tokens=received)
            await self.record(usage, request.n)

    async def aclose(self) -> None:
        """The wrapped replica belongs to the job, not to this wrapper: nothing to close."""
