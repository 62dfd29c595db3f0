"""Agents: the lead planner, researchers, synthesizer and the parallel-reasoning strategies.

The composition root wires them in with ``register_ops`` (every op, built-in and
strategy, into one registry) and ``TASK_HANDLERS`` (the handler of each task kind).
"""

from agents.handlers import TASK_HANDLERS
from agents.ops import register_ops

__all__ = ["TASK_HANDLERS", "register_ops"]
