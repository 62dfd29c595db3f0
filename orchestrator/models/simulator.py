"""The built-in vLLM-compatible simulator: an OpenAI-API server on loopback, backed by any
``Replica`` (a ``ScriptedModel`` in tests), with a latency model and fault injection.

It speaks the same wire format as vLLM (``n``, SSE streaming with ``include_usage``,
logprobs, ``response_format`` json_schema), honours ``stop`` and ``max_tokens`` the way a
server does, and models time: prefill costs ``prefill_s_per_token`` per prompt token
(serialised: prefill is compute bound), except for a prompt prefix the replica saw
recently (its prefix cache); decode costs ``decode_s_per_token`` per step for all
choices at once (batched). That makes prefix-aware routing measurably better than
routing blind, which is what the pool benchmark shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from orchestrator.errors import BackendUnavailable, ConfigError
from orchestrator.models import guard
from orchestrator.models.openai_wire import (
    WireFormatError,
    chunk_body,
    completion_body,
    error_body,
    request_from_body,
)
from orchestrator.models.protocol import (
    Choice,
    Completion,
    FinishReason,
    GenerateRequest,
    Replica,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.models.sim_metrics import SimulatorSnapshot, TokenCounters, render_metrics
from orchestrator.models.sse import DONE, encode_data
from orchestrator.testing import count_tokens, split_tokens
from orchestrator.usage import TokenUsage


@dataclass(frozen=True)
class LatencyModel:
    """How long a simulated replica takes: prefill per uncached prompt token, decode per step."""

    prefill_s_per_token: float = 0.0
    decode_s_per_token: float = 0.0
    prefix_cache_entries: int = 1024


@dataclass
class Fault:
    """Answer the next ``count`` chat requests with ``status`` (and ``body``, if given)."""

    status: int = 500
    count: int = 1
    message: str = "injected fault"
    body: str | None = None


@dataclass
class SimulatorStats:
    requests: int = 0
    completed: int = 0
    aborted_streams: int = 0
    faults_served: int = 0
    prefix_hits: int = 0
    prefill_tokens: int = 0
    in_flight: int = 0
    tokens: TokenCounters = field(default_factory=TokenCounters)


@dataclass
class _Reply:
    """One choice cut into the tokens the simulator streams, after stop and max_tokens."""

    index: int
    pieces: list[str]
    logprobs: list[TokenLogprob]
    finish_reason: FinishReason

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _cut(choice: Choice, request: GenerateRequest) -> _Reply:
    """Tokens of ``choice`` up to the first stop string and at most ``max_tokens`` of them.

    The backend's logprob tokens are the simulator's tokens when they spell the text;
    otherwise the text is split into word tokens with a logprob of 0.
    """
    text, finish = choice.text, choice.finish_reason
    if choice.logprobs and "".join(lp.token for lp in choice.logprobs) == text:
        logprobs = [_trim(lp, request) for lp in choice.logprobs]
    else:
        logprobs = [TokenLogprob(token=p, logprob=0.0) for p in split_tokens(text)]
    hits = [text.find(s) for s in request.stop or [] if s and s in text]
    if hits:
        room, kept = min(hits), []
        for lp in logprobs:
            if room <= 0:
                break
            kept.append(
                lp if len(lp.token) <= room else lp.model_copy(update={"token": lp.token[:room]})
            )
            room -= len(lp.token)
        logprobs, finish = kept, "stop"
    if len(logprobs) > request.max_tokens:
        logprobs, finish = logprobs[: request.max_tokens], "length"
    return _Reply(choice.index, [lp.token for lp in logprobs], logprobs, finish)


class SimulatorServer:
    """An OpenAI-compatible server on loopback, run in the current event loop.

    ``async with SimulatorServer(ScriptedModel(...)) as sim:`` then point an
    ``OpenAIReplica`` at ``sim.base_url``; the guard lets calls to it through.
    """

    def __init__(
        self,
        backend: Replica,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: LatencyModel | None = None,
        fail_with: Fault | None = None,
        model: str | None = None,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.latency = latency or LatencyModel()
        self.model = model or backend.name
        self.stats = SimulatorStats()
        self._faults: list[Fault] = [fail_with] if fail_with else []
        self._prefixes: OrderedDict[str, None] = OrderedDict()
        self._prefill_lock = asyncio.Lock()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/metrics", self._metrics, methods=["GET"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def inject(self, fault: Fault) -> None:
        """Fail the next ``fault.count`` chat requests (after faults already queued)."""
        self._faults.append(fault)

    # -- lifecycle ------------------------------------------------------------------

    async def start(self, *, handle_signals: bool = False) -> None:
        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config) if handle_signals else _QuietServer(config)
        self._server = server
        # The socket already listens, so clients may connect before serve() runs.
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"sim:{self.port}")
        guard.allow_endpoint(self.base_url)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        guard.disallow_endpoint(self.base_url)
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server, self._task = None, None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- endpoints --------------------------------------------------------------------

    async def _health(self, _: Request) -> Response:
        return Response(status_code=200)

    async def _metrics(self, _: Request) -> Response:
        stats = self.stats
        snapshot = SimulatorSnapshot(
            model=self.model,
            requests=stats.requests,
            running=stats.in_flight,
            faults_served=stats.faults_served,
            aborted_streams=stats.aborted_streams,
            prefix_hits=stats.prefix_hits,
            tokens=stats.tokens,
        )
        body, content_type = render_metrics(snapshot)
        return Response(body, media_type=content_type)

    async def _models(self, _: Request) -> Response:
        entry = {"id": self.model, "object": "model", "created": 0, "owned_by": "breadth.simulator"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def _chat(self, http_request: Request) -> Response:
        self.stats.requests += 1
        if self._faults:
            return self._serve_fault()
        try:
            raw = json.loads(await http_request.body())
            if not isinstance(raw, dict):
                raise WireFormatError("the body must be a JSON object")
            request = request_from_body(raw)
        except (ValueError, ValidationError) as exc:
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        if request.model not in (None, self.model):
            return _error(404, f"The model `{request.model}` does not exist.", "NotFoundError")
        try:
            completion = await self.backend.generate(request)
        except BackendUnavailable as exc:
            return _error(503, str(exc), "ServiceUnavailableError")
        replies = [_cut(c, request) for c in completion.choices]
        usage = TokenUsage(
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=sum(len(r.pieces) for r in replies),
        )
        meta: dict[str, Any] = {
            "completion_id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
        }
        if raw.get("stream"):
            events = self._stream(request, replies, usage, meta)
            return StreamingResponse(events, media_type="text/event-stream")
        self.stats.in_flight += 1
        try:
            await self._prefill(request)
            await self._decode(max((len(r.pieces) for r in replies), default=0))
        finally:
            self.stats.in_flight -= 1
        self.stats.completed += 1
        self.stats.tokens.count(
            usage.prompt_tokens, usage.completion_tokens, [r.finish_reason for r in replies]
        )
        body = Completion(
            choices=[
                Choice(
                    index=r.index,
                    text=r.text,
                    finish_reason=r.finish_reason,
                    logprobs=r.logprobs if request.logprobs else None,
                )
                for r in replies
            ],
            usage=usage,
        )
        return JSONResponse(completion_body(body, model=self.model, **meta))

    async def _stream(
        self,
        request: GenerateRequest,
        replies: list[_Reply],
        usage: TokenUsage,
        meta: dict[str, Any],
    ) -> AsyncIterator[bytes]:
        finished = False
        self.stats.in_flight += 1
        try:
            await self._prefill(request)
            for r in replies:
                yield self._event(meta, chunk=StreamChunk(index=r.index), role=True)
            for step in range(max((len(r.pieces) for r in replies), default=0)):
                await self._decode(1)
                for r in replies:
                    if step < len(r.pieces):
                        chunk = StreamChunk(
                            index=r.index,
                            delta=r.pieces[step],
                            logprobs=r.logprobs[step : step + 1] if request.logprobs else None,
                        )
                        yield self._event(meta, chunk=chunk)
            for r in replies:
                yield self._event(
                    meta, chunk=StreamChunk(index=r.index, finish_reason=r.finish_reason)
                )
            yield self._event(meta, usage=usage)
            yield encode_data(DONE)
            finished = True
            self.stats.completed += 1
            self.stats.tokens.count(
                usage.prompt_tokens, usage.completion_tokens, [r.finish_reason for r in replies]
            )
        finally:
            self.stats.in_flight -= 1
            if not finished:
                self.stats.aborted_streams += 1

    def _event(self, meta: dict[str, Any], **parts: Any) -> bytes:
        return encode_data(json.dumps(chunk_body(model=self.model, **meta, **parts)))

    def _serve_fault(self) -> Response:
        fault = self._faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self._faults.pop(0)
        self.stats.faults_served += 1
        if fault.body is not None:
            return Response(fault.body, status_code=fault.status, media_type="application/json")
        return _error(fault.status, fault.message, "InjectedFault")

    # -- the latency model ----------------------------------------------------------

    async def _prefill(self, request: GenerateRequest) -> None:
        key = request.prefix_key()
        total = sum(count_tokens(m.content) for m in request.messages)
        cached = 0
        if key in self._prefixes:
            self._prefixes.move_to_end(key)
            self.stats.prefix_hits += 1
            head = request.messages[: max(len(request.messages) - 1, 1)]
            cached = min(total, sum(count_tokens(m.content) for m in head))
        else:
            self._prefixes[key] = None
            while len(self._prefixes) > self.latency.prefix_cache_entries:
                self._prefixes.popitem(last=False)
        self.stats.prefill_tokens += total - cached
        seconds = (total - cached) * self.latency.prefill_s_per_token
        if seconds > 0:
            async with self._prefill_lock:
                await asyncio.sleep(seconds)

    async def _decode(self, steps: int) -> None:
        seconds = steps * self.latency.decode_s_per_token
        if seconds > 0:
            await asyncio.sleep(seconds)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handlers alone (it runs inside someone's loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        raise ConfigError(
            f"the simulator cannot listen on {host}:{port} ({exc}); pick another port "
            f"(--port, 0 picks a free one) or stop whatever is using it"
        ) from None
    sock.setblocking(False)
    return sock


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(error_body(message, kind=kind, status=status), status_code=status)


def _trim(lp: TokenLogprob, request: GenerateRequest) -> TokenLogprob:
    top = dict(list(lp.top_logprobs.items())[: request.top_logprobs])
    return lp.model_copy(update={"top_logprobs": top})


def serve_simulator(
    host: str = "127.0.0.1", port: int = 8000, *, latency: LatencyModel | None = None
) -> None:
    """Serve the simulator with its default deterministic writer until Ctrl-C."""
    from orchestrator.models.sim_writer import default_backend

    async def serve() -> None:
        sim = SimulatorServer(
            default_backend(),
            host=host,
            port=port,
            latency=latency or LatencyModel(prefill_s_per_token=0.0002, decode_s_per_token=0.01),
        )
        await sim.start(handle_signals=True)
        print(f"breadth simulator: OpenAI API at {sim.base_url} (Ctrl-C stops it)", flush=True)
        await sim.wait_closed()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
