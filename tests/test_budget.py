"""Budget arithmetic: which budget is spent, exactly at its limit, and the budgets' bounds."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from orchestrator.budget import Budgets, BudgetTracker
from orchestrator.usage import TokenUsage


def tracker(**budgets: object) -> BudgetTracker:
    return BudgetTracker(Budgets.model_validate(budgets), started_at=100.0)


def test_defaults_are_unlimited_but_concurrency_and_retries() -> None:
    b = Budgets()
    assert (b.max_tasks, b.max_tokens, b.deadline_s, b.task_timeout_s) == (None,) * 4
    assert (b.concurrency, b.max_retries, b.retry_backoff_s) == (8, 2, 0.5)
    assert b.on_task_failure == "fail_dependents"


@pytest.mark.parametrize(
    ("field", "lowest", "below"),
    [
        ("max_tasks", 1, 0),
        ("max_tokens", 1, 0),
        ("concurrency", 1, 0),
        ("max_retries", 0, -1),
        ("retry_backoff_s", 0, -0.1),
    ],
)
def test_lower_bounds_are_inclusive(field: str, lowest: float, below: float) -> None:
    assert getattr(Budgets.model_validate({field: lowest}), field) == lowest
    with pytest.raises(ValidationError):
        Budgets.model_validate({field: below})


@pytest.mark.parametrize(
    ("field", "highest"), [("max_tasks", 100_000), ("concurrency", 10_000), ("max_retries", 10)]
)
def test_upper_bounds_are_inclusive(field: str, highest: int) -> None:
    assert getattr(Budgets.model_validate({field: highest}), field) == highest
    with pytest.raises(ValidationError):
        Budgets.model_validate({field: highest + 1})


@pytest.mark.parametrize("field", ["deadline_s", "task_timeout_s"])
def test_durations_must_be_positive(field: str) -> None:
    assert getattr(Budgets.model_validate({field: 0.01}), field) == 0.01
    with pytest.raises(ValidationError):
        Budgets.model_validate({field: 0})


def test_on_task_failure_takes_the_two_policies_only() -> None:
    assert Budgets(on_task_failure="fail_job").on_task_failure == "fail_job"
    for bad in ("fail", "fail_jobs", "xfail_job"):
        with pytest.raises(ValidationError):
            Budgets(on_task_failure=bad)


def test_unknown_budget_is_rejected() -> None:
    with pytest.raises(ValidationError, match="max_task"):
        Budgets.model_validate({"max_task": 3})


def test_nothing_is_exhausted_without_limits() -> None:
    t = tracker()
    t.record(TokenUsage(prompt_tokens=10**9))
    assert t.exhausted(now=10**9) is None
    assert t.remaining_s(now=10**9) is None
    t.tasks_started = 10**6
    assert t.may_start_task()


def test_tokens_are_spent_when_the_total_reaches_the_limit() -> None:
    t = tracker(max_tokens=100)
    t.record(TokenUsage(prompt_tokens=60, completion_tokens=39))
    assert t.usage.total_tokens == 99
    assert t.exhausted(now=100.0) is None
    t.record(TokenUsage(completion_tokens=1))
    assert t.usage == TokenUsage(prompt_tokens=60, completion_tokens=40)
    assert t.exhausted(now=100.0) == "max_tokens"


def test_the_deadline_is_spent_when_no_time_remains() -> None:
    t = tracker(deadline_s=5)
    assert t.elapsed(now=102.5) == 2.5
    assert t.remaining_s(now=102.5) == 2.5
    assert t.exhausted(now=104.999) is None
    assert t.remaining_s(now=105.0) == 0
    assert t.exhausted(now=105.0) == "deadline_s"
    assert t.exhausted(now=106.0) == "deadline_s"
    assert t.remaining_s(now=106.0) == -1


def test_tokens_are_named_before_the_deadline_when_both_are_spent() -> None:
    t = tracker(max_tokens=1, deadline_s=1)
    t.record(TokenUsage(prompt_tokens=1))
    assert t.exhausted(now=200.0) == "max_tokens"


def test_elapsed_and_remaining_default_to_the_clock() -> None:
    t = BudgetTracker(Budgets(deadline_s=1000))
    assert 0 <= t.elapsed() < 1000
    remaining = t.remaining_s()
    assert remaining is not None and 0 < remaining <= 1000
    assert t.exhausted() is None
    assert t.started_at <= time.monotonic()


def test_tasks_may_start_until_the_limit_is_reached() -> None:
    t = tracker(max_tasks=2)
    assert t.may_start_task()
    t.tasks_started = 1
    assert t.may_start_task()
    t.tasks_started = 2
    assert not t.may_start_task()


def test_a_new_tracker_starts_from_nothing() -> None:
    t = BudgetTracker(Budgets())
    assert t.usage == TokenUsage()
    assert t.tasks_started == 0
