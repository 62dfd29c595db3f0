"""``LoggedToolbox``: the job's tools with every call going through its ``CallLog``.

A tool's result is recorded as ``{"ok": text}`` or, when the tool failed, ``{"error":
message}`` (replayed as the same ``ToolError``; never cached, since an error may pass).
``RecordedToolbox`` is the toolbox of a replayed job: the names and schemas the job had
(kept as its ``tools`` artifact), with no tool behind them, since every call's result
comes from the recording.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.cache.keys import canonical_json, tool_arguments, tool_call_key
from orchestrator.cache.log import Call, CallLog
from orchestrator.errors import ReplayMismatch, ToolError
from orchestrator.toolbox import Toolbox, ToolLike

TOOLS_ARTIFACT = "tools"
SHOWN_ARGUMENTS = 200


class LoggedToolbox:
    """``inner``'s tools, each call recorded (and served from a recording or the cache)."""

    def __init__(self, inner: Toolbox, log: CallLog) -> None:
        self.inner = inner
        self.log = log

    def names(self) -> list[str]:
        return self.inner.names()

    def schemas(self) -> list[dict[str, Any]]:
        return self.inner.schemas()

    def get(self, name: str) -> ToolLike:
        return _LoggedTool(self.inner.get(name), self.log)

    def subset(self, names: Iterable[str]) -> LoggedToolbox:
        return LoggedToolbox(self.inner.subset(names), self.log)

    async def call(self, name: str, args: Mapping[str, Any] | str) -> str:
        return await self.get(name).call(args)

    async def call_many(
        self, calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    ) -> list[str | ToolError]:
        async def one(name: str, args: Mapping[str, Any] | str) -> str | ToolError:
            try:
                return await self.call(name, args)
            except ToolError as exc:
                return exc

        return list(await asyncio.gather(*(one(n, a) for n, a in calls)))

    def __contains__(self, name: object) -> bool:
        return name in self.inner


@dataclass(frozen=True)
class _LoggedTool:
    tool: ToolLike
    log: CallLog

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
        key = tool_call_key(self.tool.name, args)
        shown = canonical_json(tool_arguments(args))
        if len(shown) > SHOWN_ARGUMENTS:
            shown = shown[:SHOWN_ARGUMENTS] + "…"
        call = Call(
            key=key,
            cache_key=key,
            reusable=True,
            per_occurrence=False,
            description=f"tool call {self.tool.name}({shown})",
        )

        async def produce() -> tuple[str, bool]:
            try:
                return json.dumps({"ok": await self.tool.call(args)}), True
            except ToolError as exc:
                return json.dumps({"error": str(exc)}), False

        outcome = json.loads(await self.log.resolve(call, produce))
        if "error" in outcome:
            raise ToolError(str(outcome["error"]))
        return str(outcome["ok"])


def toolbox_description(toolbox: Toolbox) -> str:
    """What a replay needs of a job's toolbox: its tools' schemas, as JSON."""
    return json.dumps(toolbox.schemas(), ensure_ascii=False)


@dataclass(frozen=True)
class _RecordedTool:
    name: str
    description: str
    parameters: dict[str, Any]

    async def call(self, args: Mapping[str, Any] | str) -> str:
        raise ReplayMismatch(
            f"a replayed job called tool {self.name!r} with arguments not in its recording"
        )


class RecordedToolbox:
    """The tools a recorded job had (names and schemas), for its replay."""

    def __init__(self, schemas: Sequence[Mapping[str, Any]]) -> None:
        self._tools: dict[str, _RecordedTool] = {}
        self._schemas = [dict(s) for s in schemas]
        for schema in self._schemas:
            fn = schema.get("function", {})
            name = str(fn.get("name", ""))
            self._tools[name] = _RecordedTool(
                name, str(fn.get("description", "")), dict(fn.get("parameters", {}))
            )

    @classmethod
    def from_artifact(cls, text: str) -> RecordedToolbox:
        return cls(json.loads(text))

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._schemas]

    def get(self, name: str) -> ToolLike:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(
                f"unknown tool {name!r}; known tools: {', '.join(self._tools) or 'none'}"
            ) from None

    def subset(self, names: Iterable[str]) -> RecordedToolbox:
        wanted = set(names)
        return RecordedToolbox([s for s in self._schemas if s["function"]["name"] in wanted])

    async def call(self, name: str, args: Mapping[str, Any] | str) -> str:
        return await self.get(name).call(args)

    async def call_many(
        self, calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    ) -> list[str | ToolError]:
        results: list[str | ToolError] = []
        for name, args in calls:
            try:
                results.append(await self.call(name, args))
            except ToolError as exc:
                results.append(exc)
        return results

    def __contains__(self, name: object) -> bool:
        return name in self._tools
