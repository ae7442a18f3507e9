"""Project 04's compose files, validated by the real Compose binary (no engine needed), and the
CPU configuration of the model kept in step with the GPU one."""

from __future__ import annotations

from google.protobuf import text_format
from study.local.video_moderation.stack import MODEL_SHA256
from tritonclient.grpc import model_config_pb2 as mc

from compose_config import compose_services
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "04-video-moderation"


def test_base_file_runs_on_any_host_with_two_workers_and_flower():
    services = compose_services(PROJECT, "docker-compose.yml")
    assert {"model-fetch", "triton", "redis", "api", "worker", "flower", "prometheus"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "webhooks,high,normal" in services["worker"]["command"]
    assert services["api"]["environment"] == services["worker"]["environment"], "one set of settings"
    assert "--appendfsync" in services["redis"]["command"], "accepted jobs survive a Redis restart"
    assert "--model-config-name=cpu" in services["triton"]["command"]


def test_gpu_override_puts_triton_on_the_gpu():
    services = compose_services(PROJECT, "docker-compose.yml", "compose.gpu.yaml")
    assert "--model-config-name=cpu" not in services["triton"]["command"]
    assert services["triton"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_cpu_config_differs_from_the_gpu_config_only_in_the_device():
    folder = PROJECT / "model_repository" / "open_nsfw"
    gpu = text_format.Parse((folder / "config.pbtxt").read_text(), mc.ModelConfig())
    cpu = text_format.Parse((folder / "configs" / "cpu.pbtxt").read_text(), mc.ModelConfig())
    assert cpu.instance_group and {g.kind for g in cpu.instance_group} == {mc.ModelInstanceGroup.KIND_CPU}
    assert gpu.instance_group and {g.kind for g in gpu.instance_group} == {mc.ModelInstanceGroup.KIND_GPU}
    for group in cpu.instance_group:
        group.kind = mc.ModelInstanceGroup.KIND_GPU
    assert cpu == gpu


def test_the_fetch_job_checks_the_same_model_digest_as_the_local_runner():
    assert MODEL_SHA256 in (PROJECT / "model_repository" / "fetch_model.sh").read_text()
