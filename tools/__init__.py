"""Tools agents can call: the registry and the built-in tools."""

from tools.registry import Tool, ToolRegistry, make_tool, tool

__all__ = ["Tool", "ToolRegistry", "make_tool", "tool"]
