"""``breadth replay JOB_ID``: re-run a job from its recorded calls, with no model and no
network, and check that it writes the same report byte for byte."""

from __future__ import annotations

import argparse
import asyncio
import difflib

from rich.console import Console
from rich.markup import escape

from orchestrator.cli.options import EXIT_JOB_FAILED, Subparsers, add_store_flags, settings_from
from orchestrator.errors import ConfigError


def register(sub: Subparsers) -> None:
    replay = sub.add_parser(
        "replay", help="re-run a job from its recorded model and tool calls (no model, no network)"
    )
    replay.add_argument("job_id", metavar="JOB_ID", help="the recorded job (see `breadth jobs`)")
    replay.add_argument("--json", action="store_true", help="print the replay's record as JSON")
    add_store_flags(replay)
    replay.set_defaults(run=lambda args, console: asyncio.run(replay_job(args, console)))


async def replay_job(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import Runtime
    from orchestrator.cache import NoModel

    err = Console(stderr=True)
    settings = settings_from(args, replay_of=args.job_id)
    async with await Runtime.open(settings, model=NoModel()) as runtime:
        original = await runtime.store.get_job(args.job_id)
        if original is None:
            raise ConfigError(
                f"no job {args.job_id!r} in the store (namespace {settings.namespace!r}); list "
                f"jobs with `breadth jobs`"
            )
        record = await runtime.research(original.request)
    if args.json:
        print(record.model_dump_json())
    if record.state != "done":
        err.print(
            f"[bold red]replay {record.id} {record.state}:[/] {escape(str(record.error))}",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_JOB_FAILED
    if not args.json:
        print(record.report or "", end="")
    if record.report == original.report:
        err.print(
            f"replay {record.id} of job {original.id}: the report is identical, byte for byte",
            highlight=False,
        )
        return 0
    diff = difflib.unified_diff(
        (original.report or "").splitlines(keepends=True),
        (record.report or "").splitlines(keepends=True),
        fromfile=f"{original.id} (recorded)",
        tofile=f"{record.id} (replayed)",
    )
    err.print(f"replay {record.id} differs from job {original.id}:", highlight=False)
    err.print(escape("".join(diff)), highlight=False)
    return EXIT_JOB_FAILED
