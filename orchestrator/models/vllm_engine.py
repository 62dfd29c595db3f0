"""vLLM's async engine in this process, as a ``Replica``: what a GPU Ray replica hosts.

``AsyncLLMEngine`` (in vLLM's V1 engine an alias of ``vllm.v1.engine.async_llm.AsyncLLM``)
is built from ``AsyncEngineArgs(model=..., **engine_kwargs)``, so anything vLLM takes
passes through as it is: ``tensor_parallel_size``, ``enable_prefix_caching``,
``speculative_config`` (speculative decoding is one line of YAML), ... Chat messages go
through the model's chat template; ``generate(prompt, sampling_params, request_id)``
yields cumulative ``RequestOutput``s, whose last one is the completion.

Not exercised by the test suite: the machines it runs on have no GPU. A missing vLLM
fails the replica with the command to install it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from orchestrator.errors import BackendUnavailable, MissingExtra
from orchestrator.models.protocol import (
    Choice,
    Completion,
    FinishReason,
    GenerateRequest,
    StreamChunk,
    TokenLogprob,
)
from orchestrator.usage import TokenUsage


def _vllm(what: str) -> Any:
    try:
        import vllm
    except ImportError:
        raise MissingExtra(what, "vllm", command="pip install vllm (on the GPU nodes)") from None
    return vllm


def _finish(reason: str | None) -> FinishReason:
    return "length" if reason == "length" else "abort" if reason == "abort" else "stop"


class VLLMEngine:
    """One vLLM engine: loads ``model`` with ``engine_kwargs`` (vLLM's ``AsyncEngineArgs``)."""

    def __init__(self, model: str, *, name: str, engine_kwargs: Mapping[str, Any]) -> None:
        vllm = _vllm(f"replica {name!r} (engine vllm)")
        self.name = name
        self.model = model
        self._vllm = vllm
        args = vllm.AsyncEngineArgs(model=model, **dict(engine_kwargs))
        self._engine = vllm.AsyncLLMEngine.from_engine_args(args)

    async def _prompt(self, request: GenerateRequest) -> str:
        tokenizer = await self._engine.get_tokenizer()
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt: str = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return prompt

    def _sampling(self, request: GenerateRequest) -> Any:
        options: dict[str, Any] = {
            "n": request.n,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
            "stop": request.stop,
            "seed": request.seed,
        }
        if request.logprobs:
            # vLLM returns the sampled token's logprob plus this many alternatives.
            options["logprobs"] = max(request.top_logprobs, 1)
        if request.json_schema is not None:
            options.update(self._structured(request.json_schema))
        return self._vllm.SamplingParams(**options)

    def _structured(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Guided JSON decoding, in the newer (``structured_outputs``) or older API."""
        params = self._vllm.sampling_params
        if hasattr(params, "StructuredOutputsParams"):
            return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
        return {"guided_decoding": params.GuidedDecodingParams(json=schema)}

    def _logprobs(self, output: Any, top: int) -> list[TokenLogprob] | None:
        if not output.logprobs:
            return None
        tokens = []
        for token_id, alternatives in zip(output.token_ids, output.logprobs, strict=False):
            chosen = alternatives[token_id]
            ranked = sorted(alternatives.values(), key=lambda lp: lp.logprob, reverse=True)
            tokens.append(
                TokenLogprob(
                    token=chosen.decoded_token or "",
                    logprob=float(chosen.logprob),
                    top_logprobs={lp.decoded_token or "": float(lp.logprob) for lp in ranked[:top]},
                )
            )
        return tokens

    async def _outputs(self, request: GenerateRequest) -> AsyncIterator[Any]:
        request_id = f"breadth-{uuid.uuid4().hex}"
        generator = self._engine.generate(
            await self._prompt(request), self._sampling(request), request_id
        )
        finished = False
        try:
            async for output in generator:
                yield output
            finished = True
        except Exception as exc:
            raise BackendUnavailable(
                f"replica {self.name!r} (vLLM, model {self.model!r}) failed: {exc}",
                retryable=True,
            ) from None
        finally:
            if not finished:
                await self._engine.abort(request_id)

    @staticmethod
    def _usage(output: Any) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=len(output.prompt_token_ids or []),
            completion_tokens=sum(len(o.token_ids) for o in output.outputs),
        )

    async def generate(self, request: GenerateRequest) -> Completion:
        final = None
        async for output in self._outputs(request):
            final = output
        if final is None:
            raise BackendUnavailable(f"replica {self.name!r} (vLLM) returned no output")
        choices = [
            Choice(
                index=o.index,
                text=o.text,
                finish_reason=_finish(o.finish_reason),
                logprobs=self._logprobs(o, request.top_logprobs) if request.logprobs else None,
            )
            for o in sorted(final.outputs, key=lambda o: o.index)
        ]
        return Completion(
            choices=choices, usage=self._usage(final), model=self.model, replica=self.name
        )

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamChunk]:
        sent: dict[int, int] = {}
        ended: set[int] = set()
        final = None
        async for output in self._outputs(request):
            final = output
            for o in output.outputs:
                start = sent.get(o.index, 0)
                if len(o.text) > start:
                    yield StreamChunk(index=o.index, delta=o.text[start:])
                    sent[o.index] = len(o.text)
                if o.finish_reason is not None and o.index not in ended:
                    ended.add(o.index)
                    yield StreamChunk(index=o.index, finish_reason=_finish(o.finish_reason))
        if final is not None:
            yield StreamChunk(usage=self._usage(final))

    async def aclose(self) -> None:
        shutdown = getattr(self._engine, "shutdown", None)
        if shutdown is not None:
            shutdown()
