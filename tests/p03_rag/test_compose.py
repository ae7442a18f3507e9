"""Project 03's compose files, validated by the real Compose binary (no engine needed), and the
CPU configuration of the embedding model kept in step with the GPU one."""

from __future__ import annotations

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from compose_config import compose_services
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "03-rag"


def config(*files: str) -> dict:
    return compose_services(PROJECT, *files)


def test_base_file_runs_on_any_host():
    services = config("docker-compose.yml")
    assert {
        "model-export",
        "triton",
        "etcd",
        "minio",
        "milvus",
        "llm",
        "api",
        "index-course",
        "prometheus",
        "jaeger",
    } <= set(services)
    env = services["api"]["environment"]
    assert env["RAG_MILVUS_URI"] == "http://milvus:19530" and env["RAG_TRITON_URL"] == "triton:8001"
    assert env["RAG_TRACES_EXPORTER"] == "otlp" and env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
    assert "--model-config-name=cpu" in services["triton"]["command"]
    assert services["milvus"]["depends_on"].keys() == {"etcd", "minio"}
    assert all("deploy" not in s for s in services.values())


def test_gpu_override_puts_triton_and_vllm_on_the_gpu():
    services = config("docker-compose.yml", "compose.gpu.yaml")
    assert "--model-config-name=cpu" not in services["triton"]["command"]
    for name in ("triton", "llm"):
        assert services[name]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert services["llm"]["image"].startswith("vllm/vllm-openai")
    assert services["api"]["environment"]["RAG_LLM_BASE_URL"] == "http://llm:8000/v1"
    assert services["api"]["environment"]["RAG_ANSWER_MODE"] == "generative"  # an 8B model writes answers
    assert "RAG_ANSWER_MODE" not in config("docker-compose.yml")["api"]["environment"]  # quotes by default


def test_cpu_config_differs_from_the_gpu_config_only_in_the_device():
    folder = PROJECT / "model_repository" / "minilm_l6_v2"
    gpu = text_format.Parse((folder / "config.pbtxt").read_text(), mc.ModelConfig())
    cpu = text_format.Parse((folder / "configs" / "cpu.pbtxt").read_text(), mc.ModelConfig())
    assert [g.kind for g in cpu.instance_group] == [mc.ModelInstanceGroup.KIND_CPU]
    for group in cpu.instance_group:
        group.kind = mc.ModelInstanceGroup.KIND_GPU
    assert cpu == gpu
