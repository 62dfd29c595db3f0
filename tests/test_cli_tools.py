"""``breadth tools``, ``breadth tools call`` and ``breadth replay`` from the command line."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from orchestrator.cli import main
from orchestrator.cli.options import EXIT_JOB_FAILED, EXIT_USER_ERROR
from orchestrator.models.sim_writer import default_backend
from orchestrator.models.simulator import SimulatorServer

pytestmark = pytest.mark.timeout(120)


def test_tools_lists_every_tool_with_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    schemas = {s["function"]["name"]: s["function"] for s in json.loads(capsys.readouterr().out)}
    assert {"search", "read", "fetch", "python", "calculator"} <= set(schemas)
    assert schemas["fetch"]["parameters"]["required"] == ["url"]


def test_tools_call_runs_one_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "call", "calculator", '{"expression": "(2**64 - 1) / 3"}']) == 0
    assert capsys.readouterr().out.strip() == "6148914691236517205"


def test_tools_call_reports_a_refusal_as_a_tool_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "call", "fetch", '{"url": "http://169.254.169.254/"}']) == EXIT_JOB_FAILED
    assert "cloud metadata service" in capsys.readouterr().err


@pytest.fixture
def simulator() -> Iterator[str]:
    """A simulator on its own thread's loop, since main() runs its own event loop."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def serve() -> None:
        async def run() -> None:
            async with SimulatorServer(default_backend()) as sim:
                state["url"], state["stop"] = sim.base_url, asyncio.Event()
                state["loop"] = asyncio.get_running_loop()
                ready.set()
                await state["stop"].wait()  # type: ignore[attr-defined]

        asyncio.run(run())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(20)
    yield str(state["url"])
    loop: asyncio.AbstractEventLoop = state["loop"]  # type: ignore[assignment]
    loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
    thread.join(20)


def test_replay_reproduces_a_recorded_job(
    simulator: str,
    redis_url: str,
    namespace: str,
    redis_client: aioredis.Redis,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = ["--redis-url", redis_url, "--namespace", namespace]
    question = "How does the with statement work?"
    assert main(["research", question, "--model-url", simulator, "--json", *store]) == 0
    recorded = json.loads(capsys.readouterr().out)
    assert main(["replay", recorded["id"], *store]) == 0
    captured = capsys.readouterr()
    assert captured.out == recorded["report"]
    assert "identical, byte for byte" in captured.err


def test_replay_of_an_unknown_job_names_it(
    redis_url: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", "nope123", "--redis-url", redis_url, "--namespace", namespace])
    assert code == EXIT_USER_ERROR
    assert "'nope123'" in capsys.readouterr().err
