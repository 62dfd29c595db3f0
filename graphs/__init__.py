"""Built-in agent graphs (YAML), resolvable by name."""
