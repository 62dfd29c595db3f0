"""The store seam: jobs, task results, artifacts and per-job event streams."""

from orchestrator.store.base import Store

__all__ = ["Store"]
