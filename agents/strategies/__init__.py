"""Parallel-reasoning strategies: pure logic (no I/O) plus the ops that run them."""
