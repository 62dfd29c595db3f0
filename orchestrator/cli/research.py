"""``breadth research``: run a research job (or resume one) and print its report."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape

from orchestrator.cli import remote
from orchestrator.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_JOB_FAILED,
    Subparsers,
    add_cache_flags,
    add_executor_flags,
    add_model_flags,
    add_store_flags,
    add_tool_flags,
    settings_from,
)
from orchestrator.errors import ConfigError
from orchestrator.job import JobRecord, JobRequest
from orchestrator.trace_context import trace_id_of


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("research", help="run a research job and print its report")
    parser.add_argument("question", nargs="?", default="", help="the question to research")
    parser.add_argument(
        "--graph", default="deep_research", help="built-in graph name or a YAML file path"
    )
    parser.add_argument("--corpus", help="folder of .md/.txt documents (default: Python docs)")
    add_model_flags(parser)
    add_tool_flags(parser)
    add_cache_flags(parser)
    parser.add_argument("--resume", metavar="JOB_ID", help="resume a stored job")
    parser.add_argument("--otlp-endpoint", help="send traces over OTLP/HTTP (e.g. Jaeger)")
    parser.add_argument("--json", action="store_true", help="print the job record as JSON")
    add_store_flags(parser)
    add_executor_flags(parser)
    remote.add_server_flags(parser)
    parser.set_defaults(run=run_research)


def run_research(args: argparse.Namespace, console: Console) -> int:
    if args.server:
        return remote.research(args, console)
    return asyncio.run(research(args, console))


def job_request(args: argparse.Namespace) -> JobRequest | None:
    """The request the flags make; None when resuming without repeating the question."""
    if not args.question and not args.resume:
        raise ConfigError(
            "no question given; ask one, e.g. `breadth research \"How does Python's garbage "
            'collector handle reference cycles?"`, or resume a job with --resume JOB_ID'
        )
    if not args.question:
        return None
    corpus = str(Path(args.corpus).resolve()) if args.corpus else None
    return JobRequest(question=args.question, graph=args.graph, corpus=corpus)


async def research(args: argparse.Namespace, console: Console) -> int:
    # The runtime wires in the agents and tools: imported here, so other commands start fast.
    from orchestrator.app import Runtime
    from orchestrator.job_progress import job_summary
    from orchestrator.progress import ProgressView

    request = job_request(args)
    err = Console(stderr=True)
    started: list[JobRecord] = []

    def announce(record: JobRecord) -> None:
        started.append(record)
        err.print(f"job [bold]{record.id}[/] · graph {record.request.graph}", highlight=False)

    try:
        async with await Runtime.open(settings_from(args)) as runtime:
            with ProgressView() as view:
                record = await runtime.research(
                    request, resume=args.resume, listeners=[view], on_start=announce
                )
    except (KeyboardInterrupt, asyncio.CancelledError):
        if started:
            err.print(
                f"job {started[0].id} cancelled; finished tasks are stored. Resume with "
                f"`breadth research --resume {started[0].id}`",
                highlight=False,
            )
        return EXIT_INTERRUPTED
    if args.json:
        print(record.model_dump_json())
    elif record.state == "done":
        console.print(Markdown(record.report or ""))
        err.print(job_summary(record), highlight=False)
    trace = remote.trace_line(trace_id_of(record.traceparent))
    if trace and not args.json:
        err.print(trace, highlight=False, soft_wrap=True)
    if record.state != "done":
        err.print(
            f"[bold red]job {record.id} {record.state}:[/] {escape(str(record.error))}\n"
            f"Finished tasks are stored; resume with `breadth research --resume {record.id}`",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_JOB_FAILED
    return 0
