"""The composition root: builds every collaborator of a job from ``Settings``.

The only part of the engine that imports ``agents`` and ``tools``; the CLI, the service
and the worker call it.
"""

from orchestrator.app.job_tools import open_job_tools
from orchestrator.app.root import (
    Runtime,
    builtin_ops,
    builtin_tool_names,
    job_tools,
    load_job_graph,
    load_request_graph,
    rebuild_context,
)

__all__ = [
    "Runtime",
    "builtin_ops",
    "builtin_tool_names",
    "job_tools",
    "load_job_graph",
    "load_request_graph",
    "open_job_tools",
    "rebuild_context",
]
