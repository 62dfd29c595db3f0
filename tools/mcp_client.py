"""Tools from MCP servers (the official ``mcp`` SDK): stdio and streamable HTTP transports.

``McpServers`` starts (or connects to) every server a job declares, lists each server's
tools and turns them into tools of the job named ``SERVER__TOOL``, with the server's
JSON schema as their parameters (checked with ``jsonschema`` before a call leaves), and
closes them all when the job ends. A server that does not start, or does not answer
its handshake in time, is a ``ConfigError`` naming the server and the cause (with the
tail of a stdio server's stderr). A tool's own failure (``isError``) is a ``ToolError``
the calling agent reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TextIO, cast

from orchestrator.errors import ConfigError, MissingExtra, ToolError

EXTRA = "tools"
SEPARATOR = "__"
SHOWN_STDERR = 600


@dataclass(frozen=True)
class McpServerConfig:
    """How to reach one MCP server: a command (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0
    startup_timeout_s: float = 30.0
    only: tuple[str, ...] | None = None
    concurrency: int = 4

    def describe(self) -> str:
        if self.url is not None:
            return f"at {self.url}"
        return f"started as {' '.join([self.command or '', *self.args])!r}"


def mcp_tool_name(server: str, tool: str) -> str:
    return f"{server}{SEPARATOR}{tool}"


def _require_sdk() -> None:
    try:
        import jsonschema  # noqa: F401
        import mcp  # noqa: F401
    except ImportError:
        raise MissingExtra("MCP tools", EXTRA) from None


def _unwrap(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups (anyio raises them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@dataclass(frozen=True, eq=False)
class McpTool:
    """One tool of an MCP server, callable like any tool of the job."""

    name: str
    description: str
    parameters: dict[str, Any]
    server: McpServerConfig
    remote_name: str
    session: Any  # mcp.Client (the SDK is an optional dependency)
    concurrency: int | None = None
    timeout_s: float | None = None

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    async def call(self, args: Mapping[str, Any] | str) -> str:
        arguments = self._validated(args)
        try:
            result = await self.session.call_tool(self.remote_name, arguments)
        except Exception as exc:
            cause = _unwrap(exc)
            raise ToolError(
                f"MCP server {self.server.name!r} failed on tool {self.remote_name!r}: "
                f"{type(cause).__name__}: {cause}"
            ) from None
        text = _result_text(result)
        if getattr(result, "is_error", False):
            raise ToolError(f"tool {self.name!r} (MCP server {self.server.name!r}) failed: {text}")
        return text

    def _validated(self, args: Mapping[str, Any] | str) -> dict[str, Any]:
        import jsonschema

        if isinstance(args, str):
            raw = args
            try:
                args = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise ToolError(
                    f"tool {self.name!r}: arguments {raw[:200]!r} are not valid JSON ({exc.msg})"
                ) from None
        if not isinstance(args, Mapping):
            raise ToolError(f"tool {self.name!r}: arguments must be a JSON object, got {args!r}")
        validator = jsonschema.Draft202012Validator(self.parameters)
        problems = [
            f"{'.'.join(str(p) for p in error.absolute_path) or 'arguments'}: {error.message}"
            for error in validator.iter_errors(dict(args))
        ]
        if problems:
            raise ToolError(f"tool {self.name!r} got bad arguments: " + "; ".join(problems))
        return dict(args)


def _result_text(result: Any) -> str:
    """The text of a tool result: its text blocks, else its structured content as JSON."""
    texts = [
        str(block.text) for block in getattr(result, "content", []) or [] if hasattr(block, "text")
    ]
    if texts:
        return "\n".join(texts)
    structured = getattr(result, "structured_content", None)
    return "" if structured is None else json.dumps(structured, ensure_ascii=False)


class McpServers:
    """The MCP servers of one job: ``async with McpServers(configs) as tools:``."""

    def __init__(self, servers: Sequence[McpServerConfig]) -> None:
        self.servers = list(servers)
        self._stack = contextlib.AsyncExitStack()
        self.tools: list[McpTool] = []

    async def __aenter__(self) -> list[McpTool]:
        if self.servers:
            _require_sdk()
        try:
            for server in self.servers:
                self.tools += await self._open(server)
        except BaseException:
            await self.aclose()
            raise
        return self.tools

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every server (a stdio server's process ends with its session)."""
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        with contextlib.suppress(Exception):
            await stack.aclose()

    async def _open(self, server: McpServerConfig) -> list[McpTool]:
        from mcp import Client

        errlog: IO[str] | None = None
        if server.command is not None:
            errlog = self._stack.enter_context(
                tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            )
        try:
            async with asyncio.timeout(server.startup_timeout_s):
                client = Client(self._transport(server, errlog), mode="auto", cache=None)
                session = await self._stack.enter_async_context(client)
                listing = await session.list_tools()
        except TimeoutError:
            reason = f"no answer within {server.startup_timeout_s:g} s"
            raise self._failed(server, reason, errlog) from None
        except Exception as exc:
            cause = _unwrap(exc)
            raise self._failed(server, f"{type(cause).__name__}: {cause}", errlog) from None
        tools = []
        for remote in listing.tools:
            if server.only is not None and remote.name not in server.only:
                continue
            tools.append(
                McpTool(
                    name=mcp_tool_name(server.name, remote.name),
                    description=(remote.description or remote.name).strip(),
                    parameters=dict(remote.input_schema or {"type": "object", "properties": {}}),
                    server=server,
                    remote_name=remote.name,
                    session=session,
                    concurrency=server.concurrency,
                    timeout_s=server.timeout_s,
                )
            )
        missing = sorted(set(server.only or ()) - {t.remote_name for t in tools})
        if missing:
            known = ", ".join(t.name for t in listing.tools)
            raise ConfigError(
                f"MCP server {server.name!r} has no tool {', '.join(map(repr, missing))} "
                f"(it has: {known or 'none'}); fix 'tools' of mcp_servers.{server.name}"
            )
        return tools

    def _transport(self, server: McpServerConfig, errlog: IO[str] | None) -> Any:
        if server.url is not None:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(
                headers=dict(server.headers), timeout=httpx2.Timeout(server.timeout_s)
            )
            self._stack.push_async_callback(http.aclose)
            return streamable_http_client(server.url, http_client=http)
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=server.command or "",
            args=list(server.args),
            env=dict(server.env) or None,
            cwd=server.cwd,
        )
        return stdio_client(params, errlog=cast(TextIO, errlog or sys.stderr))

    def _failed(self, server: McpServerConfig, reason: str, errlog: IO[str] | None) -> ConfigError:
        tail = ""
        if errlog is not None:
            with contextlib.suppress(OSError, ValueError):
                errlog.seek(0)
                text = errlog.read().strip()
                tail = f"; its stderr ends: {text[-SHOWN_STDERR:]!r}" if text else ""
        return ConfigError(
            f"MCP server {server.name!r} ({server.describe()}) failed to start: {reason}{tail}; "
            f"check mcp_servers.{server.name} in the graph (command, args, url)"
        )
