"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files; the compose job builds the model as the local recipe does; the box's limits are set."""

from __future__ import annotations

import ast

from study.local.edge_gateway.stack import CALIBRATION_IMAGES, GOLDEN, PROJECT_DIR

from compose_config import compose_services


def test_the_edge_box_runs_the_gateway_and_its_broker_within_a_small_budget():
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert {"model-build", "mosquitto", "gateway"} <= set(services)
    gateway = services["gateway"]
    assert set(gateway["build"]["platforms"]) == {"linux/amd64", "linux/arm64"}
    limits = gateway["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) == 1 and int(limits["memory"]) == 256 * 1024**2
    env = gateway["environment"]
    assert env["EDGE_GATEWAY_MQTT_HOST"] == "mosquitto" and env["EDGE_GATEWAY_BOOTSTRAP_BUNDLE"] == "/bundles/v1"
    assert env["EDGE_GATEWAY_UPDATE_PUBLIC_KEY_FILE"].startswith("/etc/edge-gateway/")
    assert any(v["target"] == "/var/lib/edge-gateway" and v["type"] == "volume" for v in gateway["volumes"])
    assert gateway["depends_on"]["model-build"]["condition"] == "service_completed_successfully"


def test_the_gpu_override_changes_nothing():
    assert compose_services(PROJECT_DIR, "docker-compose.yml", "compose.gpu.yaml") == compose_services(
        PROJECT_DIR, "docker-compose.yml"
    )


def constants(path) -> dict:
    """The module-level tuples and dicts of a script, read without running it."""
    values: dict = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            values[node.target.id] += ast.literal_eval(node.value)
    return values


def test_the_compose_job_builds_what_the_local_recipe_builds():
    job = constants(PROJECT_DIR / "model_build" / "first_bundle.py")
    assert job["CALIBRATION_IMAGES"] == CALIBRATION_IMAGES and job["GOLDEN"] == GOLDEN
