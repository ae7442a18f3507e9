"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files, and every metric the Grafana dashboard plots must exist on the running API or Triton."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import yaml
from study.local.image_classification.stack import (
    LOADED_AT_START,
    PROJECT_DIR,
    RESPONSE_CACHE_BYTES,
    SHM_SLOTS,
)

LOADED = {f"--load-model={name}" for name in LOADED_AT_START}  # as the local stack

DASHBOARD = PROJECT_DIR / "observability/grafana/dashboards/image-classification.json"
PROMQL_FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "by", "le", "avg", "max", "min"}


def compose_config(*files: str) -> dict:
    args = ["docker-compose"]
    for name in files:
        args += ["-f", str(PROJECT_DIR / name)]
    done = subprocess.run([*args, "config", "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_base_compose_file_is_valid_and_runs_without_a_gpu():
    config = compose_config("docker-compose.yml")
    assert {"api", "triton", "model-export", "prometheus", "grafana"} <= set(config["services"])
    triton = config["services"]["triton"]
    assert "--model-config-name=cpu" in triton["command"]
    assert {"--model-control-mode=explicit", *LOADED} <= set(triton["command"])
    assert f"--cache-config=local,size={RESPONSE_CACHE_BYTES}" in triton["command"]  # as the local stack
    assert "deploy" not in triton
    assert config["services"]["api"]["environment"]["IMAGE_CLASSIFICATION_TRITON_URL"] == "triton:8001"


def test_the_api_shares_tritons_shared_memory_as_the_local_stack_does():
    services = compose_config("docker-compose.yml")["services"]
    assert services["triton"]["ipc"] == "shareable" and services["api"]["ipc"] == "service:triton"
    assert services["api"]["environment"]["IMAGE_CLASSIFICATION_TRITON_SHM_SLOTS"] == str(SHM_SLOTS)


def test_gpu_override_reserves_a_gpu_and_uses_the_production_config():
    triton = compose_config("docker-compose.yml", "compose.gpu.yaml")["services"]["triton"]
    assert "--model-config-name=cpu" not in triton["command"]
    assert {"--model-control-mode=explicit", *LOADED, f"--cache-config=local,size={RESPONSE_CACHE_BYTES}"} <= set(
        triton["command"]
    )
    device = triton["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


def test_tensorrt_override_changes_only_the_model_configuration():
    gpu = compose_config("docker-compose.yml", "compose.gpu.yaml")["services"]["triton"]
    trt = compose_config("docker-compose.yml", "compose.gpu.yaml", "compose.gpu-tensorrt.yaml")["services"]["triton"]
    assert trt["deploy"] == gpu["deploy"]
    assert set(trt["command"]) - set(gpu["command"]) == {"--model-config-name=gpu-tensorrt-fp16"}
    assert set(gpu["command"]) <= set(trt["command"])
    named = PROJECT_DIR / "model_repository/efficientnet_lite0/configs/gpu-tensorrt-fp16.pbtxt"
    assert named.is_file()  # what --model-config-name names


def test_compose_binary_rejects_an_invalid_file(tmp_path: Path):
    """The validation above can fail: an unknown key is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  api:\n    image: x\n    gpus_please: all\n")
    done = subprocess.run(["docker-compose", "-f", str(bad), "config"], capture_output=True, text=True)
    assert done.returncode != 0


def test_prometheus_scrapes_api_and_triton():
    config = yaml.safe_load((PROJECT_DIR / "observability/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {"api:8000", "triton:8002"}
    assert config["rule_files"] == ["alerts.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_compose_prometheus_loads_the_tested_rules_and_alertmanager_runs():
    services = compose_config("docker-compose.yml")["services"]
    mounts = {volume["target"]: volume["source"] for volume in services["prometheus"]["volumes"]}
    assert Path(mounts["/etc/prometheus/alerts.yml"]) == PROJECT_DIR / "observability/alerts.yml"
    mounts = {volume["target"]: volume["source"] for volume in services["alertmanager"]["volumes"]}
    assert Path(mounts["/etc/alertmanager/alertmanager.yml"]) == PROJECT_DIR / "observability/alertmanager.yml"


def test_dashboard_is_well_formed():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus"
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])


def dashboard_metric_names() -> set[str]:
    names = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            names |= {n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if n not in PROMQL_FUNCTIONS}
    return names - {"handler", "status"}


# --8<-- [start:dashboard-test]
def test_every_dashboard_metric_exists_on_the_running_stack(stack, client, cat_jpeg):
    client.post("/v1/classify", files={"image": ("c.jpg", cat_jpeg, "image/jpeg")})
    exposed = httpx.get(f"{stack.url}/metrics").text + httpx.get(stack.triton.metrics_url).text
    families = set(re.findall(r"^# TYPE (\S+)", exposed, flags=re.MULTILINE))
    series = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", exposed, flags=re.MULTILINE))
    missing = {name for name in dashboard_metric_names() if name not in families | series}
    assert not missing, f"dashboard plots metrics nobody exposes: {missing}"
    assert "nv_inference_exec_count" in dashboard_metric_names()


# --8<-- [end:dashboard-test]
