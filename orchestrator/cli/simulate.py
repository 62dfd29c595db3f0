"""``breadth simulate``: serve the built-in vLLM-compatible simulator (OpenAI API)."""

from __future__ import annotations

import argparse

from rich.console import Console

from orchestrator.cli.options import Subparsers


def register(sub: Subparsers) -> None:
    simulate = sub.add_parser("simulate", help="serve the built-in vLLM-compatible simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8000)
    simulate.set_defaults(run=run_simulator)


def run_simulator(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.models.simulator import serve_simulator

    serve_simulator(args.host, args.port)
    return 0
