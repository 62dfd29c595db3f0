"""Find an agent graph file: a path, or the name of a built-in graph (``graphs/*.yaml``).

The built-in graphs ship inside the ``graphs`` package, so ``--graph deep_research``
works wherever breadth is installed.
"""

from __future__ import annotations

from pathlib import Path

import graphs
from orchestrator.errors import ConfigError
from orchestrator.graph.checks import suggestion

_SUFFIXES = (".yaml", ".yml")


def builtin_graphs_dir() -> Path:
    """The folder of the built-in graph files."""
    return Path(graphs.__file__).resolve().parent


def list_graphs() -> dict[str, Path]:
    """The built-in graphs by name (the file name without ``.yaml``), sorted by name."""
    folder = builtin_graphs_dir()
    files = [p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file()]
    return {p.stem: p for p in sorted(files)}


def resolve_graph(name_or_path: str | Path) -> Path:
    """The graph file meant by ``name_or_path``: an existing file, else a built-in name."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    builtin = list_graphs()
    name = str(name_or_path)
    for suffix in _SUFFIXES:
        name = name.removesuffix(suffix)
    if name in builtin:
        return builtin[name]
    if candidate.is_dir():
        raise ConfigError(
            f"graph {str(name_or_path)!r} is a directory; give a graph .yaml file in it, or a "
            f"built-in graph name ({', '.join(builtin) or 'none'})"
        )
    raise ConfigError(
        f"unknown graph {str(name_or_path)!r}: no such file, and no built-in graph of that "
        f"name{suggestion(name, builtin)}; built-in graphs: {', '.join(builtin) or 'none'} "
        f"(`breadth graphs` describes them); a path to a graph YAML file also works"
    )
