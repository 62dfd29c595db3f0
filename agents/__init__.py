"""Agents: the lead planner, researcher subagents, synthesizer and the parallel-reasoning strategies."""
