"""``build_model``: the embedded model without URLs, a pool with them; bad URLs fail early."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError
from orchestrator.models import llama_local
from orchestrator.models.factory import build_model
from orchestrator.models.llama_local import LlamaCppReplica
from orchestrator.models.openai_http import OpenAIReplica
from orchestrator.models.pool import ModelPool


async def test_no_urls_means_the_embedded_model_unloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "SmolLM2.gguf"
    weights.write_bytes(b"")
    monkeypatch.setattr(llama_local, "require_llama_cpp", lambda: None)
    monkeypatch.setattr(llama_local, "locate_gguf", lambda: weights)
    model = build_model([])
    assert isinstance(model, LlamaCppReplica)
    assert model.model_path == weights
    await model.aclose()  # nothing was loaded, so nothing to release


async def test_urls_make_a_pool_without_connecting() -> None:
    # Port 9 (discard) has no server: construction must not notice.
    model = build_model(
        ["http://127.0.0.1:9", "http://127.0.0.1:9/v1/", "http://127.0.0.2:9/v1"],
        model_name="served-model",
    )
    try:
        assert isinstance(model, ModelPool)
        replicas = model.replicas
        assert all(isinstance(r, OpenAIReplica) for r in replicas)
        assert [r.base_url for r in replicas if isinstance(r, OpenAIReplica)] == [
            "http://127.0.0.1:9/v1",
            "http://127.0.0.2:9/v1",
        ]
        first = replicas[0]
        assert isinstance(first, OpenAIReplica)
        assert await first.model_name() == "served-model"
        assert [s.outstanding for s in model.stats()] == [0, 0]
    finally:
        await model.aclose()


def test_a_bad_url_is_named_with_the_rule_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        build_model(["localhost:8000"])
    message = str(caught.value)
    assert "'localhost:8000'" in message
    assert "http(s)://host[:port][/path]" in message
    assert "'http://localhost:8000'" in message


def test_every_bad_url_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        build_model(["http://ok:8000/v1", "localhost:8000", "ftp://gpu-2/v1"])
    message = str(caught.value)
    assert "'localhost:8000'" in message and "'ftp://gpu-2/v1'" in message
    assert "'http://ok:8000/v1'" not in message
