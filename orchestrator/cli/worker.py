"""``breadth worker``: claim queued jobs of a service's store and run them until SIGTERM.

SIGTERM (or Ctrl-C) stops claiming, gives running jobs the grace period, then hands the
rest back to the queue so another worker resumes them at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from rich.console import Console

from orchestrator.cli.options import (
    Subparsers,
    add_executor_flags,
    add_model_flags,
    add_store_flags,
    add_tool_flags,
    settings_from,
)
from orchestrator.cli.serve import add_worker_flags


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("worker", help="run queued jobs of a service (until SIGTERM)")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs run at once")
    parser.add_argument("--name", help="the worker's name (default: host-pid-random)")
    add_store_flags(parser)
    add_model_flags(parser)
    add_executor_flags(parser)
    add_tool_flags(parser)
    add_worker_flags(parser)
    parser.add_argument("--otlp-endpoint", help="send traces over OTLP/HTTP (e.g. Jaeger)")
    parser.set_defaults(run=lambda args, console: asyncio.run(run_worker(args, console)))


async def run_worker(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.app import Runtime
    from orchestrator.store.redis_store import RedisStore
    from orchestrator.worker import Worker, WorkerOptions

    options = WorkerOptions(
        concurrency=args.concurrency,
        lease_s=args.lease_s,
        grace_s=args.grace_s,
        max_deliveries=args.max_deliveries,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    async with await Runtime.open(settings_from(args)) as runtime:
        if isinstance(runtime.store, RedisStore):
            runtime.store.keep_reconnecting()
        worker = Worker(runtime, options, name=args.name)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        Console(stderr=True).print(
            f"breadth worker {worker.name}: namespace {runtime.settings.namespace!r}, "
            f"{options.concurrency} jobs at once (SIGTERM stops it)",
            highlight=False,
        )
        await worker.run()
    return 0
