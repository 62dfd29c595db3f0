"""``breadth cancel JOB_ID``: cancel a job, on a service (``--server``) or in a store.

In a store, the cancel is persisted on the job and announced to the workers: a queued
job is cancelled at once, a running one by the worker that runs it.
"""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from orchestrator.cli import remote
from orchestrator.cli.options import Subparsers, add_store_flags, settings_from
from orchestrator.errors import ConfigError


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("cancel", help="cancel a queued or running job")
    parser.add_argument("job_id")
    add_store_flags(parser)
    remote.add_server_flags(parser)
    parser.set_defaults(run=run_cancel)


def run_cancel(args: argparse.Namespace, console: Console) -> int:
    if args.server:
        return remote.cancel(args, console)
    return asyncio.run(cancel_in_store(args, console))


async def cancel_in_store(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.store.cancels import CancelRequests
    from orchestrator.store.factory import open_settings_store
    from orchestrator.store.redis_store import RedisStore

    settings = settings_from(args)
    store = await open_settings_store(settings)
    try:
        assert isinstance(store, RedisStore)
        cancels = CancelRequests(store.client, settings.namespace, url=store.url)
        record = await cancels.request(settings.namespace, args.job_id)
    finally:
        await store.aclose()
    if record is None:
        raise ConfigError(
            f"no job {args.job_id!r} in the store (namespace {settings.namespace!r}); list "
            f"jobs with `breadth jobs`"
        )
    console.print(f"job {record.id}: {record.state}, cancel requested", highlight=False)
    return 0
