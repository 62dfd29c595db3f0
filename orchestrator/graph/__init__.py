"""Agent graphs: the YAML spec, its loader and validator, and the LangGraph runtime."""
