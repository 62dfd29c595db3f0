"""``breadth simulate`` as a user runs it: a server that answers, then stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from pydantic import BaseModel

from orchestrator.models import guard
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.structured import generate_structured


class Verdict(BaseModel):
    answer: str
    confidence: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The server's banner is read with a blocking readline: this timeout (not the global one)
# fails the test if the server never starts listening.
@pytest.mark.timeout(60)
async def test_simulate_serves_the_openai_api_until_interrupted() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREADTH_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "simulate", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        assert server.stdout is not None and server.stderr is not None
        banner = server.stdout.readline()  # printed once the socket listens
        assert url in banner, banner + (server.stderr.read() if server.poll() is not None else "")
        guard.allow_endpoint(url)
        client = OpenAIReplica(url)
        try:
            prompt = [
                ChatMessage(role="user", content="Is the cyclic garbage collector generational?")
            ]
            completion = await client.generate(GenerateRequest(messages=prompt, n=2, max_tokens=12))
            verdict, usage = await generate_structured(client, prompt, Verdict)
            chunks = [
                c async for c in client.stream(GenerateRequest(messages=prompt, max_tokens=5))
            ]
        finally:
            await client.aclose()
            guard.disallow_endpoint(url)
        assert len(completion.choices) == 2 and completion.model == "breadth-sim"
        assert all(0 < len(c.text.split()) <= 12 for c in completion.choices)
        assert verdict.answer and usage.total_tokens > 0
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise AssertionError("`breadth simulate` did not stop within 30 s of Ctrl-C") from None
    assert server.returncode == 0, err
    assert "Traceback" not in err
