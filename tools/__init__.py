"""The tool registry and the built-in tools (corpus search and read)."""
