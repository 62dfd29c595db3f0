"""``breadth show`` and ``breadth jobs``: stored jobs, with live counts while they run."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from orchestrator.cli import remote
from orchestrator.cli.options import Subparsers, add_store_flags, settings_from
from orchestrator.errors import ConfigError


def register(sub: Subparsers) -> None:
    show = sub.add_parser("show", help="show a stored job: state, plan, tasks and report")
    show.add_argument("job_id")
    show.add_argument("--events", action="store_true", help="also list the job's events")
    show.add_argument("--json", action="store_true", help="print the job record as JSON")
    add_store_flags(show)
    remote.add_server_flags(show)
    show.set_defaults(
        run=lambda args, console: (
            remote.show(args, console) if args.server else asyncio.run(show_job(args, console))
        )
    )

    jobs = sub.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    add_store_flags(jobs)
    remote.add_server_flags(jobs)
    jobs.set_defaults(
        run=lambda args, console: (
            remote.list_jobs(args, console)
            if args.server
            else asyncio.run(list_jobs(args, console))
        )
    )


async def show_job(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.job_progress import job_summary, read_job_snapshot
    from orchestrator.plan import TaskPlan
    from orchestrator.store.factory import open_settings_store
    from orchestrator.trace_context import trace_id_of

    settings = settings_from(args)
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
    trace = remote.trace_line(trace_id_of(record.traceparent))
    if trace:
        console.print(trace, highlight=False, soft_wrap=True)
    if record.error:
        console.print(f"[red]error:[/] {record.error}", highlight=False)
    if plan_json:
        plan = TaskPlan.model_validate_json(plan_json)
        by_task = {r.task_id: r for r in results.values()}
        table = Table("task", "kind", "depends on", "status", "tokens", "sources", "question")
        for task in plan.tasks:
            result = by_task.get(task.id)
            table.add_row(
                task.id,
                task.kind,
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


async def list_jobs(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.job_progress import JOBS_COLUMNS, jobs_row, read_job_snapshot
    from orchestrator.store.factory import open_settings_store

    store = await open_settings_store(settings_from(args))
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
