"""The real-model guard: unit tests must not reach a real model unless they opt in.

The test suite blocks real models for every test; a test marked ``real_model`` is
let through. Backends that talk to a real model call ``check_real_model`` first.
Endpoints registered with ``allow_endpoint`` (the built-in simulator) always pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.errors import RealModelBlocked

_state = {"blocked": False}
_allowed_endpoints: set[str] = set()


def check_real_model(what: str, endpoint: str | None = None) -> None:
    """Raise ``RealModelBlocked`` if real model calls are blocked right now."""
    if not _state["blocked"]:
        return
    if endpoint is not None and endpoint.rstrip("/") in _allowed_endpoints:
        return
    raise RealModelBlocked(
        f"{what} is a real model, and real model calls are blocked in this test; "
        f"use orchestrator.testing.ScriptedModel or the simulator, or mark the test "
        f"@pytest.mark.real_model"
    )


@contextmanager
def real_models_blocked(blocked: bool = True) -> Iterator[None]:
    previous = _state["blocked"]
    _state["blocked"] = blocked
    try:
        yield
    finally:
        _state["blocked"] = previous


def allow_endpoint(base_url: str) -> None:
    """Let calls to ``base_url`` through the guard (for a test double served over HTTP)."""
    _allowed_endpoints.add(base_url.rstrip("/"))


def disallow_endpoint(base_url: str) -> None:
    _allowed_endpoints.discard(base_url.rstrip("/"))
