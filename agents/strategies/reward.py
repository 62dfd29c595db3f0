"""A client for reward-model endpoints: POST ``{"prompt", "response"}`` → ``{"score": float}``.

Best-of-N can rank candidates with a reward model (an outcome or process reward model
served over HTTP) instead of an LLM judge. httpx errors, bad statuses and malformed
bodies are translated here, in one place, into ``BackendUnavailable`` naming the URL.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any

import httpx

from orchestrator.errors import BackendUnavailable
from orchestrator.models import guard

CONTRACT = 'POST {"prompt": str, "response": str} -> {"score": number}'


class RewardClient:
    """Scores (prompt, response) pairs with a reward model behind ``url``."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0), pool=None),
            # Scores beyond the pool wait for a connection instead of flooding the server.
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            transport=transport,
        )

    async def score(self, prompt: str, response: str) -> float:
        """The reward of ``response`` to ``prompt``; a finite float."""
        guard.check_real_model(f"reward model {self.url}", endpoint=self.url)
        try:
            reply = await self._client.post(self.url, json={"prompt": prompt, "response": response})
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if reply.status_code >= 400:
            raise self._status_error(reply.status_code, reply.text)
        try:
            body: Any = reply.json()
        except ValueError:
            raise self._malformed(f"the body is not JSON: {reply.text[:200]!r}") from None
        value = body.get("score") if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._malformed(f"no numeric 'score' in {reply.text[:200]!r}")
        if not math.isfinite(value):
            raise self._malformed(f"the score {value!r} is not finite")
        return float(value)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RewardClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _transport_error(self, exc: httpx.HTTPError) -> BackendUnavailable:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            message = (
                f"the reward model at {self.url} did not answer within {self.timeout_s:g}s "
                f"({type(exc).__name__}); raise params.reward_timeout_s or give it more capacity"
            )
        elif isinstance(exc, httpx.ConnectError):
            message = (
                f"cannot connect to the reward model at {self.url} ({detail}); start the "
                f"reward server, or fix params.reward_url"
            )
        else:
            message = (
                f"the connection to the reward model at {self.url} failed "
                f"({type(exc).__name__}: {detail}); check that the server is up and healthy"
            )
        return BackendUnavailable(message, url=self.url)

    def _status_error(self, status: int, text: str) -> BackendUnavailable:
        retryable = status == 429 or status >= 500
        fix = (
            "check the reward server's logs"
            if retryable
            else f"check that params.reward_url is the scoring endpoint ({CONTRACT})"
        )
        return BackendUnavailable(
            f"the reward model at {self.url} answered HTTP {status} ({text[:200]!r}); {fix}",
            retryable=retryable,
            status=status,
            url=self.url,
        )

    def _malformed(self, detail: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"the reward model at {self.url} answered with something that is not a score "
            f"({detail}); point params.reward_url at an endpoint that implements {CONTRACT}",
            retryable=False,
            url=self.url,
        )
