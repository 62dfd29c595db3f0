"""Recorded, cached and replayed model and tool calls (``breadth research --cache``,
``breadth replay``): content-addressed keys, the per-job ``CallLog``, and the wrappers
around the replica and toolbox seams that go through it."""

from orchestrator.cache.log import CallLog, CallPolicy
from orchestrator.cache.replica import LoggedReplica, NoModel
from orchestrator.cache.toolbox import LoggedToolbox, RecordedToolbox

__all__ = ["CallLog", "CallPolicy", "LoggedReplica", "LoggedToolbox", "NoModel", "RecordedToolbox"]
