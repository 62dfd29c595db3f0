"""``breadth graphs``, ``breadth validate`` and ``breadth schema``: the agent graph files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchestrator.cli.options import Subparsers


def register(sub: Subparsers) -> None:
    graphs = sub.add_parser("graphs", help="list the built-in agent graphs")
    graphs.set_defaults(run=list_builtin_graphs)
    validate = sub.add_parser("validate", help="check an agent graph YAML file")
    validate.add_argument("file")
    validate.set_defaults(run=validate_graph)
    schema = sub.add_parser("schema", help="print the agent graph JSON Schema (for editors)")
    schema.set_defaults(run=print_schema)


def list_builtin_graphs(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import builtin_ops, load_job_graph
    from orchestrator.graph.resolve import list_graphs

    table = Table("graph", "nodes", "description")
    ops = builtin_ops()
    for name, path in sorted(list_graphs().items()):
        spec = load_job_graph(path, ops)
        table.add_row(name, " → ".join(spec.nodes), spec.description.strip().splitlines()[0])
    console.print(table)
    return 0


def validate_graph(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import builtin_ops, load_job_graph

    file: str = args.file
    spec = load_job_graph(Path(file), builtin_ops())
    console.print(
        f"{file}: ok · graph {spec.name!r} · {len(spec.nodes)} nodes · {len(spec.edges)} edges",
        highlight=False,
    )
    return 0


def print_schema(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import builtin_ops
    from orchestrator.graph.spec import graph_json_schema

    print(json.dumps(graph_json_schema(builtin_ops().params_models()), indent=2))
    return 0
