"""``breadth simulate``: serve the built-in vLLM-compatible simulator (OpenAI API).

``--replicas K`` serves a fleet of K replicas on consecutive ports, with the latency
model (prefill per uncached token, batched decode slowed by load, a bounded prefix
cache) and faults (``--slow``, ``--dead``, ``--throttle``), for capacity planning.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from orchestrator.cli.options import Subparsers


def register(sub: Subparsers) -> None:
    simulate = sub.add_parser("simulate", help="serve the built-in vLLM-compatible simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument(
        "--port", type=int, default=8000, help="first replica's port (0: free ports)"
    )
    simulate.add_argument(
        "--replicas", type=int, default=1, metavar="K", help="serve a fleet of K replicas"
    )
    latency = simulate.add_argument_group("latency model")
    latency.add_argument("--prefill-ms-per-token", type=float, default=0.2, metavar="MS")
    latency.add_argument("--decode-ms-per-token", type=float, default=10.0, metavar="MS")
    latency.add_argument(
        "--load-slowdown",
        type=float,
        default=0.02,
        metavar="F",
        help="each extra sequence in flight makes a decode step F slower (default 0.02)",
    )
    latency.add_argument(
        "--prefix-cache-tokens",
        type=int,
        default=200_000,
        metavar="N",
        help="prompt tokens a replica's prefix cache holds (default 200000)",
    )
    faults = simulate.add_argument_group("fault injection (by replica index, from 0)")
    faults.add_argument(
        "--slow", action="append", default=[], metavar="I:FACTOR", help="replica I is slower"
    )
    faults.add_argument(
        "--dead", action="append", type=int, default=[], metavar="I", help="replica I refuses"
    )
    faults.add_argument(
        "--throttle",
        action="append",
        default=[],
        metavar="I:RATE",
        help="replica I answers a share RATE of requests with 429",
    )
    simulate.set_defaults(run=run_simulator)


def run_simulator(args: argparse.Namespace, console: Console) -> int:
    from orchestrator.models.sim_fleet import (
        FleetLatency,
        SimulatorFleet,
        parse_fault_flags,
        serve_fleet,
    )

    fleet = SimulatorFleet(
        args.replicas,
        latency=FleetLatency(
            prefill_s_per_token=args.prefill_ms_per_token / 1e3,
            decode_s_per_token=args.decode_ms_per_token / 1e3,
            load_slowdown=args.load_slowdown,
            prefix_cache_tokens=args.prefix_cache_tokens,
        ),
        faults=parse_fault_flags(args.slow, args.dead, args.throttle),
        host=args.host,
        port=args.port,
    )
    serve_fleet(fleet)
    return 0
