"""``breadth serve``: the HTTP service (FastAPI on uvicorn), with in-process workers.

With no options it runs on the embedded defaults: the embedded store, the built-in
model and one in-process worker, on 127.0.0.1:8080 with auth on.
"""

from __future__ import annotations

import argparse
import logging

from rich.console import Console

from orchestrator.cli.options import (
    Subparsers,
    add_executor_flags,
    add_model_flags,
    add_store_flags,
    add_tool_flags,
    settings_from,
)


def add_worker_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease-s", type=float, default=30.0, help="a job's lease (s); heartbeat every third"
    )
    parser.add_argument(
        "--grace-s", type=float, default=10.0, help="on SIGTERM, time for running jobs to finish"
    )
    parser.add_argument(
        "--max-deliveries",
        type=int,
        default=5,
        help="fail a job delivered this often (its workers kept dying)",
    )


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("serve", help="run the HTTP service (API at /v1, OpenAPI at /docs)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--workers", type=int, default=1, help="in-process workers (0: the API alone)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="jobs each in-process worker runs at once"
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="no API keys (accepted on a loopback address only)"
    )
    parser.add_argument("--corpora", metavar="DIR", help="folders jobs may name as their corpus")
    add_store_flags(parser)
    add_model_flags(parser)
    add_executor_flags(parser)
    add_tool_flags(parser)
    add_worker_flags(parser)
    parser.add_argument("--otlp-endpoint", help="send traces over OTLP/HTTP (e.g. Jaeger)")
    parser.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace, console: Console) -> int:
    import uvicorn

    from orchestrator.service import ServiceConfig, create_app
    from orchestrator.worker import WorkerOptions

    config = ServiceConfig(
        settings=settings_from(args),
        host=args.host,
        auth=not args.no_auth,
        workers=args.workers,
        worker_options=WorkerOptions(
            concurrency=args.concurrency,
            lease_s=args.lease_s,
            grace_s=args.grace_s,
            max_deliveries=args.max_deliveries,
        ),
        corpora=args.corpora,
    ).checked()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(config)
    auth = "API keys required" if config.auth else "no auth"
    Console(stderr=True).print(
        f"breadth service on http://{args.host}:{args.port} ({auth}; {args.workers} in-process "
        f"workers; OpenAPI at /docs)",
        highlight=False,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=int(args.grace_s) + 5,
        )
    )
    server.run()
    return 0
