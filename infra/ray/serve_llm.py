"""A Ray Serve LLM app: vLLM replicas behind an OpenAI-compatible API, for breadth's --model-url.

Ray Serve's LLM library (`pip install "ray[serve,llm]"` on the cluster, vLLM on GPU nodes)
builds the app with `build_openai_app`; its deployments route requests with Ray Serve's
prefix-cache-aware router. Run it on a Ray cluster with GPUs:

    serve run --app-dir infra/ray serve_llm:app        # or: serve run infra/ray/serve_llm.yaml

then point breadth at it: `breadth research "..." --model-url http://HEAD:8000/v1
--model-name breadth-llm`. `serve_llm.yaml` is the same app as a Serve config file, and
`infra/kuberay/rayservice.yaml` deploys it on Kubernetes.
"""

from __future__ import annotations

import os

from ray.serve.llm import LLMConfig, build_openai_app

MODEL_ID = "breadth-llm"
MODEL_SOURCE = os.environ.get("BREADTH_VLLM_MODEL", "Qwen/Qwen2.5-7B-Instruct")

llm_config = LLMConfig(
    model_loading_config={"model_id": MODEL_ID, "model_source": MODEL_SOURCE},
    engine_kwargs={
        "enable_prefix_caching": True,
        "max_model_len": 16384,
        # Speculative decoding: n-gram lookup drafts, no draft model to load.
        "speculative_config": {
            "method": "ngram",
            "num_speculative_tokens": 4,
            "prompt_lookup_max": 4,
        },
    },
    deployment_config={
        "autoscaling_config": {"min_replicas": 4, "max_replicas": 8},
        "request_router_config": {
            "request_router_class": "ray.serve.llm.request_router.PrefixCacheAffinityRouter",
        },
    },
)

app = build_openai_app({"llm_configs": [llm_config]})
