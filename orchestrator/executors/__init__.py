"""The executor seam: where a task's coroutine function runs (in-process, Ray)."""

from orchestrator.executors.base import Executor

__all__ = ["Executor"]
