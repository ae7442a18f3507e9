"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files; the collector's pipelines, Loki's and Grafana's provisioning are cross-checked (neither
Loki, Grafana nor the collector installs here: their files are validated, never run); every
metric the service dashboard plots exists on the running stack."""

from __future__ import annotations

import json
import re

import httpx
import yaml
from study.local.ocr.stack import OBSERVABILITY, PROJECT_DIR

from compose_config import compose_services

from .conftest import ocr

DASHBOARDS = OBSERVABILITY / "grafana" / "dashboards"
PROMQL_WORDS = {"sum", "rate", "by", "le", "histogram_quantile", "model", "stage", "status", "handler", "gpu"}
# The DCGM exporter's default counters (its default-counters.csv): no GPU here to scrape them from.
DCGM_DEFAULTS = {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE"}
TRITON_GPU_METRICS = {"nv_gpu_utilization", "nv_gpu_memory_used_bytes", "nv_gpu_memory_total_bytes"}


def test_base_file_runs_every_part_on_any_host():
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert {
        "model-build",
        "triton",
        "api",
        "otel-collector",
        "jaeger",
        "loki",
        "prometheus",
        "alertmanager",
        "grafana",
    } <= set(services)
    triton = services["triton"]
    assert "--model-config-name=cpu" in triton["command"] and "deploy" not in triton
    assert "--trace-config=opentelemetry,url=http://otel-collector:4318/v1/traces" in triton["command"]
    env = services["api"]["environment"]
    assert env["OCR_TRITON_URL"] == "triton:8001" and env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert "dcgm-exporter" not in services


def test_gpu_override_puts_triton_on_the_gpu_and_adds_dcgm():
    services = compose_services(PROJECT_DIR, "docker-compose.yml", "compose.gpu.yaml")
    assert "--model-config-name=cpu" not in services["triton"]["command"]
    assert services["triton"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    mounts = {v["target"]: v["source"] for v in services["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/prometheus.yml"].endswith("prometheus.gpu.yml")
    base = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    gpu = yaml.safe_load((OBSERVABILITY / "prometheus.gpu.yml").read_text())
    assert gpu["scrape_configs"][:-1] == base["scrape_configs"] and gpu["rule_files"] == base["rule_files"]
    assert gpu["scrape_configs"][-1]["static_configs"][0]["targets"] == ["dcgm-exporter:9400"]


def test_every_cpu_config_is_its_gpu_config_on_the_cpu():
    for cpu in PROJECT_DIR.glob("model_repository/*/configs/cpu.pbtxt"):
        gpu = (cpu.parents[1] / "config.pbtxt").read_text()
        body = "\n".join(cpu.read_text().splitlines()[1:])  # less the comment line that says what it is
        assert body == gpu.replace("KIND_GPU", "KIND_CPU").rstrip("\n"), cpu


def test_the_collectors_pipelines_use_only_what_it_defines_and_reach_compose_services():
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline)
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert config["exporters"]["otlp/jaeger"]["endpoint"].split(":")[0] in services
    assert config["exporters"]["otlphttp/loki"]["endpoint"] == "http://loki:3100/otlp"
    loki = yaml.safe_load((OBSERVABILITY / "loki.yaml").read_text())
    assert loki["server"]["http_listen_port"] == 3100 and loki["limits_config"]["allow_structured_metadata"]
    # the trace ids the collector lifts from the log lines are the fields the service writes
    operators = {op["type"]: op for op in config["receivers"]["filelog"]["operators"]}
    assert operators["trace_parser"]["trace_id"]["parse_from"] == "attributes.trace_id"


def test_grafana_links_logs_to_traces_and_back():
    sources = yaml.safe_load((OBSERVABILITY / "grafana/provisioning/datasources/datasources.yml").read_text())
    by_uid = {s["uid"]: s for s in sources["datasources"]}
    assert set(by_uid) == {"prometheus", "loki", "jaeger"}
    assert by_uid["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"] == "jaeger"
    assert by_uid["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    for name in ("ocr.json", "gpus.json"):
        dashboard = json.loads((DASHBOARDS / name).read_text())
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["title"]
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in by_uid and panel["targets"]


def metric_names(dashboard: str) -> set[str]:
    names = set()
    for panel in json.loads((DASHBOARDS / dashboard).read_text())["panels"]:
        for target in panel.get("targets", []):
            if panel["datasource"]["uid"] != "prometheus":
                continue
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            names |= {n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if n not in PROMQL_WORDS}
    return names


def test_every_metric_the_dashboards_plot_exists(stack, client, page_photo):
    assert ocr(client, page_photo.image).status_code == 200
    exposed = httpx.get(f"{stack.url}/metrics").text + httpx.get(stack.triton.metrics_url).text
    series = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", exposed, flags=re.MULTILINE))
    rules = yaml.safe_load((OBSERVABILITY / "rules.yml").read_text())["groups"][0]["rules"]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    missing = metric_names("ocr.json") - series - recorded
    assert not missing, f"the service dashboard plots what nobody exposes: {missing}"
    gpu = metric_names("gpus.json")
    assert gpu - series <= DCGM_DEFAULTS | TRITON_GPU_METRICS  # GPU-only series, named as their exporters name them
    assert "nv_inference_count" in gpu & series
