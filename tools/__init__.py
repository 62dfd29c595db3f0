"""Tools agents can call: the registry and the built-in tools."""
