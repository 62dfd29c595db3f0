"""Real processes for the service tests: `breadth serve`, `breadth worker`, a redis-server.

Each helper starts a process on loopback, waits (with its own timeout) until it answers,
and stops it on exit (SIGTERM, then SIGKILL); nothing outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# A small research graph: plan 3 sub-questions, research them one at a time with one
# model call each, write the report.
TINY_RESEARCH = """\
name: tiny_research
agents:
  planner: {max_tokens: 960}
  researcher: {tools: [search, read], max_steps: 1, max_tokens: 1200}
  writer: {max_tokens: 1450}
nodes:
  plan: {op: plan, agent: planner, params: {max_subquestions: 3}}
  research: {op: research, agent: researcher}
  synthesize: {op: synthesize, agent: writer}
edges:
  - {from: START, to: plan}
  - {from: plan, to: research}
  - {from: research, to: synthesize}
  - {from: synthesize, to: END}
budgets: {concurrency: 1, max_retries: 0}
"""

# One model call per job: the cheapest graph there is.
ONE_CALL = """\
name: one_call
agents:
  writer: {max_tokens: 64}
nodes:
  draft: {op: draft, agent: writer}
edges:
  - {from: START, to: draft}
  - {from: draft, to: END}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def breadth_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BREADTH_MODEL_URLS", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Proc:
    """A started process and where its output goes."""

    popen: subprocess.Popen[bytes]
    log: Path
    name: str

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process stops at once, mid-whatever."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return int(self.popen.returncode)


@dataclass
class Processes:
    """Processes a test started; ``stop_all`` stops what is still running."""

    folder: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, command: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        log = self.folder / f"{name}-{len(self.procs)}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                list(command),
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**_env(), **(env or {})},
                cwd=self.folder,
            )
        proc = Proc(popen, log, name)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate(timeout=15)


@contextlib.contextmanager
def processes(folder: Path) -> Iterator[Processes]:
    procs = Processes(folder)
    try:
        yield procs
    finally:
        procs.stop_all()


async def wait_http(url: str, proc: Proc, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200 (fails early if the process exits)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{proc.name} exited early:\n{proc.output()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=2.0)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{proc.output()[-3000:]}")


async def wait_log(proc: Proc, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in proc.output():
            return
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited early:\n{proc.output()[-3000:]}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"{proc.name} never logged {text!r}:\n{proc.output()[-3000:]}")


def serve_args(port: int, redis_url: str, namespace: str, *extra: str) -> list[str]:
    return breadth_command(
        "serve",
        "--port",
        str(port),
        "--redis-url",
        redis_url,
        "--namespace",
        namespace,
        *extra,
    )


def worker_args(redis_url: str, namespace: str, model_url: str, *extra: str) -> list[str]:
    return breadth_command(
        "worker",
        "--redis-url",
        redis_url,
        "--namespace",
        namespace,
        "--model-url",
        model_url,
        *extra,
    )


@dataclass
class RedisServer:
    """A test-owned redis-server with the append-only file on (fsync always)."""

    port: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (apt-get install redis-server)"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def wait_http_sync(url: str, proc: Proc, timeout: float = 60.0) -> None:
    """``wait_http`` for synchronous fixtures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited early:\n{proc.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{proc.output()[-3000:]}")


def create_key(redis_url: str, namespace: str, tenant: str, *quotas: str) -> str:
    """`breadth keys create`: the key is the last line it prints."""
    done = subprocess.run(
        breadth_command(
            "keys",
            "create",
            "--tenant",
            tenant,
            "--redis-url",
            redis_url,
            "--namespace",
            namespace,
            *quotas,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def delete_namespace_keys(redis_url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=500):
            client.delete(key)
    finally:
        client.close()
