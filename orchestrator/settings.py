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
# How the python tool isolates code: bubblewrap, or (the operator's explicit, unsafe
# choice) not at all.
PythonSandbox = Literal["bubblewrap", "unsafe-none"]

MODEL_URLS_ENV = "BREADTH_MODEL_URLS"
REDIS_URL_ENV = "BREADTH_REDIS_URL"
FETCH_ALLOW_ENV = "BREADTH_FETCH_ALLOW"
OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTLP_TRACES_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
# The OpenTelemetry switches that turn tracing off whatever the endpoints say.
OTEL_SDK_DISABLED_ENV = "OTEL_SDK_DISABLED"
OTEL_TRACES_EXPORTER_ENV = "OTEL_TRACES_EXPORTER"


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
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector's base URL (/v1/traces is added)."
    )
    otlp_traces_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces URL, used as is (wins over otlp_endpoint)."
    )
    corpus: str | None = Field(
        default=None, description="Default corpus folder of jobs that name none (None: built-in)."
    )
    executor: ExecutorName = Field(default="local", description="Where tasks run.")
    ray_address: str | None = Field(default=None, description="Ray cluster to join (ray).")
    fetch_allow: tuple[str, ...] = Field(
        default=(),
        description="Private hosts/networks the fetch tool may reach anyway (host, IP, CIDR, "
        "optionally :port); default: public addresses only.",
    )
    python_sandbox: PythonSandbox = Field(
        default="bubblewrap",
        description="Isolation of the python tool; 'unsafe-none' runs model code unisolated.",
    )
    cache: bool = Field(
        default=False, description="Reuse model and tool call results across jobs (--cache)."
    )
    cache_sampled: bool = Field(
        default=False, description="Also reuse sampled model calls that have no seed."
    )
    replay_of: str | None = Field(
        default=None, description="Answer every call from this job's recording (replay)."
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment; ``overrides`` that are not None or empty win."""
        values: dict[str, Any] = {
            "model_urls": model_urls_from_env(),
            "redis_url": os.environ.get(REDIS_URL_ENV) or None,
            "otlp_endpoint": os.environ.get(OTLP_ENV) or None,
            "otlp_traces_endpoint": os.environ.get(OTLP_TRACES_ENV) or None,
            "fetch_allow": _comma_list(os.environ.get(FETCH_ALLOW_ENV, "")),
        }
        if _tracing_switched_off():
            values["otlp_endpoint"] = values["otlp_traces_endpoint"] = None
        for key, value in overrides.items():
            if value not in (None, [], (), ""):
                values[key] = tuple(value) if isinstance(value, list) else value
        return cls.model_validate(values)

    @property
    def traced(self) -> bool:
        """Whether jobs export traces (an OTLP endpoint is set)."""
        return self.otlp_endpoint is not None or self.otlp_traces_endpoint is not None


def _tracing_switched_off() -> bool:
    disabled = os.environ.get(OTEL_SDK_DISABLED_ENV, "").strip().lower() == "true"
    return disabled or os.environ.get(OTEL_TRACES_EXPORTER_ENV, "").strip().lower() == "none"


def model_urls_from_env() -> tuple[str, ...]:
    """``$BREADTH_MODEL_URLS``, comma-separated."""
    return _comma_list(os.environ.get(MODEL_URLS_ENV, ""))


def _comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())
