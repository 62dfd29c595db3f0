"""Operators that think: the lead planner, researcher subagents and the synthesizer."""
