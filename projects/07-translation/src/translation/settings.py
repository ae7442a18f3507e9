"""Typed settings, from environment variables TRANSLATION_*. The API and the workers read the same ones."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSLATION_")

    redis_url: str = Field("redis://localhost:6379/0", description="The translation memory and the job queue.")
    s3_endpoint_url: str | None = Field(None, description="Any S3 (SeaweedFS locally, MinIO in compose); None: AWS.")
    s3_bucket: str = "translation"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = Field(None, description="None: boto3's own lookup (environment, instance role).")
    s3_secret_key: str | None = None
    s3_public_endpoint_url: str | None = Field(
        None, description="The S3 address clients reach, for download URLs (None: s3_endpoint_url)."
    )
    download_url_ttl_s: int = Field(3600, ge=60, description="How long a presigned download URL works.")

    apertium_command: str = Field("apertium", description="The rule-based engine (Debian: apertium-eng-spa).")
    llm_base_url: str = Field("http://localhost:8080/v1", description="An OpenAI-compatible completions server.")
    llm_model: str = "local"
    llm_model_version: str = Field(
        "gemma-3-270m-q4_k_m", description="Names the neural engine's weights in the translation memory's keys."
    )
    llm_timeout_s: float = 60

    # The benchmark's verdict on the held-out set: Apertium is cheaper than Gemma 3 270M *and* scores
    # higher chrF, so the default sends everything to it (a stronger neural model changes the answer).
    routing_policy: Literal["cheapest", "neural", "by_length"] = Field(
        "cheapest", description="Which engine translates a segment when the request names none (routing.py)."
    )
    short_segment_words: int = Field(4, ge=1, description="by_length: up to this many words go to the cheap engine.")
    batch_size: int = Field(16, ge=1, le=256, description="Segments per engine call, grouped by length.")
    memory_ttl_s: int = Field(30 * 24 * 3600, ge=60, description="How long a translation stays in the memory.")

    max_text_chars: int = Field(5000, ge=1, description="The most characters POST /v1/translate takes at once.")
    max_segments: int = Field(100, ge=1, description="The most segments in one POST /v1/translate.")
    max_document_bytes: int = Field(1024 * 1024, ge=1, description="The largest document POST /v1/documents takes.")

    price_per_hour: float = Field(
        0.0446, ge=0, description="What the instance running the engines costs per hour (costs.yaml), in dollars."
    )
    worker_name: str = Field(
        default_factory=socket.gethostname, description="Names the worker's processing list in Redis (unique)."
    )
    grace_s: float = Field(20, gt=0, description="After SIGTERM: the time to finish the batch and hand the job back.")
    heartbeat_s: float = Field(2, gt=0, description="A worker silent for three of these is presumed dead.")
    sweep_every_s: float = Field(10, gt=0, description="How often a worker re-queues the work of dead workers.")
    idle_exit_s: float = Field(0, ge=0, description="Scale to zero: exit after this long with no job (0: never).")
    max_workers: int = Field(4, ge=1, description="scaler.py: the most workers it runs at once.")
    jobs_per_worker: int = Field(2, ge=1, description="scaler.py: one worker per this many queued jobs.")
    scale_every_s: float = Field(1, gt=0, description="scaler.py: how often it reads the queue length.")
    worker_metrics_host: str = "0.0.0.0"
    worker_metrics_port: int = Field(9100, ge=0, description="The worker's own /metrics (0: off).")
    retry_after_s: int = 5
    log_level: str = "INFO"

    @property
    def max_request_bytes(self) -> int:
        """A document's limit plus room for the multipart framing."""
        return self.max_document_bytes + 64 * 1024
