"""The composition root: builds the pieces a job runs on from the user's settings.

This is the one place that knows every implementation (built-in ops from ``agents``,
tools from ``tools``, the store, the model backends); everything below it is handed
its collaborators.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.executors.base import Executor
from orchestrator.graph.context import OpRegistry
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.factory import build_model
from orchestrator.models.protocol import Replica
from orchestrator.runner import EventListener, run_job
from orchestrator.store.base import Store
from orchestrator.store.factory import open_store


def builtin_ops() -> OpRegistry:
    """The op registry with every built-in op (plan, research, synthesize, ...)."""
    from agents.ops import register_builtin_ops

    registry = OpRegistry()
    register_builtin_ops(registry)
    return registry


def builtin_tool_names() -> list[str]:
    return ["search", "read"]


def model_urls_from_env() -> list[str]:
    raw = os.environ.get("BREADTH_MODEL_URLS", "")
    return [url.strip() for url in raw.split(",") if url.strip()]


@dataclass
class Settings:
    """What a user chooses on the command line (or in the environment)."""

    model_urls: list[str]
    model_name: str | None = None
    redis_url: str | None = None
    namespace: str = "breadth"
    data_dir: Path | None = None
    otlp_endpoint: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        settings = cls(
            model_urls=model_urls_from_env(),
            redis_url=os.environ.get("BREADTH_REDIS_URL") or None,
            otlp_endpoint=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
        )
        for key, value in overrides.items():
            if value not in (None, [], ""):
                setattr(settings, key, value)
        return settings


async def open_settings_store(settings: Settings) -> Store:
    return await open_store(
        settings.redis_url, namespace=settings.namespace, data_dir=settings.data_dir
    )


def build_settings_model(settings: Settings) -> Replica:
    model = build_model(settings.model_urls, model_name=settings.model_name)
    if settings.otlp_endpoint:
        from orchestrator.tracing import InstrumentedReplica

        return InstrumentedReplica(model)
    return model


async def research(
    request: JobRequest,
    settings: Settings,
    *,
    store: Store,
    resume: str | None = None,
    listeners: list[EventListener] | None = None,
    on_start: object = None,
) -> JobRecord:
    """Run a research job with the built-in ops, tools over the chosen corpus, and the model."""
    from orchestrator.executors.local import LocalExecutor
    from tools.builtin import corpus_tools
    from tools.corpus import Corpus

    corpus_dir = request.corpus
    if resume is not None:
        stored = await store.get_job(resume)
        if stored is not None:
            corpus_dir = corpus_dir or stored.request.corpus
    corpus = Corpus.load_folder(Path(corpus_dir)) if corpus_dir else Corpus.builtin()
    tools = corpus_tools(corpus)
    model = build_settings_model(settings)
    executor: Executor = LocalExecutor()
    ops = builtin_ops()
    tracing: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if settings.otlp_endpoint:
        # Tracing wraps the seams: job span → node spans → task spans → LLM call spans.
        from orchestrator.tracing import instrument_executor, instrument_ops, span

        executor = instrument_executor(executor)
        ops = instrument_ops(ops)
        attributes = {"breadth.graph": request.graph, "breadth.resume": resume}
        tracing = span("job", tracer_provider=None, **attributes)
    try:
        with tracing:
            return await run_job(
                request,
                store=store,
                model=model,
                executor=executor,
                ops=ops,
                tools=tools,
                known_tools=builtin_tool_names(),
                resume=resume,
                listeners=listeners,
                on_start=on_start if callable(on_start) else None,
            )
    finally:
        await executor.aclose()
        await model.aclose()
