"""What an operator chooses for a run: model servers, store, namespace, corpus, executor.

``Settings`` is plain, serializable data. The composition root (``orchestrator.app``)
builds every collaborator of a job from it, so another process (a worker, a Ray task)
that gets the same settings rebuilds the same context.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ExecutorName = Literal["local", "ray"]

MODEL_URLS_ENV = "BREADTH_MODEL_URLS"
REDIS_URL_ENV = "BREADTH_REDIS_URL"
OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


class Settings(BaseModel):
    """The settings a job's collaborators are built from (flags, else the environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_urls: tuple[str, ...] = Field(
        default=(), description="OpenAI-compatible servers; empty: the embedded model."
    )
    model_name: str | None = Field(default=None, description="Served model name to ask for.")
    redis_url: str | None = Field(default=None, description="Redis server; None: embedded.")
    namespace: str = Field(default="breadth", description="Prefix of every key in the store.")
    data_dir: str | None = Field(
        default=None, description="Folder of the embedded store (default: $BREADTH_HOME)."
    )
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP trace collector.")
    corpus: str | None = Field(
        default=None, description="Default corpus folder of jobs that name none (None: built-in)."
    )
    executor: ExecutorName = Field(default="local", description="Where tasks run.")
    ray_address: str | None = Field(default=None, description="Ray cluster to join (ray).")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment; ``overrides`` that are not None or empty win."""
        values: dict[str, Any] = {
            "model_urls": model_urls_from_env(),
            "redis_url": os.environ.get(REDIS_URL_ENV) or None,
            "otlp_endpoint": os.environ.get(OTLP_ENV) or None,
        }
        for key, value in overrides.items():
            if value not in (None, [], (), ""):
                values[key] = tuple(value) if isinstance(value, list) else value
        return cls.model_validate(values)


def model_urls_from_env() -> tuple[str, ...]:
    """``$BREADTH_MODEL_URLS``, comma-separated."""
    raw = os.environ.get(MODEL_URLS_ENV, "")
    return tuple(url.strip() for url in raw.split(",") if url.strip())
