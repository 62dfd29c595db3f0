"""A real MCP server (the SDK's MCPServer, formerly FastMCP) for the MCP tests.

``python tests/mcp_demo_server.py`` serves it over stdio; ``build().streamable_http_app()``
is its streamable HTTP app.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError


def build() -> MCPServer:
    server = MCPServer("demo")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text (the text 'fail' makes the tool fail)."""
        if text == "fail":
            raise ToolError("asked to fail")
        return text.upper()

    return server


if __name__ == "__main__":
    build().run()
