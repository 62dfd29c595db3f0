"""The tools of a job, built from the settings and the graph: what ``Runtime`` hands its ops.

Every job gets ``search`` and ``read`` over its corpus, ``fetch`` (public web pages,
plus what the operator's ``fetch_allow`` names), ``python`` (the bubblewrap sandbox)
and ``calculator``; a graph's ``mcp_servers`` add their tools, and are started when the
job starts and stopped when it ends (``open_job_tools``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from orchestrator.graph.spec import GraphSpec, McpServerSpec
from orchestrator.settings import Settings
from tools import (
    Allowlist,
    Corpus,
    Fetcher,
    McpServerConfig,
    McpServers,
    PageShelf,
    Resolver,
    Sandbox,
    ToolRegistry,
    calculator_tool,
    corpus_tools,
    fetch_tool,
    python_tool,
)


def builtin_tools(
    settings: Settings, corpus: str | None, *, resolver: Resolver | None = None
) -> ToolRegistry:
    """The tools every job has: corpus search/read, fetch, python and calculator."""
    documents = Corpus.load_folder(Path(corpus)) if corpus else Corpus.builtin()
    pages = PageShelf()
    registry = corpus_tools(documents, pages)
    fetcher = Fetcher(allow=Allowlist.parse(settings.fetch_allow), resolver=resolver)
    registry.register(fetch_tool(fetcher, pages))
    registry.register(python_tool(Sandbox(mode=settings.python_sandbox)))
    registry.register(calculator_tool())
    return registry


def mcp_configs(servers: Mapping[str, McpServerSpec]) -> list[McpServerConfig]:
    """The graph's MCP server specs as the tools package's configs."""
    return [
        McpServerConfig(
            name=name,
            command=spec.command,
            args=tuple(spec.args),
            env=dict(spec.env),
            cwd=spec.cwd,
            url=spec.url,
            headers=dict(spec.headers),
            timeout_s=spec.timeout_s,
            startup_timeout_s=spec.startup_timeout_s,
            only=tuple(spec.tools) if spec.tools is not None else None,
            concurrency=spec.concurrency,
        )
        for name, spec in servers.items()
    ]


@contextlib.asynccontextmanager
async def open_job_tools(
    settings: Settings,
    spec: GraphSpec,
    corpus: str | None,
    *,
    resolver: Resolver | None = None,
) -> AsyncIterator[ToolRegistry]:
    """A job's tools, its MCP servers running until the block ends (a failed start raises
    a ``ConfigError`` naming the server)."""
    registry = builtin_tools(settings, corpus, resolver=resolver)
    async with McpServers(mcp_configs(spec.mcp_servers)) as remote:
        for tool in remote:
            registry.register(tool)
        yield registry
