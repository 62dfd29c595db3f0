"""A model served by replicas in Ray actors: the ``ray:`` entry of a graph's ``models:``.

```yaml
models:
  fleet:
    ray: {replicas: 4, engine: vllm, model: Qwen/Qwen2.5-7B-Instruct,
          engine_kwargs: {speculative_config: {method: ngram, num_speculative_tokens: 4}}}
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EngineName = Literal["vllm", "llama_cpp", "simulator"]


class RayFleetSpec(BaseModel):
    """Replicas of one model, each an actor on the Ray cluster hosting an engine."""

    model_config = ConfigDict(extra="forbid")

    replicas: int = Field(default=1, ge=1, le=1024, description="How many replica actors.")
    engine: EngineName = Field(
        default="vllm",
        description=(
            "vllm: vLLM's async engine (GPU nodes, `pip install vllm`); llama_cpp: the "
            "embedded SmolLM2 on llama.cpp (CPU); simulator: breadth's simulated engine."
        ),
    )
    model: str | None = Field(
        default=None,
        description="What the engine loads: a Hugging Face id or path (vllm), a GGUF file "
        "(llama_cpp; default SmolLM2), the served name (simulator).",
    )
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Passed to the engine as they are: vLLM's AsyncEngineArgs (tensor_parallel_size, "
            "enable_prefix_caching, speculative_config, ...), LlamaCppReplica's (n_ctx, "
            "threads), or the simulator's latency model (prefill_s_per_token, ...)."
        ),
    )
    num_gpus: float | None = Field(
        default=None,
        ge=0,
        description="GPUs per replica actor; default: tensor_parallel_size for vllm, else 0.",
    )
    num_cpus: float = Field(default=1.0, ge=0, description="CPUs per replica actor.")
    ready_timeout_s: float = Field(
        default=900.0, gt=0, description="How long a replica may take to start (load weights)."
    )

    @model_validator(mode="after")
    def _vllm_needs_a_model(self) -> RayFleetSpec:
        if self.engine == "vllm" and not self.model:
            raise ValueError(
                "a vllm fleet needs the model to load: set ray.model (a Hugging Face id or a "
                "path, e.g. Qwen/Qwen2.5-7B-Instruct)"
            )
        return self

    def gpus(self) -> float:
        """GPUs each replica actor asks Ray for."""
        if self.num_gpus is not None:
            return self.num_gpus
        if self.engine == "vllm":
            return float(self.engine_kwargs.get("tensor_parallel_size", 1))
        return 0.0
