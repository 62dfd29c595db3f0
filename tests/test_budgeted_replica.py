"""The one budgeted wrapper every model call goes through: check, count, tally, tell."""

from __future__ import annotations

import pytest

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.errors import BudgetExceeded
from orchestrator.models.budgeted import BudgetedReplica, Tally
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.testing import ScriptedModel
from tests.support import EventLog


def request(text: str = "What is 2 + 2?", **extra: object) -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage(role="user", content=text)], **extra)  # type: ignore[arg-type]


def budgeted(
    model: ScriptedModel, budgets: Budgets | None = None, tally: Tally | None = None
) -> tuple[BudgetedReplica, BudgetTracker, EventLog]:
    tracker = BudgetTracker(budgets or Budgets())
    log = EventLog()
    replica = BudgetedReplica(
        model, budget=tracker, events=log, job_id="job-1", task_id="t1", served="m", tally=tally
    )
    return replica, tracker, log


async def test_every_call_is_counted_against_the_job_the_tally_and_the_events() -> None:
    shared = Tally()
    model = ScriptedModel({"*": "four"})
    first, tracker, log = budgeted(model, tally=shared)
    completion = await first.generate(request(n=3))
    assert len(completion.choices) == 3
    assert shared.samples == 3 and shared.usage == completion.usage
    assert tracker.usage == completion.usage
    [event] = log.of_type("tokens")
    assert event.task_id == "t1" and event.data["total_tokens"] == completion.usage.total_tokens
    assert model.calls[0].model == "m"  # the agent's served model name


async def test_a_spent_budget_stops_the_call_before_it_is_made() -> None:
    model = ScriptedModel({"*": "four"})
    replica, tracker, _ = budgeted(model, Budgets(max_tokens=4))
    await replica.generate(request())
    assert tracker.usage.total_tokens >= 4
    with pytest.raises(BudgetExceeded, match="'max_tokens' reached"):
        await replica.generate(request())
    with pytest.raises(BudgetExceeded):
        async for _ in replica.stream(request()):
            pass
    assert len(model.calls) == 1


async def test_a_stream_closed_early_is_counted_from_what_it_received() -> None:
    model = ScriptedModel({"*": "one two three four five six seven eight"})
    replica, tracker, log = budgeted(model)
    stream = replica.stream(request("x" * 40))
    received = 0
    async for chunk in stream:
        received += bool(chunk.delta)
        if received == 2:
            break
    await stream.aclose()
    assert tracker.usage.prompt_tokens == 10  # 40 characters at 4 a token
    assert tracker.usage.completion_tokens == 2
    assert replica.tally.samples == 1
    assert len(log.of_type("tokens")) == 1


async def test_a_finished_stream_is_counted_from_its_usage() -> None:
    model = ScriptedModel({"*": "one two three"})
    replica, tracker, _ = budgeted(model)
    chunks = [chunk async for chunk in replica.stream(request())]
    usage = next(c.usage for c in chunks if c.usage is not None)
    assert tracker.usage == usage
