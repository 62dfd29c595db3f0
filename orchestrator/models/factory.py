"""Build the model a job runs on from what the user gave: server URLs, or nothing.

No URLs means the embedded SmolLM2 model; URLs mean a ``ModelPool`` over
OpenAI-compatible servers (vLLM, llama.cpp's server, a provider, the simulator).
Construction only validates: nothing connects and nothing loads until the first call.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from orchestrator.errors import ConfigError
from orchestrator.models.openai_http import OpenAIReplica, validate_model_url
from orchestrator.models.pool import ModelPool
from orchestrator.models.protocol import Replica

API_KEY_ENV = "BREADTH_MODEL_API_KEY"


def build_model(
    urls: Sequence[str],
    *,
    model_name: str | None = None,
    api_key: str | None = None,
) -> Replica:
    """The embedded model when ``urls`` is empty, else a pool over those servers.

    Every URL is checked first, and all bad ones are reported together (``ConfigError``).
    ``api_key`` defaults to ``$BREADTH_MODEL_API_KEY``; ``model_name`` to each server's
    first listed model.
    """
    if not urls:
        from orchestrator.models.llama_local import LlamaCppReplica

        return LlamaCppReplica()
    roots: list[str] = []
    problems: list[str] = []
    for url in urls:
        try:
            root = validate_model_url(url)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if root not in roots:
            roots.append(root)
    if problems:
        raise ConfigError("\n".join(problems))
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    replicas = [OpenAIReplica(root, model=model_name, api_key=key) for root in roots]
    return ModelPool(replicas, name="models")
