"""A client for reward-model endpoints: POST ``{"prompt", "response"}`` → ``{"score": float}``.

Best-of-N can rank candidates with a reward model (an outcome or process reward model
served over HTTP) instead of an LLM judge. Like a model server it is an HTTP backend of
the engine: its errors are translated by ``http_errors`` into ``BackendUnavailable``.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any

import httpx

from orchestrator.models import guard
from orchestrator.models.http_errors import Backend, json_body, malformed, translated

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
        self._backend = Backend(
            what="reward model",
            url=url,
            timeout_s=timeout_s,
            connect_fix="start the reward server, or fix params.reward_url",
            contract="a score",
            malformed_fix=f"point params.reward_url at an endpoint that implements {CONTRACT}",
            malformed_retryable=False,
            reject_fix=f"check that params.reward_url is the scoring endpoint ({CONTRACT})",
        )
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0), pool=None),
            # Scores beyond the pool wait for a connection instead of flooding the server.
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            transport=transport,
        )

    async def score(self, prompt: str, response: str) -> float:
        """The reward of ``response`` to ``prompt``; a finite float."""
        guard.check_real_model(f"reward model {self.url}", endpoint=self.url)
        with translated(self._backend):
            reply = await self._client.post(self.url, json={"prompt": prompt, "response": response})
        body: Any = json_body(self._backend, reply, repr(reply.text[:200]))
        value = body.get("score") if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise malformed(self._backend, f"no numeric 'score' in {reply.text[:200]!r}")
        if not math.isfinite(value):
            raise malformed(self._backend, f"the score {value!r} is not finite")
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
