"""Project 05's compose files, validated by the real Compose binary (no engine needed)."""

from __future__ import annotations

import json
import re

import httpx
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from compose_config import compose_services
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "05-fraud-ensemble"


def test_base_file_trains_the_models_then_serves_them_on_any_host():
    services = compose_services(PROJECT, "docker-compose.yml")
    assert {"model-build", "triton", "api", "prometheus", "grafana"} <= set(services)
    assert services["triton"]["depends_on"]["model-build"]["condition"] == "service_completed_successfully"
    assert services["api"]["environment"]["FRAUD_ENSEMBLE_TRITON_URL"] == "triton:8001"
    assert "--model-control-mode=explicit" in services["triton"]["command"]


def test_gpu_override_puts_triton_on_the_gpu():
    services = compose_services(PROJECT, "docker-compose.yml", "compose.gpu.yaml")
    assert services["triton"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_the_cpu_configs_differ_from_the_gpu_configs_only_in_the_device():
    for voter in ("fraud_gbm", "fraud_logreg", "fraud_mlp"):
        folder = PROJECT / "model_repository" / voter
        gpu = text_format.Parse((folder / "config.pbtxt").read_text(), mc.ModelConfig())
        cpu = text_format.Parse((folder / "configs" / "cpu.pbtxt").read_text(), mc.ModelConfig())
        assert {g.kind for g in cpu.instance_group} == {mc.ModelInstanceGroup.KIND_CPU}
        for group in cpu.instance_group:
            group.kind = mc.ModelInstanceGroup.KIND_GPU
        assert cpu == gpu


def test_every_dashboard_metric_exists_on_the_running_stack(stack, client, transactions):
    client.post("/v1/score", json=transactions[0])
    exposed = httpx.get(f"{stack.url}/metrics").text + httpx.get(stack.triton.metrics_url).text
    families = set(re.findall(r"^# TYPE (\S+)", exposed, flags=re.MULTILINE))
    dashboard = json.loads((PROJECT / "observability/grafana/dashboards/fraud-ensemble.json").read_text())
    plotted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:fraud_ensemble|nv)_[a-z_]+", target["expr"])
    }
    stems = {re.sub(r"_(bucket|total)$", "", name) for name in plotted}
    assert len(plotted) >= 6 and stems <= {re.sub(r"_total$", "", f) for f in families}, stems - families
