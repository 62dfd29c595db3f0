"""breadth's error tree: every error says who must act and how.

- ``GraphSpecError``: the user who wrote an agent graph YAML (file, line, field).
- ``GraphRunError``: an agent graph ran more steps than its ``max_visits`` allow.
- ``PlanError``: the model returned a plan that is not a valid DAG; fed back to it
  as a retry, raised when the retries are spent (with the last output).
- ``ModelOutputError``: a model returned text that does not match the schema asked for.
- ``BudgetExceeded``: a job hit one of its budgets (tasks, tokens, deadline).
- ``BackendUnavailable``: the operator's model server cannot be reached or keeps failing
  (``retry_after``: what a rate-limiting server asked to wait).
- ``StoreUnavailable``: the operator's Redis cannot be reached.
- ``ToolError``: a tool raised or was called with bad arguments.
- ``TaskFailed``: a task failed after its retries; carries the cause.
- ``WorkerLost``: the process running a task (a Ray worker) died; transient, so retried.
- ``MissingExtra``: an optional dependency is missing; names the pip command.
- ``ConfigError``: a bad command-line value or setting.
- ``RealModelBlocked``: a unit test tried to reach a real model without opting in.
- ``ReplayMismatch``: a replayed job made a model or tool call its recording lacks.

Every message names the bad value (``!r``), the rule, and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BreadthError(Exception):
    """Base of every error breadth raises on purpose."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a user-written file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


class GraphSpecError(BreadthError):
    """An agent graph YAML file is invalid; lists every problem at once."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in agent graph:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class GraphRunError(BreadthError):
    """An agent graph ran more node steps than its ``max_visits`` allow (a runtime fault)."""


class PlanError(BreadthError):
    """The lead agent's plan is not a valid task DAG (cycle, missing dependency, ...)."""

    def __init__(
        self, message: str, *, problems: Sequence[str] = (), last_output: str = ""
    ) -> None:
        self.problems = list(problems)
        self.last_output = last_output
        text = message
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        if last_output:
            text += f"\nLast model output: {last_output[:2000]!r}"
        super().__init__(text)


class ModelOutputError(BreadthError):
    """A model's output does not parse as the structured output that was asked for."""

    def __init__(self, message: str, *, output: str = "") -> None:
        self.output = output
        super().__init__(message)


class BudgetExceeded(BreadthError):
    """A budget (max tasks, max tokens, deadline) was reached."""

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget = budget
        self.limit = limit
        self.used = used
        super().__init__(
            f"budget {budget!r} reached: used {used:g} of {limit:g}; raise it in the graph's "
            f"'budgets' section (or with the CLI flag) to let the job go further"
        )


class BackendUnavailable(BreadthError):
    """A model replica cannot be reached, or every replica failed.

    ``retryable`` says whether another attempt (on this or another replica) may
    succeed: true for refused connections, timeouts, 5xx and 429; false for a
    request the server rejects (other 4xx). ``status`` is the HTTP status, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status: int | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.url = url
        # Seconds the server asked to wait before the next request (its Retry-After).
        self.retry_after = retry_after
        super().__init__(message)


class StoreUnavailable(BreadthError):
    """The job store (Redis) cannot be reached."""


class ToolError(BreadthError):
    """A tool failed; the message is fed back to the calling agent."""


class TaskFailed(BreadthError):
    """A task failed after its retries; ``cause`` keeps the original error."""

    def __init__(self, task_id: str, cause: str) -> None:
        self.task_id = task_id
        self.cause = cause
        super().__init__(f"task {task_id!r} failed: {cause}")


class WorkerLost(BreadthError, ConnectionError):
    """The worker process running a task died mid-task (a Ray worker crashed or was killed).

    A ``ConnectionError``, so the retry policy treats it as transient: the task runs
    again on another worker.
    """


class JobCancelled(BreadthError):
    """The job was cancelled before it finished."""


class MissingExtra(BreadthError):
    """An optional dependency is not installed."""

    def __init__(self, what: str, extra: str, *, command: str | None = None) -> None:
        self.extra = extra
        cmd = command or f"pip install 'breadth[{extra}]'"
        super().__init__(f"{what} needs the optional dependency group {extra!r}: run `{cmd}`")


class ConfigError(BreadthError):
    """A bad command-line value or setting."""


class RealModelBlocked(BreadthError):
    """A unit test tried to call a real model without the ``real_model`` marker."""


class ReplayMismatch(BreadthError):
    """A replayed job made a call (model or tool) that the recorded job never made."""
