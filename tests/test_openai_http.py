"""The OpenAI-compatible HTTP client against the simulator: errors, odd bodies, URLs."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from orchestrator.errors import BackendUnavailable, ConfigError, RealModelBlocked
from orchestrator.models import guard
from orchestrator.models.openai_http import OpenAIReplica, validate_model_url
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.simulator import Fault, SimulatorServer
from orchestrator.testing import ScriptedModel

# Every test here waits on a server (the simulator server answers): a hang fails it within 30 s,
# not the global 120 s.
pytestmark = pytest.mark.timeout(30)


REQUEST = GenerateRequest(messages=[ChatMessage(role="user", content="Say hello.")], max_tokens=8)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(ScriptedModel({"*": "Hello there."}), model="sim-model") as server:
        yield server


@pytest.fixture
async def client(sim: SimulatorServer) -> AsyncIterator[OpenAIReplica]:
    replica = OpenAIReplica(sim.base_url)
    yield replica
    await replica.aclose()


@pytest.fixture
def dead_url() -> Iterator[str]:
    """The URL of a port nobody listens on, let through the real-model guard."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    guard.allow_endpoint(url)
    yield url
    guard.disallow_endpoint(url)


async def test_generate_asks_the_servers_first_model(client: OpenAIReplica) -> None:
    completion = await client.generate(REQUEST)
    assert completion.text == "Hello there."
    assert completion.model == "sim-model"
    assert completion.replica == client.name
    assert await client.model_name() == "sim-model"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_retryable(
    sim: SimulatorServer, client: OpenAIReplica, status: int
) -> None:
    await client.model_name()
    sim.inject(Fault(status=status, message="overloaded right now"))
    with pytest.raises(BackendUnavailable) as caught:
        await client.generate(REQUEST)
    assert caught.value.retryable is True
    assert caught.value.status == status
    assert caught.value.url == sim.base_url
    assert "overloaded right now" in str(caught.value)
    assert sim.base_url in str(caught.value)
    if status == 429:
        assert "rate limiting" in str(caught.value)
    assert (await client.generate(REQUEST)).text == "Hello there."


@pytest.mark.parametrize("status", [400, 401, 403, 422])
async def test_rejected_requests_are_not_retryable(
    sim: SimulatorServer, client: OpenAIReplica, status: int
) -> None:
    await client.model_name()
    sim.inject(Fault(status=status, message="bad request body"))
    with pytest.raises(BackendUnavailable) as caught:
        await client.generate(REQUEST)
    assert caught.value.retryable is False
    assert caught.value.status == status
    assert "bad request body" in str(caught.value)


async def test_unknown_model_is_a_404_naming_it(sim: SimulatorServer) -> None:
    replica = OpenAIReplica(sim.base_url, model="no-such-model")
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await replica.generate(REQUEST)
    finally:
        await replica.aclose()
    assert caught.value.status == 404 and caught.value.retryable is False
    assert "'no-such-model'" in str(caught.value)


async def test_refused_connection_is_retryable_and_names_the_url(dead_url: str) -> None:
    replica = OpenAIReplica(dead_url, model="m")
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await replica.generate(REQUEST)
        with pytest.raises(BackendUnavailable) as caught_stream:
            await anext(replica.stream(REQUEST))
    finally:
        await replica.aclose()
    for error in (caught.value, caught_stream.value):
        assert error.retryable is True and error.status is None
        assert dead_url in str(error) and "--model-url" in str(error)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("this is not json", "not JSON"),
        ('{"object": "list", "data": []}', "not a chat completion"),
        ('{"choices": []}', "no choices"),
    ],
)
async def test_malformed_bodies_are_backend_errors(
    sim: SimulatorServer, client: OpenAIReplica, body: str, detail: str
) -> None:
    await client.model_name()
    sim.inject(Fault(status=200, body=body))
    with pytest.raises(BackendUnavailable) as caught:
        await client.generate(REQUEST)
    assert detail in str(caught.value)
    assert "OpenAI-compatible API root" in str(caught.value)


async def test_stream_error_status_raises_before_any_chunk(
    sim: SimulatorServer, client: OpenAIReplica
) -> None:
    await client.model_name()
    sim.inject(Fault(status=503))
    with pytest.raises(BackendUnavailable) as caught:
        await anext(client.stream(REQUEST))
    assert caught.value.status == 503 and caught.value.retryable is True


async def test_a_server_listing_no_model_asks_for_the_name() -> None:
    url = "http://models.invalid/v1"
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"data": []}))
    replica = OpenAIReplica(url, transport=transport)
    guard.allow_endpoint(url)
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await replica.generate(REQUEST)
    finally:
        guard.disallow_endpoint(url)
        await replica.aclose()
    assert caught.value.retryable is False
    assert "--model-name" in str(caught.value)


async def test_the_guard_blocks_servers_the_test_did_not_start() -> None:
    replica = OpenAIReplica("http://127.0.0.1:9/v1", model="m")
    try:
        with pytest.raises(RealModelBlocked):
            await replica.generate(REQUEST)
    finally:
        await replica.aclose()


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://gpu-3:8000/v1/chat/completions", "http://gpu-3:8000/v1"),
        ("  http://[::1]:8000/openai/v1 ", "http://[::1]:8000/openai/v1"),
    ],
)
def test_valid_model_urls_are_normalised(url: str, root: str) -> None:
    assert validate_model_url(url) == root


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("localhost:8000", "no http:// or https:// scheme"),
        ("ftp://host/v1", "scheme 'ftp'"),
        ("http://", "names no host"),
        ("http://host:99999/v1", "port"),
        ("http://host/v1?key=1", "query string"),
        ("", "empty"),
    ],
)
def test_invalid_model_urls_name_value_rule_and_fix(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_model_url(url)
    message = str(caught.value)
    assert repr(url) in message
    assert problem in message
    assert "http(s)://host[:port][/path]" in message
    if url == "localhost:8000":
        assert "'http://localhost:8000'" in message
