"""The tool seam: what agents call, described by the engine without importing ``tools``.

``tools.registry.ToolRegistry`` implements ``Toolbox``; the composition root builds one per
job (corpus search and read, and whatever else the job may use) and hands it to the ops.
A tool call's failure is a ``ToolError`` whose message goes back to the calling agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from orchestrator.errors import ToolError


@runtime_checkable
class ToolLike(Protocol):
    """One callable tool: its name, description and the JSON schema of its arguments."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]: ...

    async def call(self, args: Mapping[str, Any] | str) -> str:
        """Validate ``args`` and run the tool; a failure is a ``ToolError``."""
        ...


@runtime_checkable
class Toolbox(Protocol):
    """The tools of one job, by name."""

    def names(self) -> list[str]: ...

    def get(self, name: str) -> ToolLike:
        """The tool ``name``; an unknown name is a ``ToolError`` listing the known ones."""
        ...

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool in OpenAI function-tool format."""
        ...

    def subset(self, names: Iterable[str]) -> Toolbox:
        """A toolbox with only the named tools (an agent's ``tools:`` list)."""
        ...

    async def call(self, name: str, args: Mapping[str, Any] | str) -> str: ...

    async def call_many(
        self, calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    ) -> list[str | ToolError]:
        """Run the calls concurrently; each result, or its ``ToolError``, in its call's place."""
        ...

    def __contains__(self, name: object) -> bool: ...
