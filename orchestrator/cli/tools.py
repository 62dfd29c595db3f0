"""``breadth tools``: list the tools a job gets (with their schemas); ``breadth tools call
NAME JSON`` runs one, what a user does to see what a tool returns."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.options import (
    EXIT_JOB_FAILED,
    Subparsers,
    add_tool_flags,
    settings_from,
)


def register(sub: Subparsers) -> None:
    tools = sub.add_parser("tools", help="list the tools jobs get, or call one (tools call)")
    _common(tools)
    tools.add_argument("--json", action="store_true", help="print the tools' schemas as JSON")
    tools.set_defaults(run=lambda args, console: asyncio.run(list_tools(args, console)))
    actions = tools.add_subparsers(dest="tools_command", metavar="ACTION")
    call = actions.add_parser("call", help="call one tool with JSON arguments and print its result")
    call.add_argument("name", help="the tool's name (see `breadth tools`)")
    call.add_argument("arguments", nargs="?", default="{}", help="a JSON object, e.g. '{\"x\": 1}'")
    _common(call)
    call.set_defaults(run=lambda args, console: asyncio.run(call_tool(args, console)))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--graph", help="also start this graph's MCP servers (built-in name or YAML path)"
    )
    parser.add_argument("--corpus", help="folder of .md/.txt documents (default: Python docs)")
    add_tool_flags(parser)


async def list_tools(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import builtin_ops, load_job_graph, open_job_tools

    settings = settings_from(args)
    spec = load_job_graph(args.graph or "deep_research", builtin_ops())
    corpus = str(Path(args.corpus).resolve()) if args.corpus else None
    async with open_job_tools(settings, spec, corpus) as tools:
        schemas = tools.schemas()
    if args.json:
        print(json.dumps(schemas, indent=2))
        return 0
    table = Table("tool", "description", "arguments (JSON schema)")
    for schema in schemas:
        fn = schema["function"]
        summary = str(fn["description"]).strip().splitlines()[0]
        table.add_row(fn["name"], escape(summary), escape(json.dumps(fn["parameters"])))
    console.print(table)
    return 0


async def call_tool(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import builtin_ops, load_job_graph, open_job_tools
    from orchestrator.errors import ToolError

    settings = settings_from(args)
    spec = load_job_graph(args.graph or "deep_research", builtin_ops())
    corpus = str(Path(args.corpus).resolve()) if args.corpus else None
    async with open_job_tools(settings, spec, corpus) as tools:
        try:
            result = await tools.call(args.name, args.arguments)
        except ToolError as exc:
            Console(stderr=True).print(
                f"[bold red]tool error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            return EXIT_JOB_FAILED
    print(result)
    return 0
