"""Agents: the lead planner, researchers, synthesizer and the parallel-reasoning strategies."""
