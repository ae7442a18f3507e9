"""The Helm chart, checked without a cluster: Helm's own SDK lints and renders it, every manifest is
validated against the Kubernetes 1.31 API schemas, and what the manifests say is held against the
code they deploy (probe paths, settings names, ports, the image's user, the pinned Triton image)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import helm_python as helm
import httpx
import kubernetes_validate
import pytest
import yaml
from study.local.image_classification.stack import (
    LOADED_AT_START,
    PROJECT_DIR,
    RESPONSE_CACHE_BYTES,
)

from image_classification.main import create_app
from image_classification.settings import Settings
from study.paths import REPO_ROOT

CHART = PROJECT_DIR / "helm" / "image-classification"
KUBERNETES = "1.31"


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(str(CHART)) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict | None = None) -> dict[tuple[str, str], dict]:
    """Rendered manifests by (kind, component)."""
    out = chart.render(values or {}, name="demo", namespace="inference")
    docs = [doc for path, text in out.items() if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]
    return {(doc["kind"], doc["metadata"]["labels"]["app.kubernetes.io/component"]): doc for doc in docs}


def container(deployment: dict) -> dict:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_lint_finds_no_errors():
    report = helm.lint(str(CHART))
    assert report["errors"] == [] and report["total_charts_linted"] == 1
    assert not [m for m in report["messages"] if m["severity"] > 1], report["messages"]  # info only


@pytest.mark.parametrize("gpu", [True, False])
def test_every_manifest_is_valid_kubernetes(chart, gpu):
    manifests = render(chart, {"triton": {"gpu": gpu}})
    assert set(manifests) == {
        ("Deployment", "api"),
        ("Service", "api"),
        ("PodDisruptionBudget", "api"),
        ("Deployment", "triton"),
        ("Service", "triton"),
    }
    for manifest in manifests.values():
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_validation_can_fail():
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


# --8<-- [start:gpu-test]
def test_gpu_pods_get_a_gpu_and_the_production_config_cpu_pods_the_cpu_config(chart):
    gpu = container(render(chart)[("Deployment", "triton")])
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--model-config-name=cpu" not in gpu["args"]
    cpu_pod = render(chart, {"triton": {"gpu": False}})[("Deployment", "triton")]
    assert "nvidia.com/gpu" not in container(cpu_pod)["resources"]["limits"]
    assert "--model-config-name=cpu" in container(cpu_pod)["args"]  # configs/cpu.pbtxt, as in compose
    assert "tolerations" not in cpu_pod["spec"]["template"]["spec"]


# --8<-- [end:gpu-test]


def test_probes_use_routes_the_api_serves(chart):
    api = container(render(chart)[("Deployment", "api")])
    paths = create_app(Settings()).openapi()["paths"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready" in paths
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live" in paths


def test_triton_probes_answer_on_a_real_triton(chart, stack):
    triton = container(render(chart)[("Deployment", "triton")])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = triton[probe]["httpGet"]["path"]
        assert httpx.get(f"{stack.triton.http_url}{path}").status_code == 200, probe
    assert "--strict-readiness=true" in triton["args"]
    # Explicit model control, as in compose and the local stack: rollouts load versions on request.
    assert {"--model-control-mode=explicit", *(f"--load-model={name}" for name in LOADED_AT_START)} <= set(
        triton["args"]
    )


def test_response_cache_size_is_the_local_stacks_and_zero_turns_it_off(chart):
    args = container(render(chart)[("Deployment", "triton")])["args"]
    assert f"--cache-config=local,size={RESPONSE_CACHE_BYTES}" in args
    args = container(render(chart, {"triton": {"responseCacheBytes": 0}})[("Deployment", "triton")])["args"]
    assert not [arg for arg in args if arg.startswith("--cache-config")]


def test_api_settings_are_names_the_service_reads(chart):
    env = {item["name"]: item["value"] for item in container(render(chart)[("Deployment", "api")])["env"]}
    fields = {f"IMAGE_CLASSIFICATION_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["IMAGE_CLASSIFICATION_TRITON_URL"] == "demo-image-classification-triton:8001"
    Settings(
        **{name.removeprefix("IMAGE_CLASSIFICATION_").lower(): value for name, value in env.items()}
    )  # values parse


def test_services_select_their_pods_and_name_real_ports(chart):
    manifests = render(chart)
    for component in ("api", "triton"):
        pod = manifests[("Deployment", component)]["spec"]["template"]
        service = manifests[("Service", component)]["spec"]
        assert service["selector"].items() <= pod["metadata"]["labels"].items()
        ports = {port["name"] for port in container({"spec": {"template": pod}})["ports"]}
        assert {port["targetPort"] for port in service["ports"]} <= ports
    pdb = manifests[("PodDisruptionBudget", "api")]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= manifests[("Deployment", "api")]["spec"]["template"]["metadata"]["labels"].items()


def test_images_and_users_match_what_they_run(chart):
    manifests = render(chart)
    pinned = yaml.safe_load((REPO_ROOT / "docker" / "images.yaml").read_text())
    assert container(manifests[("Deployment", "triton")])["image"] == pinned["triton"]
    uid = int(re.search(r"useradd .*--uid (\d+)", (PROJECT_DIR / "Dockerfile").read_text()).group(1))
    api_pod = manifests[("Deployment", "api")]["spec"]["template"]["spec"]
    assert api_pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": uid}
    assert manifests[("Deployment", "api")]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"api": {"image": {"tag": "latest"}}},
        {"api": {"replicas": 0}},
        {"api": {"settings": {"TRITON_URL": "x"}}},
        {"triton": {"gpu": "yes"}},
        {"modelRepository": {"path": "models"}},
    ],
)
def test_values_schema_refuses_bad_values(chart, bad):
    with pytest.raises(helm.HelmError):
        chart.validate_schema(chart.merge_values(bad))
