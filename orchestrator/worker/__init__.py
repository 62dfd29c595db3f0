"""The worker: claims queued jobs, holds their leases, reclaims stalled ones, obeys cancels."""

from orchestrator.worker.worker import Worker, WorkerOptions

__all__ = ["Worker", "WorkerOptions"]
