"""Model back-pressure and the simulator's metrics.

A replica's 429 slows the pool down (a lower concurrency limit, a pause as long as its
Retry-After) instead of failing the caller; the simulator's /metrics page counts
requests and tokens under vLLM's names.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestrator.errors import BackendUnavailable
from orchestrator.models.backpressure import AdaptiveLimit, ReplicaThrottle
from orchestrator.models.http_errors import retry_after_s
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest
from orchestrator.models.simulator import SimulatorServer
from orchestrator.testing import ScriptedModel


def ask(text: str) -> GenerateRequest:
    return GenerateRequest(messages=[ChatMessage(role="user", content=text)], max_tokens=16)


def test_the_limit_halves_on_a_429_and_grows_back_one_by_one() -> None:
    policy = AdaptiveLimit(ceiling=8)
    assert policy.allowed == 8
    assert policy.throttled(in_flight=6, retry_after=2.5) == 2.5
    assert policy.allowed == 3
    assert policy.throttled(in_flight=3, retry_after=None) == 1.0  # second strike: 0.5 * 2
    assert policy.allowed == 1
    for _ in range(20):
        policy.succeeded()
    assert policy.allowed == 8 and policy.strikes == 0
    assert policy.throttled(in_flight=1, retry_after=9999) == policy.max_pause_s


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    now = 1_700_000_000.0
    assert retry_after_s("Tue, 14 Nov 2023 22:13:30 GMT", now=now) == 10.0


class RateLimitedSimulator(SimulatorServer):
    """The simulator, but its first ``limited`` chat requests get 429 + Retry-After."""

    def __init__(self, limited: int, retry_after: str) -> None:
        super().__init__(ScriptedModel({"*": "An answer."}, name="sim"), model="m")
        self.limited = limited
        self.retry_after = retry_after
        self.arrivals: list[tuple[float, int]] = []

    async def _chat(self, http_request: Request) -> Response:
        if self.limited > 0:
            self.limited -= 1
            self.arrivals.append((time.monotonic(), 429))
            return JSONResponse(
                {"error": {"message": "slow down"}},
                status_code=429,
                headers={"Retry-After": self.retry_after},
            )
        self.arrivals.append((time.monotonic(), 200))
        return await super()._chat(http_request)


async def test_a_429_waits_out_retry_after_instead_of_failing_the_caller() -> None:
    async with RateLimitedSimulator(limited=3, retry_after="1") as sim:
        replica = OpenAIReplica(sim.base_url, model="m")
        pool = ModelPool([replica], retry_backoff_s=0.0)
        try:
            completion = await asyncio.wait_for(pool.generate(ask("hi")), 30)
        finally:
            await pool.aclose()
    assert completion.text == "An answer."
    statuses = [status for _, status in sim.arrivals]
    assert statuses == [429, 429, 429, 200]
    gaps = [b[0] - a[0] for a, b in zip(sim.arrivals, sim.arrivals[1:], strict=False)]
    assert min(gaps) >= 0.9  # each retry came after the server's Retry-After


class Counting:
    """A replica that counts requests in flight; the first call answers 429."""

    name = "counting"

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak_after_429 = 0
        self.throttled = False
        self.release = asyncio.Event()

    async def generate(self, request: GenerateRequest) -> Completion:
        if not self.throttled:
            self.throttled = True
            raise BackendUnavailable("429", status=429, retry_after=0.0)
        self.in_flight += 1
        self.peak_after_429 = max(self.peak_after_429, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        return Completion(choices=[])

    def stream(self, request: GenerateRequest) -> object:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def test_after_a_429_fewer_requests_reach_the_replica_at_once() -> None:
    replica = Counting()
    throttle = ReplicaThrottle(ceiling=8)
    try:
        await throttle.generate(replica, ask("x"))  # type: ignore[arg-type]
    except BackendUnavailable as exc:
        assert throttle.attempt_cost(exc) == 0  # a 429 costs the pool no attempt
    assert throttle.policy.allowed == 1  # halved below what was in flight
    calls = [
        asyncio.create_task(throttle.generate(replica, ask(str(i))))  # type: ignore[arg-type]
        for i in range(8)
    ]
    for _ in range(50):  # let every call run as far as it can
        await asyncio.sleep(0)
    assert replica.in_flight == 1
    replica.release.set()
    await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert throttle.policy.allowed == 8  # each success raised the limit by one again


async def test_the_simulator_counts_requests_and_tokens_under_vllm_names() -> None:
    async with SimulatorServer(ScriptedModel({"*": "one two three"}, name="sim"), model="m") as sim:
        replica = OpenAIReplica(sim.base_url, model="m")
        try:
            first = await replica.generate(ask("count me"))
            second = await replica.generate(ask("and me too"))
        finally:
            await replica.aclose()
        async with httpx.AsyncClient() as http:
            page = (await http.get(sim.base_url.removesuffix("/v1") + "/metrics")).text
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line and not line.startswith("#")
    }
    prompt = first.usage.prompt_tokens + second.usage.prompt_tokens
    generated = first.usage.completion_tokens + second.usage.completion_tokens
    assert values['vllm:prompt_tokens_total{model_name="m"}'] == prompt
    assert values['vllm:generation_tokens_total{model_name="m"}'] == generated
    assert values['vllm:request_success_total{finished_reason="stop",model_name="m"}'] == 2
    assert values['vllm:num_requests_running{model_name="m"}'] == 0
    assert values['breadth_sim_requests_total{model_name="m"}'] == 2
