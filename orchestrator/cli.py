"""The ``breadth`` command line: research, show, jobs, graphs, validate, schema, simulate.

Every error a user can act on is printed as one paragraph (value, rule, fix) with exit
status 2; no library traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from orchestrator.errors import BreadthError, ConfigError
from orchestrator.job import JobRecord, JobRequest

EXIT_USER_ERROR = 2
EXIT_JOB_FAILED = 1
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breadth",
        description="Reason in width: fan a question out into parallel research, then merge.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def store_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--redis-url",
            help="Redis server for jobs and results (default: $BREADTH_REDIS_URL, "
            "else the embedded store under $BREADTH_HOME or ~/.local/share/breadth)",
        )
        p.add_argument("--namespace", default="breadth", help="key prefix in the store")

    research = sub.add_parser("research", help="run a research job and print its report")
    research.add_argument("question", nargs="?", default="", help="the question to research")
    research.add_argument(
        "--graph", default="deep_research", help="built-in graph name or a YAML file path"
    )
    research.add_argument("--corpus", help="folder of .md/.txt documents (default: Python docs)")
    research.add_argument(
        "--model-url",
        action="append",
        default=[],
        metavar="URL",
        help="OpenAI-compatible server (vLLM, llama.cpp, ...); repeat for a pool. "
        "Default: $BREADTH_MODEL_URLS, else the embedded SmolLM2 model",
    )
    research.add_argument("--model-name", help="served model name (default: the server's first)")
    research.add_argument("--resume", metavar="JOB_ID", help="resume a stored job")
    research.add_argument("--otlp-endpoint", help="send traces over OTLP/HTTP (e.g. Jaeger)")
    research.add_argument("--json", action="store_true", help="print the job record as JSON")
    store_flags(research)

    show = sub.add_parser("show", help="show a stored job: state, plan, tasks and report")
    show.add_argument("job_id")
    show.add_argument("--events", action="store_true", help="also list the job's events")
    show.add_argument("--json", action="store_true", help="print the job record as JSON")
    store_flags(show)

    jobs = sub.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    store_flags(jobs)

    sub.add_parser("graphs", help="list the built-in agent graphs")
    validate = sub.add_parser("validate", help="check an agent graph YAML file")
    validate.add_argument("file")
    sub.add_parser("schema", help="print the agent graph JSON Schema (for editors)")

    simulate = sub.add_parser("simulate", help="serve the built-in vLLM-compatible simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        return _dispatch(args, console)
    except BreadthError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    command: str = args.command
    if command == "research":
        return asyncio.run(_research(args, console))
    if command == "show":
        return asyncio.run(_show(args, console))
    if command == "jobs":
        return asyncio.run(_jobs(args, console))
    if command == "graphs":
        return _graphs(console)
    if command == "validate":
        return _validate(args.file, console)
    if command == "schema":
        from orchestrator.graph.spec import graph_json_schema

        print(json.dumps(graph_json_schema(), indent=2))
        return 0
    if command == "simulate":
        from orchestrator.models.simulator import serve_simulator

        serve_simulator(args.host, args.port)
        return 0
    raise ConfigError(f"unknown command {command!r}")


async def _research(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import Settings, open_settings_store, research
    from orchestrator.job_progress import job_summary
    from orchestrator.progress import ProgressView

    if not args.question and not args.resume:
        raise ConfigError(
            "no question given; ask one, e.g. `breadth research \"How does Python's garbage "
            'collector handle reference cycles?"`, or resume a job with --resume JOB_ID'
        )
    settings = Settings.from_env(
        model_urls=args.model_url,
        model_name=args.model_name,
        redis_url=args.redis_url,
        namespace=args.namespace,
        otlp_endpoint=args.otlp_endpoint,
    )
    provider = None
    if settings.otlp_endpoint:
        from orchestrator.tracing import setup_tracing

        provider = setup_tracing(otlp_endpoint=settings.otlp_endpoint)
    store = await open_settings_store(settings)
    err = Console(stderr=True)
    started: list[JobRecord] = []

    def announce(record: JobRecord) -> None:
        started.append(record)
        err.print(f"job [bold]{record.id}[/] · graph {record.request.graph}", highlight=False)

    try:
        request = JobRequest(
            question=args.question or "-",
            graph=args.graph,
            corpus=str(Path(args.corpus).resolve()) if args.corpus else None,
            model_urls=settings.model_urls,
        )
        if args.resume and not args.question:
            stored = await store.get_job(args.resume)
            if stored is not None:
                request = stored.request
        with ProgressView() as view:
            record = await research(
                request,
                settings,
                store=store,
                resume=args.resume,
                listeners=[view],
                on_start=announce,
            )
    except (KeyboardInterrupt, asyncio.CancelledError):
        if started:
            err.print(
                f"job {started[0].id} cancelled; finished tasks are stored. Resume with "
                f"`breadth research --resume {started[0].id}`",
                highlight=False,
            )
        return EXIT_INTERRUPTED
    finally:
        await store.aclose()
        if provider is not None:
            provider.shutdown()
    if args.json:
        print(record.model_dump_json())
    elif record.state == "done":
        console.print(Markdown(record.report or ""))
        err.print(job_summary(record), highlight=False)
    if record.state != "done":
        Console(stderr=True).print(
            f"[bold red]job {record.id} {record.state}:[/] {escape(str(record.error))}\n"
            f"Finished tasks are stored; resume with `breadth research --resume {record.id}`",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_JOB_FAILED
    return 0


async def _show(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import Settings, open_settings_store
    from orchestrator.job_progress import job_summary, read_job_snapshot
    from orchestrator.plan import TaskPlan

    settings = Settings.from_env(redis_url=args.redis_url, namespace=args.namespace)
    store = await open_settings_store(settings)
    try:
        record = await store.get_job(args.job_id)
        if record is None:
            recent = [job.id for job in await store.list_jobs(limit=5)]
            raise ConfigError(
                f"no job {args.job_id!r} in the store (namespace {settings.namespace!r}); "
                f"recent jobs: {recent or 'none'}; list them with `breadth jobs`"
            )
        if args.json:
            print(record.model_dump_json())
            return 0
        plan_json = await store.get_artifact(record.id, "plan")
        results = await store.list_results(record.id)
        events = await store.read_events(record.id) if args.events else []
        snapshot = await read_job_snapshot(store, record)
    finally:
        await store.aclose()
    console.print(f"[bold]job {record.id}[/] · {record.state} · graph {record.request.graph}")
    console.print(f"question: {record.request.question}", highlight=False)
    console.print(job_summary(record, snapshot), highlight=False)
    if record.error:
        console.print(f"[red]error:[/] {record.error}", highlight=False)
    if plan_json:
        plan = TaskPlan.model_validate_json(plan_json)
        by_task = {r.task_id: r for r in results.values()}
        table = Table("task", "depends on", "status", "tokens", "sources", "question")
        for task in plan.tasks:
            result = by_task.get(task.id)
            table.add_row(
                task.id,
                ", ".join(task.depends_on) or "-",
                result.status if result else "not run",
                f"{result.usage.total_tokens:,}" if result else "-",
                ", ".join(result.sources[:3]) if result else "",
                str(task.params.get("question", task.description))[:80],
            )
        console.print(table)
    if record.report:
        console.print(Markdown(record.report))
    for stream_id, event in events:
        console.print(f"{stream_id} {event.type} {event.task_id or ''} {event.data}")
    return 0


async def _jobs(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import Settings, open_settings_store
    from orchestrator.job_progress import JOBS_COLUMNS, jobs_row, read_job_snapshot

    settings = Settings.from_env(redis_url=args.redis_url, namespace=args.namespace)
    store = await open_settings_store(settings)
    try:
        records = await store.list_jobs(limit=args.limit)
        rows = [jobs_row(record, await read_job_snapshot(store, record)) for record in records]
    finally:
        await store.aclose()
    table = Table(*JOBS_COLUMNS)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def _graphs(console: Console) -> int:
    from orchestrator.app import builtin_ops, builtin_tool_names
    from orchestrator.graph.loader import load_graph
    from orchestrator.graph.resolve import list_graphs

    table = Table("graph", "nodes", "description")
    ops = builtin_ops()
    for name, path in sorted(list_graphs().items()):
        spec = load_graph(
            path,
            known_ops=ops.names(),
            known_tools=builtin_tool_names(),
            param_checks=ops.param_checks(),
        )
        table.add_row(name, " → ".join(spec.nodes), spec.description.strip().splitlines()[0])
    console.print(table)
    return 0


def _validate(file: str, console: Console) -> int:
    from orchestrator.app import builtin_ops, builtin_tool_names
    from orchestrator.graph.loader import load_graph

    ops = builtin_ops()
    spec = load_graph(
        Path(file),
        known_ops=ops.names(),
        known_tools=builtin_tool_names(),
        param_checks=ops.param_checks(),
    )
    console.print(
        f"{file}: ok · graph {spec.name!r} · {len(spec.nodes)} nodes · {len(spec.edges)} edges",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
