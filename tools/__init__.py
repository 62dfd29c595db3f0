"""Tools agents can call: the registry and the built-in tools."""

from tools.builtin import corpus_tools
from tools.corpus import Corpus, Document
from tools.registry import Tool, ToolRegistry, make_tool, tool

__all__ = ["Corpus", "Document", "Tool", "ToolRegistry", "corpus_tools", "make_tool", "tool"]
