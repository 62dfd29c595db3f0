"""The Ray Serve LLM app and the KubeRay manifests parse and fit together.

No Kubernetes, GPU or Ray Serve here: the checks read the files only (the Serve app's
Python is parsed, not imported).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from orchestrator.graph.spec import GraphSpec

INFRA = Path(__file__).resolve().parent.parent / "infra"
ROUTER = "ray.serve.llm.request_router.PrefixCacheAffinityRouter"


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def check_llm_app(app: dict[str, Any]) -> dict[str, Any]:
    """One Serve application: Ray Serve LLM's OpenAI app over vLLM with the prefix router."""
    assert app["import_path"] == "ray.serve.llm:build_openai_app"
    (config,) = app["args"]["llm_configs"]
    assert config["model_loading_config"]["model_id"] == "breadth-llm"
    assert config["model_loading_config"]["model_source"]
    assert config["engine_kwargs"]["enable_prefix_caching"] is True
    assert config["engine_kwargs"]["speculative_config"]["num_speculative_tokens"] >= 1
    deployment = config["deployment_config"]
    assert deployment["request_router_config"]["request_router_class"] == ROUTER
    scaling = deployment["autoscaling_config"]
    assert 1 <= scaling["min_replicas"] <= scaling["max_replicas"]
    return config


def test_serve_config_is_the_llm_app_on_port_8000() -> None:
    (config,) = documents(INFRA / "ray" / "serve_llm.yaml")
    assert config["http_options"]["port"] == 8000
    (app,) = config["applications"]
    check_llm_app(app)


def test_serve_app_module_builds_the_same_app() -> None:
    source = (INFRA / "ray" / "serve_llm.py").read_text()
    tree = ast.parse(source)
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "ray.serve.llm"
        for alias in node.names
    }
    assert {"LLMConfig", "build_openai_app"} <= imported
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"LLMConfig", "build_openai_app"} <= calls
    assigned = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "app" in assigned  # `serve run --app-dir infra/ray serve_llm:app`
    assert ROUTER in source and '"breadth-llm"' in source


def test_rayservice_serves_the_llm_app_on_gpu_workers() -> None:
    (service,) = documents(INFRA / "kuberay" / "rayservice.yaml")
    assert service["apiVersion"] == "ray.io/v1" and service["kind"] == "RayService"
    serve = yaml.safe_load(service["spec"]["serveConfigV2"])
    (app,) = serve["applications"]
    check_llm_app(app)
    cluster = service["spec"]["rayClusterConfig"]
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert 8000 in {port["containerPort"] for port in head["ports"]}
    (gpu,) = cluster["workerGroupSpecs"]
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert int(limits["nvidia.com/gpu"]) >= 1
    assert gpu["minReplicas"] <= gpu["replicas"] <= gpu["maxReplicas"]
    name = service["metadata"]["name"]
    assert (
        f"--model-url http://{name}-serve-svc:8000/v1"
        in (INFRA / "kuberay" / "rayservice.yaml").read_text()
    )


def test_raycluster_job_runs_breadth_on_the_cluster() -> None:
    objects = documents(INFRA / "kuberay" / "raycluster.yaml")
    kinds = {obj["kind"]: obj for obj in objects}
    assert set(kinds) == {"RayCluster", "Job", "ConfigMap"}
    cluster = kinds["RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1"
    groups = {g["groupName"]: g for g in cluster["spec"]["workerGroupSpecs"]}
    assert {"cpu", "gpu"} <= set(groups)
    for group in groups.values():
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    (container,) = kinds["Job"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "research"
    assert args[args.index("--executor") + 1] == "ray"
    host, port = args[args.index("--ray-address") + 1].split(":")
    assert host == f"{cluster['metadata']['name']}-head-svc"
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert int(port) in {p["containerPort"] for p in head["ports"] if p["name"] == "gcs-server"}
    redis = urlsplit(args[args.index("--redis-url") + 1])
    redis_services = [
        doc["metadata"]["name"]
        for doc in documents(INFRA / "k8s" / "redis.yaml")
        if doc["kind"] == "Service"
    ]
    assert redis.hostname in redis_services
    graph_path = Path(args[args.index("--graph") + 1])
    (mount,) = container["volumeMounts"]
    assert graph_path.parent == Path(mount["mountPath"])
    graphs = kinds["ConfigMap"]["data"]
    spec = GraphSpec.model_validate(yaml.safe_load(graphs[graph_path.name]))
    fleet = spec.models["default"].ray
    assert fleet is not None and fleet.engine == "vllm" and fleet.replicas == 4
    assert "speculative_config" in fleet.engine_kwargs
