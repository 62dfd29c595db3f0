"""Every tool call of a job goes through ``ObservedToolbox``: limits, timeouts, events.

It wraps the job's ``Toolbox`` (the seam in ``orchestrator.toolbox``): each tool has a
concurrency limit (calls beyond it wait their turn) and a timeout (a call that runs
longer fails with a ``ToolError`` the agent reads), both from the tool's own hints
(``concurrency``, ``timeout_s``) or the job's defaults; calls of different tools run in
parallel. Every call becomes one ``execute_tool`` event (tool, arguments, outcome,
duration), attributed to the task that made it. ``span`` is the hook tracing plugs into:
it opens a span around each call and is told how the call ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.errors import ToolError
from orchestrator.events import Event, EventSink
from orchestrator.toolbox import Toolbox, ToolLike

# The task whose handler is running (set by ``orchestrator.tasks.run_task``), for events.
current_task_id: ContextVar[str | None] = ContextVar("breadth_current_task_id", default=None)


class ToolCallSpan(Protocol):
    """What a span hook's context manager gives: told how the call ended, before it closes."""

    def finished(self, result: str, error: ToolError | None) -> None: ...


class _Unobserved:
    def finished(self, result: str, error: ToolError | None) -> None:
        return None


_UNOBSERVED = _Unobserved()

# Opens a span around one call: (tool, arguments) -> a context manager giving a ToolCallSpan.
SpanHook = Callable[
    [ToolLike, Mapping[str, Any] | str], contextlib.AbstractContextManager[ToolCallSpan]
]

SHOWN_ARGUMENTS = 500
SHOWN_ERROR = 500


@dataclass(frozen=True)
class ToolLimit:
    """How many calls of one tool may run at once, and how long one call may take."""

    concurrency: int = 4
    timeout_s: float = 60.0


@dataclass
class _Shared:
    """What every view of one job's toolbox shares (subsets too): semaphores and settings."""

    events: EventSink | None
    job_id: str
    default: ToolLimit
    overrides: Mapping[str, ToolLimit]
    span: SpanHook | None
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)


class ObservedToolbox:
    """A ``Toolbox`` whose calls run within per-tool limits and are each an ``execute_tool``
    event; it implements ``Toolbox`` itself, so ops cannot tell it from the tools it wraps."""

    def __init__(
        self,
        inner: Toolbox,
        *,
        events: EventSink | None,
        job_id: str,
        default: ToolLimit | None = None,
        overrides: Mapping[str, ToolLimit] | None = None,
        span: SpanHook | None = None,
    ) -> None:
        self.inner = inner
        self._shared = _Shared(events, job_id, default or ToolLimit(), overrides or {}, span)

    @classmethod
    def _view(cls, inner: Toolbox, shared: _Shared) -> ObservedToolbox:
        view = cls.__new__(cls)
        view.inner, view._shared = inner, shared
        return view

    def names(self) -> list[str]:
        return self.inner.names()

    def schemas(self) -> list[dict[str, Any]]:
        return self.inner.schemas()

    def get(self, name: str) -> ToolLike:
        return _ObservedTool(self, self.inner.get(name))

    def subset(self, names: Iterable[str]) -> ObservedToolbox:
        return ObservedToolbox._view(self.inner.subset(names), self._shared)

    def limit(self, tool: ToolLike) -> ToolLimit:
        """The tool's limits: the job's override, else the tool's hints, else the default."""
        shared = self._shared
        if tool.name in shared.overrides:
            return shared.overrides[tool.name]
        concurrency = getattr(tool, "concurrency", None) or shared.default.concurrency
        timeout_s = getattr(tool, "timeout_s", None) or shared.default.timeout_s
        return ToolLimit(concurrency=concurrency, timeout_s=timeout_s)

    async def call(self, name: str, args: Mapping[str, Any] | str) -> str:
        return await self.run(self.inner.get(name), args)

    async def call_many(
        self, calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    ) -> list[str | ToolError]:
        """Run the calls in parallel (each tool within its limit); results in call order."""
        return list(await asyncio.gather(*(self._call_or_error(n, a) for n, a in calls)))

    async def _call_or_error(self, name: str, args: Mapping[str, Any] | str) -> str | ToolError:
        try:
            return await self.call(name, args)
        except ToolError as exc:
            return exc

    async def run(self, tool: ToolLike, args: Mapping[str, Any] | str) -> str:
        """One call of ``tool``: wait for a slot, run it within its timeout, emit the event."""
        shared = self._shared
        limit = self.limit(tool)
        semaphore = shared.semaphores.setdefault(tool.name, asyncio.Semaphore(limit.concurrency))
        task_id = current_task_id.get()
        async with semaphore:
            started = time.monotonic()
            span = shared.span(tool, args) if shared.span else contextlib.nullcontext(_UNOBSERVED)
            error: ToolError | None = None
            result = ""
            with span as observed:
                try:
                    async with asyncio.timeout(limit.timeout_s):
                        result = await tool.call(args)
                except TimeoutError:
                    error = ToolError(
                        f"tool {tool.name!r} took longer than {limit.timeout_s:g} s (its timeout) "
                        f"and was stopped; call it with less work, or use another tool"
                    )
                except ToolError as exc:
                    error = exc
                observed.finished(result, error)
            await self._emit(tool.name, args, task_id, started, result, error)
        if error is not None:
            raise error
        return result

    async def _emit(
        self,
        name: str,
        args: Mapping[str, Any] | str,
        task_id: str | None,
        started: float,
        result: str,
        error: ToolError | None,
    ) -> None:
        shared = self._shared
        if shared.events is None:
            return
        data: dict[str, Any] = {
            "tool": name,
            "arguments": _shown(args),
            "status": "error" if error else "ok",
            "duration_s": round(time.monotonic() - started, 4),
            "result_chars": len(result),
        }
        if error is not None:
            data["error"] = str(error)[:SHOWN_ERROR]
        event = Event(type="execute_tool", job_id=shared.job_id, task_id=task_id, data=data)
        await shared.events.emit(event)

    def __contains__(self, name: object) -> bool:
        return name in self.inner


@dataclass(frozen=True)
class _ObservedTool:
    """One tool of an ``ObservedToolbox``: its description as is, its calls observed."""

    box: ObservedToolbox
    tool: ToolLike

    @property
    def name(self) -> str:
        return self.tool.name

    @property
    def description(self) -> str:
        return self.tool.description

    @property
    def parameters(self) -> dict[str, Any]:
        return self.tool.parameters

    async def call(self, args: Mapping[str, Any] | str) -> str:
        return await self.box.run(self.tool, args)


def _shown(args: Mapping[str, Any] | str) -> str:
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_ARGUMENTS else text[: SHOWN_ARGUMENTS - 1] + "…"
