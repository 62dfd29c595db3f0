"""The ``breadth`` command line: one module per group of commands, assembled here.

Every error a user can act on is printed as one paragraph (value, rule, fix) with exit
status 2; no library traceback reaches the terminal. A job that fails exits with 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from orchestrator.cli import (
    cancel,
    graphs,
    jobs,
    keys,
    replay,
    research,
    serve,
    simulate,
    tools,
    worker,
)
from orchestrator.cli.options import EXIT_INTERRUPTED, EXIT_USER_ERROR
from orchestrator.errors import BreadthError

# Each module adds its commands to the parser (``register``); a command's ``run`` is set
# as the ``run`` default of its sub-parser.
COMMAND_MODULES = (research, jobs, cancel, graphs, simulate, serve, worker, keys, tools, replay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breadth",
        description="Reason in width: fan a question out into parallel research, then merge.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        code: int = args.run(args, console)
        return code
    except BreadthError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return EXIT_INTERRUPTED
