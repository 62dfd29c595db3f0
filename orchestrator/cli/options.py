"""Flags the commands share (store, models) and the settings they make."""

from __future__ import annotations

import argparse
from typing import Any

from orchestrator.settings import Settings

EXIT_USER_ERROR = 2
EXIT_JOB_FAILED = 1
EXIT_INTERRUPTED = 130

Subparsers = Any  # argparse's _SubParsersAction, which its stubs keep private


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        help="Redis server for jobs and results (default: $BREADTH_REDIS_URL, "
        "else the embedded store under $BREADTH_HOME or ~/.local/share/breadth)",
    )
    parser.add_argument("--namespace", default="breadth", help="key prefix in the store")


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-url",
        action="append",
        default=[],
        metavar="URL",
        help="OpenAI-compatible server (vLLM, llama.cpp, ...); repeat for a pool. "
        "Default: $BREADTH_MODEL_URLS, else the embedded SmolLM2 model",
    )
    parser.add_argument("--model-name", help="served model name (default: the server's first)")


def add_tool_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fetch-allow",
        action="append",
        default=[],
        metavar="HOST",
        help="let fetch reach this private host, IP or network (optionally :PORT); repeat "
        "for more (default: $BREADTH_FETCH_ALLOW, else public addresses only)",
    )
    parser.add_argument(
        "--python-sandbox",
        choices=["bubblewrap", "unsafe-none"],
        help="isolation of the python tool (default: bubblewrap; 'unsafe-none' runs "
        "model-written code unisolated on this host)",
    )


def add_cache_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        action="store_true",
        help="reuse model and tool call results across jobs (content-addressed, in the store)",
    )
    parser.add_argument(
        "--cache-sampled",
        action="store_true",
        help="with --cache, also reuse sampled model calls that have no seed",
    )


def add_executor_flags(parser: argparse.ArgumentParser) -> None:
    """``--executor`` and ``--ray-address``: where a job's tasks run (research, worker)."""
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default=None,
        help="where tasks run: in this process (local, the default) or on Ray workers (ray; "
        "needs `pip install 'breadth[ray]'`)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join with --executor ray (host:port of the head, ray://host:10001 "
        "or auto; default: start a local Ray). On a cluster, give --redis-url too: Ray "
        "workers on other machines cannot reach the embedded store",
    )


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """The settings the flags give (those a command does not have stay at their defaults)."""
    flags = {
        "model_urls": getattr(args, "model_url", None),
        "model_name": getattr(args, "model_name", None),
        "redis_url": getattr(args, "redis_url", None),
        "namespace": getattr(args, "namespace", None),
        "otlp_endpoint": getattr(args, "otlp_endpoint", None),
        "fetch_allow": getattr(args, "fetch_allow", None),
        "python_sandbox": getattr(args, "python_sandbox", None),
        "cache": getattr(args, "cache", None) or getattr(args, "cache_sampled", None) or None,
        "cache_sampled": getattr(args, "cache_sampled", None) or None,
        "executor": getattr(args, "executor", None),
        "ray_address": getattr(args, "ray_address", None),
    }
    return Settings.from_env(**flags, **extra)
