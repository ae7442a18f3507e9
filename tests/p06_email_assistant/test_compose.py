"""Project 06's compose files, validated by the real Compose binary (no engine needed)."""

from __future__ import annotations

from compose_config import compose_services
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "06-email-assistant"


def test_base_file_runs_every_part_on_any_host():
    services = compose_services(PROJECT, "docker-compose.yml")
    assert {"postgres", "redis", "llm", "classifier-build", "api", "worker", "mailpit", "prometheus"} <= set(services)
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "email_assistant.worker"]
    assert worker["depends_on"]["classifier-build"]["condition"] == "service_completed_successfully"
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["EMAIL_ASSISTANT_DATABASE_URL"].endswith("@postgres:5432/app")
        assert env["EMAIL_ASSISTANT_SMTP_RELAY_HOST"] == "mailpit"
    assert services["api"]["environment"]["EMAIL_ASSISTANT_SMTP_LISTEN_PORT"] == "2525"
    assert (
        services["classifier-build"]["command"][-1]
        == services["worker"]["environment"]["EMAIL_ASSISTANT_CLASSIFIER_FILE"]
    )


def test_gpu_override_puts_vllm_on_the_gpu_for_the_worker():
    services = compose_services(PROJECT, "docker-compose.yml", "compose.gpu.yaml")
    assert services["llm"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert services["worker"]["environment"]["EMAIL_ASSISTANT_LLM_BASE_URL"] == "http://llm:8000/v1"


def test_prometheus_scrapes_the_api_and_the_worker():
    config = (PROJECT / "observability" / "prometheus.yml").read_text()
    assert '"api:8000"' in config and '"worker:9100"' in config
