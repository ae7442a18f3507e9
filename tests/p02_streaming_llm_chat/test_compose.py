"""Project 02's compose files, validated by the real Compose binary (no engine needed)."""

from __future__ import annotations

from compose_config import compose_services
from streaming_llm_chat.settings import Settings
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "02-streaming-llm-chat"


def config(*files: str) -> dict:
    return compose_services(PROJECT, *files)


def test_base_file_runs_on_any_host_with_ollama():
    services = config("docker-compose.yml")
    assert {"api", "llm", "redis", "tokenizer", "prometheus"} <= set(services)
    assert services["llm"]["image"].startswith("ollama/")
    assert services["api"]["environment"]["STREAMING_LLM_CHAT_LLM_BASE_URL"] == "http://llm:11434/v1"
    assert all("deploy" not in s for s in services.values())


def test_gpu_override_swaps_in_vllm_on_a_gpu():
    services = config("docker-compose.yml", "compose.gpu.yaml")
    assert services["llm"]["image"].startswith("vllm/vllm-openai")
    assert services["llm"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert services["api"]["environment"]["STREAMING_LLM_CHAT_LLM_BASE_URL"] == "http://llm:8000/v1"


def test_every_setting_the_compose_files_pass_is_one_the_service_reads():
    for files in (("docker-compose.yml",), ("docker-compose.yml", "compose.gpu.yaml")):
        environment = config(*files)["api"]["environment"]
        assert {name.removeprefix("STREAMING_LLM_CHAT_").lower() for name in environment} <= set(Settings.model_fields)
        assert environment["STREAMING_LLM_CHAT_TENANTS"] == "[]"  # open unless the deployer declares tenants
