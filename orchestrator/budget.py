"""Budget arithmetic (pure): max tasks, max tokens, deadline; what stops a job early."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import BudgetExceeded
from orchestrator.usage import TokenUsage


class Budgets(BaseModel):
    """Limits of one job. ``None`` means unlimited."""

    model_config = ConfigDict(extra="forbid")

    max_tasks: int | None = Field(default=None, ge=1, le=100_000)
    max_tokens: int | None = Field(default=None, ge=1)
    deadline_s: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=8, ge=1, le=10_000)
    task_timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    on_task_failure: str = Field(default="fail_dependents", pattern="^(fail_dependents|fail_job)$")


class BudgetOverrides(BaseModel):
    """What one job request may change in its graph's budgets (unset: the graph's value)."""

    model_config = ConfigDict(extra="forbid")

    max_tasks: int | None = Field(default=None, ge=1, le=100_000)
    max_tokens: int | None = Field(default=None, ge=1)
    deadline_s: float | None = Field(default=None, gt=0)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    task_timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0, le=10)

    def apply(self, budgets: Budgets) -> Budgets:
        """``budgets`` with every value this override sets replaced."""
        return budgets.model_copy(update=self.model_dump(exclude_none=True))


@dataclass
class BudgetTracker:
    """Running totals against ``Budgets``; ``exhausted()`` names the budget that is spent."""

    budgets: Budgets
    started_at: float = field(default_factory=time.monotonic)
    usage: TokenUsage = field(default_factory=TokenUsage)
    tasks_started: int = 0

    def record(self, usage: TokenUsage) -> None:
        self.usage = self.usage + usage

    def elapsed(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started_at

    def remaining_s(self, now: float | None = None) -> float | None:
        if self.budgets.deadline_s is None:
            return None
        return self.budgets.deadline_s - self.elapsed(now)

    def exhausted(self, now: float | None = None) -> str | None:
        """The name of the first budget that is spent, or ``None``."""
        b = self.budgets
        if b.max_tokens is not None and self.usage.total_tokens >= b.max_tokens:
            return "max_tokens"
        remaining = self.remaining_s(now)
        if remaining is not None and remaining <= 0:
            return "deadline_s"
        return None

    def check(self, now: float | None = None) -> None:
        """Raise ``BudgetExceeded`` (with its limit and what was used) if a budget is spent."""
        spent = self.exhausted(now)
        if spent == "max_tokens":
            limit = float(self.budgets.max_tokens or 0)
            raise BudgetExceeded(spent, limit, float(self.usage.total_tokens))
        if spent == "deadline_s":
            limit = float(self.budgets.deadline_s or 0)
            raise BudgetExceeded(spent, limit, self.elapsed(now))

    def may_start_task(self) -> bool:
        b = self.budgets
        return b.max_tasks is None or self.tasks_started < b.max_tasks
