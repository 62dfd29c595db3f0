"""Tools agents can call: the registry and the built-in tools.

Corpus ``search``/``read``, ``fetch`` (SSRF-safe web pages), ``python`` (a bubblewrap
sandbox), ``calculator`` (exact arithmetic) and the tools of MCP servers.
"""

from tools.builtin import corpus_tools
from tools.calculator import calculator, calculator_tool
from tools.corpus import Corpus, Document
from tools.fetch import Fetcher, FetchLimits, Resolver, fetch_tool
from tools.mcp_client import McpServerConfig, McpServers, McpTool
from tools.netguard import Allowlist
from tools.pages import PageShelf
from tools.python_runner import python_tool
from tools.registry import AnyTool, Tool, ToolRegistry, make_tool, tool
from tools.sandbox import Sandbox
from tools.sandbox_command import SandboxLimits

__all__ = [
    "Allowlist",
    "AnyTool",
    "Corpus",
    "Document",
    "FetchLimits",
    "Fetcher",
    "McpServerConfig",
    "McpServers",
    "McpTool",
    "PageShelf",
    "Resolver",
    "Sandbox",
    "SandboxLimits",
    "Tool",
    "ToolRegistry",
    "calculator",
    "calculator_tool",
    "corpus_tools",
    "fetch_tool",
    "make_tool",
    "python_tool",
    "tool",
]
