"""Built-in agent graphs, shipped as YAML files and resolvable by name."""
