"""Project 07's compose files, validated by the real Compose binary (no engine needed)."""

from __future__ import annotations

from compose_config import compose_services
from study.paths import PROJECTS_DIR

PROJECT = PROJECTS_DIR / "07-translation"


def test_base_file_runs_every_part_on_any_host():
    services = compose_services(PROJECT, "docker-compose.yml")
    assert {"redis", "minio", "llm", "api", "worker", "prometheus"} <= set(services)
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "translation.worker"]
    for name in ("api", "worker"):
        assert services[name]["build"]["args"]["SYSTEM_PACKAGES"] == "apertium apertium-eng-spa"
        env = services[name]["environment"]
        assert env["TRANSLATION_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["TRANSLATION_S3_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_USER"]
        assert "TRANSLATION_WORKER_NAME" not in env  # each replica names itself after its hostname
    public = services["api"]["environment"]["TRANSLATION_S3_PUBLIC_ENDPOINT_URL"]
    assert public == "http://localhost:9000" and any(p["published"] == "9000" for p in services["minio"]["ports"])


def test_a_stopped_worker_has_longer_than_its_grace_period_to_hand_its_job_back():
    worker = compose_services(PROJECT, "docker-compose.yml")["worker"]
    grace_s = float(worker["environment"]["TRANSLATION_GRACE_S"])
    stop_s = float(worker["stop_grace_period"].rstrip("s"))
    assert grace_s < stop_s


def test_gpu_override_puts_vllm_on_the_gpu_for_api_and_worker():
    services = compose_services(PROJECT, "docker-compose.yml", "compose.gpu.yaml")
    assert services["llm"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["TRANSLATION_LLM_BASE_URL"] == "http://llm:8000/v1"
        assert env["TRANSLATION_LLM_MODEL_VERSION"] != "ollama-gemma3-270m"  # other weights, other memory keys


def test_prometheus_scrapes_the_api_and_the_worker():
    config = (PROJECT / "observability" / "prometheus.yml").read_text()
    assert '"api:8000"' in config and '"worker:9100"' in config
