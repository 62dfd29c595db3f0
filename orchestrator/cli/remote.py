"""The job commands against a breadth service (``--server URL``), through the Python client.

``research`` submits and shows the same live progress from the job's event stream;
``show``, ``jobs`` and ``cancel`` read and act on the server's jobs.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.options import EXIT_INTERRUPTED, EXIT_JOB_FAILED
from orchestrator.errors import ConfigError
from orchestrator.events import Event

if TYPE_CHECKING:
    from orchestrator.client import Client, Job, JobEvent

API_KEY_ENV = "BREADTH_API_KEY"


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", metavar="URL", help="a breadth service (`breadth serve`) to use instead"
    )
    parser.add_argument(
        "--api-key", metavar="KEY", help=f"the service's API key (default: ${API_KEY_ENV})"
    )


def client_from(args: argparse.Namespace) -> Client:
    # Imported here: the client (httpx) is not needed for `breadth --help`.
    from orchestrator.client import Client

    return Client(args.server, api_key=args.api_key or os.environ.get(API_KEY_ENV) or None)


def _summary(job: Job) -> str:
    return (
        f"job {job.id} {job.state} · tasks {job.tasks_done}/{job.tasks_total} done · "
        f"{job.usage.total_tokens:,} tokens"
    )


def page_url(server: str, job_id: str) -> str:
    """The job's live DAG page on the service."""
    return f"{server.rstrip('/')}/ui/jobs/{job_id}"


def trace_line(trace_id: str | None, url: str | None = None) -> str | None:
    """``trace: ID · JAEGER LINK`` (the link from the service, else $BREADTH_JAEGER_URL)."""
    from orchestrator.trace_context import trace_url

    if trace_id is None:
        return None
    link = url or trace_url(trace_id)
    return f"trace: {trace_id}" + (f" · {link}" if link else "")


def _as_event(event: JobEvent) -> Event | None:
    try:
        return Event.model_validate(event.model_dump(exclude={"id"}))
    except ValidationError:
        return None  # a type this CLI does not know


def research(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.progress import ProgressView

    if args.resume:
        raise ConfigError(
            "--resume runs a stored job in this process; a service resumes its jobs itself. "
            "Leave out --server to resume a job of the local store"
        )
    if not args.question:
        raise ConfigError('no question given; ask one, e.g. `breadth research "..." --server URL`')
    graph = args.graph
    if os.path.isfile(graph):
        with open(graph, encoding="utf-8") as handle:
            graph = handle.read()
    err = Console(stderr=True)
    with client_from(args) as client:
        job = client.jobs.create(args.question, graph=graph, corpus=args.corpus)
        err.print(f"job [bold]{job.id}[/] · graph {job.graph} · {args.server}", highlight=False)
        err.print(f"watch it: {page_url(args.server, job.id)}", highlight=False, soft_wrap=True)
        try:
            with ProgressView() as view:
                for event in client.jobs.stream(job.id):
                    engine_event = _as_event(event)
                    if engine_event is not None:
                        view(engine_event)
        except KeyboardInterrupt:
            err.print(
                f"stopped watching; job {job.id} goes on on the server. Cancel it with "
                f"`breadth cancel {job.id} --server {args.server}`",
                highlight=False,
            )
            return EXIT_INTERRUPTED
        final = client.jobs.wait(job.id)
    if args.json:
        print(final.model_dump_json())
    elif final.state == "done":
        console.print(Markdown(final.report or ""))
        err.print(_summary(final), highlight=False)
    if final.state != "done":
        err.print(
            f"[bold red]job {final.id} {final.state}:[/] {escape(str(final.error))}",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_JOB_FAILED
    return 0


def show(args: argparse.Namespace, console: Console) -> int:
    with client_from(args) as client:
        job = client.jobs.get(args.job_id)
        if args.json:
            print(job.model_dump_json())
            return 0
        events = list(_events_until_now(client, job)) if args.events else []
    console.print(f"[bold]job {job.id}[/] · {job.state} · graph {job.graph}")
    console.print(f"question: {job.question}", highlight=False)
    console.print(_summary(job), highlight=False)
    console.print(f"page: {page_url(args.server, job.id)}", highlight=False, soft_wrap=True)
    trace = trace_line(job.trace_id, job.trace_url)
    if trace:
        console.print(trace, highlight=False, soft_wrap=True)
    if job.error:
        console.print(f"[red]error:[/] {job.error}", highlight=False)
    if job.report:
        console.print(Markdown(job.report))
    for event in events:
        console.print(f"{event.id} {event.type} {event.task_id or ''} {event.data}")
    return 0


def _events_until_now(client: Client, job: Job) -> list[JobEvent]:
    """The events of a finished job (a running one's stream would not end: none)."""
    if not job.finished:
        return []
    return [event for event in client.jobs.stream(job.id) if event.type != "end"]


def list_jobs(args: argparse.Namespace, console: Console) -> int:
    with client_from(args) as client:
        page = client.jobs.list(limit=args.limit)
    table = Table("job", "state", "tasks", "tokens", "question")
    for job in page.jobs:
        table.add_row(
            job.id,
            job.state,
            f"{job.tasks_done}/{job.tasks_total}",
            f"{job.usage.total_tokens:,}",
            job.question[:60],
        )
    console.print(table)
    return 0


def cancel(args: argparse.Namespace, console: Console) -> int:
    with client_from(args) as client:
        job = client.jobs.cancel(args.job_id)
    console.print(f"job {job.id}: {job.state}, cancel requested", highlight=False)
    return 0
