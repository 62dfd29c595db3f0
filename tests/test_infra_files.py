"""The deployment files parse, and their pieces refer to each other correctly.

No Docker, Kubernetes or Ray here: the checks read the files only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

INFRA = Path(__file__).resolve().parent.parent / "infra"
YAML_FILES = sorted([*INFRA.rglob("*.yaml"), *INFRA.rglob("*.yml")])
K8S_FILES = sorted((INFRA / "k8s").glob("*.yaml"))


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    (spec,) = documents(INFRA / "docker-compose.yaml")
    assert isinstance(spec, dict)
    return spec


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in K8S_FILES for doc in documents(path)]


def test_there_are_files_to_check() -> None:
    names = {path.relative_to(INFRA).as_posix() for path in YAML_FILES}
    assert {"docker-compose.yaml", "ray/cluster.yaml"} <= names
    assert len(K8S_FILES) >= 4


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_yaml_file_parses(path: Path) -> None:
    assert documents(path), f"{path} holds no YAML document"


def test_compose_has_the_stack_with_its_ports() -> None:
    services = compose()["services"]
    assert {"redis", "jaeger", "vllm-1", "vllm-2", "breadth"} <= set(services)
    published = {
        name: {str(port).split(":")[-1] for port in service.get("ports", [])}
        for name, service in services.items()
    }
    assert "6379" in published["redis"]
    assert {"4318", "16686"} <= published["jaeger"]
    for replica in ("vllm-1", "vllm-2"):
        assert services[replica]["image"].startswith("vllm/vllm-openai:")
        assert "--model" in services[replica]["command"]
        assert "8000" in published[replica]
    host_ports = [
        str(port).split(":")[0]
        for service in services.values()
        for port in service.get("ports", [])
    ]
    assert len(host_ports) == len(set(host_ports)), f"a host port is published twice: {host_ports}"


def test_compose_breadth_service_points_at_the_other_services() -> None:
    services = compose()["services"]
    breadth = services["breadth"]
    env = breadth["environment"]
    assert urlsplit(env["BREADTH_REDIS_URL"]).hostname == "redis"
    otlp = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert (otlp.hostname, otlp.port) == ("jaeger", 4318)
    default_models = re.fullmatch(r"\$\{BREADTH_MODEL_URLS:-(.+)\}", env["BREADTH_MODEL_URLS"])
    assert default_models is not None
    for url in default_models.group(1).split(","):
        parts = urlsplit(url)
        assert parts.hostname in services and parts.path == "/v1", url
    assert set(breadth["depends_on"]) <= set(services)
    dockerfile = INFRA.parent / breadth["build"]["context"].removeprefix("..").lstrip("/")
    assert (dockerfile / breadth["build"]["dockerfile"]).is_file()


def test_dockerfile_builds_from_python_311_slim_and_copies_existing_paths() -> None:
    lines = (INFRA / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines
    for line in lines:
        if line.startswith("COPY "):
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (INFRA.parent / source).exists(), f"Dockerfile copies missing {source!r}"
    assert 'ENTRYPOINT ["breadth"]' in lines


def test_ray_gcs_port_is_not_redis_port() -> None:
    (cluster,) = documents(INFRA / "ray" / "cluster.yaml")
    head = " ".join(cluster["head_start_ray_commands"])
    workers = " ".join(cluster["worker_start_ray_commands"])
    head_port = re.search(r"ray start --head\b.*?--port[= ](\d+)", head)
    assert head_port is not None, "the head must set --port (Ray's default GCS port is 6379)"
    assert head_port.group(1) != "6379"
    assert f"$RAY_HEAD_IP:{head_port.group(1)}" in workers
    assert cluster["provider"]["type"] and cluster["cluster_name"] == "breadth"


def test_k8s_objects_are_complete() -> None:
    objects = k8s_objects()
    assert objects
    for obj in objects:
        assert obj.get("apiVersion") and obj.get("kind"), obj
        assert obj.get("metadata", {}).get("name"), obj
    kinds = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
    assert {("Service", "redis"), ("Service", "jaeger"), ("Service", "vllm")} <= kinds
    assert {("Deployment", "redis"), ("Deployment", "jaeger"), ("StatefulSet", "vllm")} <= kinds


def _workloads() -> list[dict[str, Any]]:
    return [o for o in k8s_objects() if o["kind"] in ("Deployment", "StatefulSet", "Job")]


def test_k8s_services_select_pods_and_name_their_ports() -> None:
    workloads = _workloads()
    for service in (o for o in k8s_objects() if o["kind"] == "Service"):
        selector = service["spec"]["selector"]
        matching = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matching, f"Service {service['metadata']['name']!r} selects no pods"
        port_names = {
            port["name"]
            for w in matching
            for container in w["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, (service["metadata"]["name"], port)
    for workload in workloads:
        selector = workload["spec"].get("selector", {}).get("matchLabels")
        if selector:
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), workload["metadata"]["name"]


def test_k8s_breadth_settings_point_at_the_cluster_services() -> None:
    objects = k8s_objects()
    (config,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "breadth"
    ]
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    env = config["data"]
    assert urlsplit(env["BREADTH_REDIS_URL"]).hostname in services
    assert urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"]).hostname in services
    (vllm,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "vllm"]
    replica_hosts = {
        f"vllm-{i}.{vllm['spec']['serviceName']}" for i in range(vllm["spec"]["replicas"])
    }
    model_hosts = {urlsplit(url).hostname for url in env["BREADTH_MODEL_URLS"].split(",")}
    assert model_hosts == replica_hosts
    (job,) = [o for o in objects if o["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "breadth"}}]
    assert container["args"][0] == "research"


def test_readme_describes_every_file() -> None:
    readme = (INFRA / "README.md").read_text()
    for path in sorted(INFRA.rglob("*")):
        if path.is_file() and path.name != "README.md" and "corpus" not in path.parts:
            assert f"`{path.relative_to(INFRA).as_posix()}`" in readme, path


# Tracing: Jaeger v2 with OTLP on both ports, and every breadth process sending to it.


def _ports(service: dict[str, Any]) -> set[str]:
    return {str(port).split(":")[-1] for port in service.get("ports", [])}


def test_compose_jaeger_is_v2_with_otlp_grpc_http_and_the_ui() -> None:
    jaeger = compose()["services"]["jaeger"]
    image = re.fullmatch(
        r"jaegertracing/jaeger:\$\{JAEGER_VERSION:-(\d+)\.\d+\.\d+\}", jaeger["image"]
    )
    assert image is not None and image.group(1) == "2", jaeger["image"]
    assert {"4317", "4318", "16686"} <= _ports(jaeger)


def test_compose_service_workers_and_cli_send_traces_to_jaeger_each_under_its_name() -> None:
    services = compose()["services"]
    names = set()
    for role in ("api", "worker", "breadth"):
        env = services[role]["environment"]
        otlp = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert (otlp.hostname, otlp.port) == ("jaeger", 4318), role
        assert env["OTEL_SEMCONV_STABILITY_OPT_IN"] == "gen_ai_latest_experimental"
        assert urlsplit(env["BREADTH_JAEGER_URL"]).port == 16686
        assert "jaeger" in services[role]["depends_on"]
        names.add(env["OTEL_SERVICE_NAME"])
    assert names == {"breadth-api", "breadth-worker", "breadth-cli"}
    assert services["api"]["command"][0] == "serve" and "8080" in _ports(services["api"])
    assert services["worker"]["command"][0] == "worker"


def test_k8s_jaeger_is_v2_and_its_service_exposes_otlp_and_the_ui() -> None:
    objects = k8s_objects()
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "jaeger"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", container["image"])
    assert {p["containerPort"] for p in container["ports"]} >= {4317, 4318, 16686}
    (service,) = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "jaeger"
    ]
    assert {p["port"] for p in service["spec"]["ports"]} == {4317, 4318, 16686}


def test_k8s_service_and_workers_take_the_settings_and_name_themselves_in_traces() -> None:
    objects = k8s_objects()
    (config,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "breadth"
    ]
    assert config["data"]["OTEL_SEMCONV_STABILITY_OPT_IN"] == "gen_ai_latest_experimental"
    jaeger_port = urlsplit(config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]).port
    (jaeger,) = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "jaeger"]
    assert jaeger_port in {p["port"] for p in jaeger["spec"]["ports"] if p["name"] == "otlp-http"}
    roles = {}
    for name in ("breadth-api", "breadth-worker"):
        (deployment,) = [
            o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name
        ]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": "breadth"}}]
        env = {item["name"]: item["value"] for item in container["env"]}
        roles[container["args"][0]] = env["OTEL_SERVICE_NAME"]
    assert roles == {"serve": "breadth-api", "worker": "breadth-worker"}
    assert ("Service", "breadth-api") in {(o["kind"], o["metadata"]["name"]) for o in objects}
