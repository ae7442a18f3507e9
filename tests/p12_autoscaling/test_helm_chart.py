"""The Helm chart, checked without a cluster: Helm's own SDK lints and renders it, every Kubernetes
manifest is validated against the Kubernetes 1.31 API schemas and the ScaledObject against KEDA's
CRD schema (from the kubernetes-models package generated from KEDA's CRDs), and what the manifests
say is held against the code they deploy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from study.local.autoscaling.stack import PROJECT_DIR

from autoscaling.settings import Settings
from study.paths import cache_dir

CHART = PROJECT_DIR / "helm" / "autoscaling"
KEDA_CHECK = Path(__file__).with_name("keda")


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(str(CHART)) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict | None = None) -> dict[tuple[str, str], dict]:
    out = chart.render(values or {}, name="demo", namespace="llm")
    docs = [doc for path, text in out.items() if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]
    return {(doc["kind"], doc["metadata"]["labels"]["app.kubernetes.io/component"]): doc for doc in docs}


def test_lint_finds_no_errors():
    report = helm.lint(str(CHART))
    assert report["errors"] == [] and not [m for m in report["messages"] if m["severity"] > 1], report


def test_every_kubernetes_manifest_is_valid(chart):
    manifests = render(chart)
    assert set(manifests) == {
        ("Deployment", "router"), ("Service", "router"), ("PodDisruptionBudget", "router"),
        ("Deployment", "vllm"), ("Service", "vllm"), ("PodDisruptionBudget", "vllm"), ("ScaledObject", "vllm"),
    }  # fmt: skip
    for (kind, _), manifest in manifests.items():
        if kind != "ScaledObject":
            kubernetes_validate.validate(manifest, "1.31", strict=True)


def keda_checker() -> Path:
    """The KEDA schema checker's npm packages, once per machine in the cache."""
    package = (KEDA_CHECK / "package.json").read_bytes()
    target = cache_dir() / "node" / f"keda-schema-check-{hashlib.sha256(package).hexdigest()[:12]}"
    if not (target / "node_modules" / "@kubernetes-models" / "keda").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to check the ScaledObject against KEDA's schema (make test installs it)"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(KEDA_CHECK / "package.json", target / "package.json")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"], cwd=target, check=True,
                       capture_output=True)  # fmt: skip
    shutil.copy(KEDA_CHECK / "validate.mjs", target / "validate.mjs")
    return target


def keda_validate(objects: list[dict]) -> subprocess.CompletedProcess:
    checker = keda_checker()
    return subprocess.run(["node", str(checker / "validate.mjs")], input=json.dumps(objects), capture_output=True,
                          text=True, cwd=checker)  # fmt: skip


@pytest.mark.parametrize("values", [{}, {"scaling": {"minReplicas": 1, "maxReplicas": 8}}])
def test_the_scaled_object_is_valid_keda(chart, values):
    scaled = render(chart, values)[("ScaledObject", "vllm")]
    done = keda_validate([scaled])
    assert done.returncode == 0 and done.stdout.split() == ["ok"], done.stdout + done.stderr


def test_the_keda_check_catches_a_broken_scaled_object(chart):
    scaled = render(chart)[("ScaledObject", "vllm")]
    broken = json.loads(json.dumps(scaled))
    broken["spec"]["minReplicaCount"] = "zero"
    del broken["spec"]["scaleTargetRef"]
    done = keda_validate([broken])
    assert done.returncode == 1 and done.stdout.startswith("invalid")


def test_scaling_is_on_the_queue_from_zero_with_the_router_as_activator(chart):
    manifests = render(chart)
    scaled = manifests[("ScaledObject", "vllm")]["spec"]
    assert scaled["minReplicaCount"] == 0 and scaled["scaleTargetRef"]["name"] == "demo-autoscaling-vllm"
    query = scaled["triggers"][0]["metadata"]["query"]
    assert "autoscaling_requests_waiting" in query  # the router's metric: the only one while vLLM has no pod
    assert "vllm:num_requests_waiting" in query and "vllm:num_requests_running" in query
    router = manifests[("Deployment", "router")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in router["env"]}
    assert set(env) <= {f"AUTOSCALING_{name.upper()}" for name in Settings.model_fields}
    assert float(env["AUTOSCALING_HOLD_S"]) > 0 and env["AUTOSCALING_LLM_URL"].endswith("-vllm:8000")
    assert float(env["AUTOSCALING_REQUEST_TIMEOUT_S"]) > float(env["AUTOSCALING_HOLD_S"])


def test_vllm_pods_drain_load_weights_locally_and_take_a_gpu(chart):
    pod = render(chart)[("Deployment", "vllm")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["terminationGracePeriodSeconds"] >= 60 and "preStop" in container["lifecycle"]
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 600
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["env"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    mig = render(chart, {"vllm": {"gpu": {"resource": "nvidia.com/mig-1g.10gb", "count": 1}}})
    limits = mig[("Deployment", "vllm")]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/mig-1g.10gb"] == 1 and "nvidia.com/gpu" not in limits
