"""The compose deployment, checked without a Docker engine: the real Compose binary validates the
files; the deploy job's policy and replica settings are what the package accepts; the GPU override
changes the Ray node and the replicas, and nothing else."""

from __future__ import annotations

import json

from study.local.autoscaling.stack import PROJECT_DIR

from autoscaling.settings import ReplicaSettings, ScalingPolicy
from compose_config import compose_services


def deploy_arguments(services: dict) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in services["llm-deploy"]["command"] if "=" in arg)


def test_a_ray_head_a_deploy_job_and_the_router():
    services = compose_services(PROJECT_DIR, "docker-compose.yml")
    assert set(services) == {"ray-head", "llm-deploy", "api"}
    assert services["api"]["environment"]["AUTOSCALING_LLM_URL"] == "http://ray-head:8100"
    assert services["api"]["depends_on"]["llm-deploy"]["condition"] == "service_completed_successfully"
    assert services["ray-head"]["environment"]["RAY_AUTH_MODE"] == "token"
    arguments = deploy_arguments(services)
    policy = ScalingPolicy(**json.loads(arguments["policy"]))
    replica = ReplicaSettings(**json.loads(arguments["replica"]))
    assert policy.min_replicas == 0 and "{port}" in replica.command


def test_the_gpu_override_runs_vllm_replicas_on_shares_of_one_gpu():
    services = compose_services(PROJECT_DIR, "docker-compose.yml", "compose.gpu.yaml")
    assert services["ray-head"]["build"]["dockerfile"] == "ray/Dockerfile.gpu"
    assert "--num-gpus=1" in services["ray-head"]["command"]
    replica = ReplicaSettings(**json.loads(deploy_arguments(services)["replica"]))
    assert replica.command[:2] == ["vllm", "serve"] and replica.num_gpus == 0.5
    assert services["api"] == compose_services(PROJECT_DIR, "docker-compose.yml")["api"]


def test_the_images_pin_what_the_local_mode_runs():
    cpu = (PROJECT_DIR / "ray" / "requirements.txt").read_text()
    assert "ray==2.60.0" in cpu and "llama-cpp-python==0.3.36" in cpu
    assert "GGML_NATIVE=OFF" in (PROJECT_DIR / "ray" / "Dockerfile").read_text()
    assert "ray[serve]==2.60.0" in (PROJECT_DIR / "ray" / "Dockerfile.gpu").read_text()
    assert "FROM vllm/vllm-openai:v0.11.0" in (PROJECT_DIR / "ray" / "Dockerfile.gpu").read_text()
