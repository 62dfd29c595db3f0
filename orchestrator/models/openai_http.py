"""A replica behind an OpenAI-compatible HTTP API: vLLM, llama.cpp's server, a provider.

Transport errors, error statuses and malformed bodies become ``BackendUnavailable``
through ``http_errors`` (``retryable`` for refused connections, timeouts, 5xx and 429,
so the pool can fail over), with the URL and what to do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestrator.errors import BackendUnavailable, ConfigError
from orchestrator.models import guard
from orchestrator.models.http_errors import (
    Backend,
    json_body,
    malformed,
    retry_after_s,
    status_error,
    translated,
)
from orchestrator.models.openai_wire import (
    WireFormatError,
    chunks_from_body,
    completion_from_body,
    error_message,
    request_body,
)
from orchestrator.models.protocol import Completion, GenerateRequest, ServedModel, StreamChunk
from orchestrator.models.sse import DONE, iter_data
from orchestrator.usage import TokenUsage

OPENAI_HOST = "api.openai.com"
_URL_RULE = "http(s)://host[:port][/path], e.g. http://127.0.0.1:8000/v1"


def validate_model_url(url: str) -> str:
    """The normalised API root of a model server URL (``.../v1``), or ``ConfigError``.

    A URL without a path gets ``/v1`` appended; a trailing slash and a pasted endpoint
    suffix (``/chat/completions``) are dropped.
    """
    value = url.strip() if isinstance(url, str) else url
    problem = None
    if not isinstance(value, str) or not value:
        problem = "it is empty"
    else:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            problem = (
                "it has no http:// or https:// scheme"
                if "://" not in value
                else f"its scheme {parts.scheme!r} is not http or https"
            )
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.query or parts.fragment:
            problem = "it has a query string or fragment"
        else:
            try:
                parts.port  # noqa: B018 - parsing the port validates it
            except ValueError:
                problem = "its port is not a number between 0 and 65535"
    if problem is not None:
        suggestion = (
            f"http://{value}" if isinstance(value, str) and value and "://" not in value else None
        )
        fix = f"write it as {suggestion!r}" if suggestion else f"write it as {_URL_RULE}"
        raise ConfigError(
            f"model server URL {url!r} is invalid: {problem}; the rule is {_URL_RULE}; {fix}"
        )
    assert isinstance(value, str)
    root = value.rstrip("/").removesuffix("/chat/completions")
    if not urlsplit(root).path:
        root += "/v1"
    return root


class OpenAIReplica:
    """A ``Replica`` that calls ``POST {base_url}/chat/completions``.

    ``model`` defaults to the first model the server lists at ``GET {base_url}/models``.
    Close a ``stream()`` early (``aclose()``, or leave an ``aclosing`` block) to abort
    the generation: the HTTP response is closed and the server stops decoding.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        name: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = validate_model_url(base_url)
        self.name = name or urlsplit(self.base_url).netloc
        self.timeout_s = timeout_s
        self._model = model
        self._owner: str | None = None  # who the server says owns its model (vLLM: "vllm")
        self._backend = Backend(
            what="model server",
            url=self.base_url,
            timeout_s=timeout_s,
            connect_fix="start the server, or fix the URL (--model-url)",
            contract="an OpenAI chat completion",
            malformed_fix="check that the URL points at an OpenAI-compatible API root (…/v1)",
            status_fixes={
                401: "pass the right API key (BREADTH_MODEL_API_KEY)",
                403: "pass the right API key (BREADTH_MODEL_API_KEY)",
                404: f"check that the URL is the API root (…/v1) and that the server serves "
                f"the model {model!r}",
            },
        )
        self._model_lock = asyncio.Lock()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            # Width means many requests at once: the scheduler bounds concurrency, so
            # waiting for a pooled connection must not time out on its own.
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0), pool=None),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
            transport=transport,
        )

    # -- the replica protocol ----------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> Completion:
        model = request.model or await self.model_name()
        body = await self._post_json("chat/completions", request_body(request, model, stream=False))
        try:
            completion = completion_from_body(body, replica=self.name)
        except WireFormatError as exc:
            raise malformed(self._backend, str(exc)) from None
        if not completion.choices:
            raise malformed(self._backend, "the completion has no choices")
        missing = request.n - len(completion.choices)
        if missing > 0:
            # Some servers (llama.cpp's) return one choice whatever n is: top up.
            completion = await self._top_up(request, completion, missing)
        return completion

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        model = request.model or await self.model_name()
        payload = request_body(request, model, stream=True)
        guard.check_real_model(f"model server {self.base_url}", endpoint=self.base_url)
        usage: TokenUsage | None = None
        with translated(self._backend):
            async with self._client.stream("POST", "chat/completions", json=payload) as response:
                if response.status_code >= 400:
                    await response.aread()
                    wait = retry_after_s(response.headers.get("retry-after"))
                    raise status_error(
                        self._backend,
                        response.status_code,
                        self._reason(response),
                        retry_after=wait,
                    )
                async for data in iter_data(response.aiter_lines()):
                    if data.strip() == DONE:
                        break
                    chunks, chunk_usage = self._parse_event(data)
                    usage = chunk_usage or usage
                    for chunk in chunks:
                        yield chunk
        if usage is not None:
            yield StreamChunk(usage=usage)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def describe(self, request: GenerateRequest) -> ServedModel:
        """The served model's name and provider (for traces); lists the models if needed."""
        return ServedModel(model=request.model or await self.model_name(), provider=self.provider)

    @property
    def provider(self) -> str:
        """``openai`` for OpenAI's API; else the owner the server's model listing names
        (vLLM: ``vllm``, llama.cpp: ``llamacpp``), once listed; else ``openai`` (the API)."""
        host = urlsplit(self.base_url).hostname or ""
        if host == OPENAI_HOST or self._owner is None:
            return "openai"
        return self._owner

    # -- helpers ------------------------------------------------------------------------

    async def model_name(self) -> str:
        """The model to ask for: the one given, or the first one the server lists."""
        if self._model is not None:
            return self._model
        async with self._model_lock:
            if self._model is None:
                body = await self._get_json("models")
                try:
                    self._model = str(body["data"][0]["id"])
                    owner = body["data"][0].get("owned_by")
                    self._owner = owner if isinstance(owner, str) and owner else None
                except (KeyError, IndexError, TypeError):
                    raise BackendUnavailable(
                        f"the model server at {self.base_url} lists no model at "
                        f"{self.base_url}/models ({json.dumps(body)[:200]}); pass the model name "
                        f"explicitly (--model-name)",
                        retryable=False,
                        url=self.base_url,
                    ) from None
        return self._model

    async def _top_up(
        self, request: GenerateRequest, completion: Completion, missing: int
    ) -> Completion:
        start = len(completion.choices)
        extra = [
            request.model_copy(
                update={"n": 1, "seed": None if request.seed is None else request.seed + start + i}
            )
            for i in range(missing)
        ]
        more = await asyncio.gather(*(self.generate(r) for r in extra))
        choices = list(completion.choices)
        usage = completion.usage
        for i, part in enumerate(more):
            choices += [c.model_copy(update={"index": start + i}) for c in part.choices[:1]]
            usage = usage + part.usage
        return completion.model_copy(update={"choices": choices, "usage": usage})

    async def _get_json(self, path: str) -> Any:
        guard.check_real_model(f"model server {self.base_url}", endpoint=self.base_url)
        with translated(self._backend):
            response = await self._client.get(path)
        return json_body(self._backend, response, self._reason(response))

    async def _post_json(self, path: str, payload: dict[str, Any]) -> Any:
        guard.check_real_model(f"model server {self.base_url}", endpoint=self.base_url)
        with translated(self._backend):
            response = await self._client.post(path, json=payload)
        return json_body(self._backend, response, self._reason(response))

    @staticmethod
    def _reason(response: httpx.Response) -> str:
        return error_message(response.text) if response.status_code >= 400 else ""

    def _parse_event(self, data: str) -> tuple[list[StreamChunk], TokenUsage | None]:
        try:
            body = json.loads(data)
        except ValueError:
            raise malformed(self._backend, f"a stream event is not JSON: {data[:200]!r}") from None
        if isinstance(body, dict) and body.get("error"):
            raise BackendUnavailable(
                f"the model server at {self.base_url} failed mid-stream: "
                f"{error_message(data)}; check its logs",
                url=self.base_url,
            )
        try:
            return chunks_from_body(body)
        except WireFormatError as exc:
            raise malformed(self._backend, str(exc)) from None
