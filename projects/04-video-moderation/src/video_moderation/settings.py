"""Typed settings shared by the API and the workers (environment variables VIDEO_MODERATION_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDEO_MODERATION_")

    redis_url: str = Field("redis://localhost:6379/0", description="Job records (and the queue, unless broker_url).")
    broker_url: str | None = Field(None, description="The Celery broker, when it is not the job records' Redis.")
    triton_url: str = Field("localhost:8001", description="Triton's gRPC address.")
    model_name: str = "open_nsfw"
    storage_dir: str = Field(
        "/tmp/video-moderation", description="Where uploaded videos are kept; shared by the API and the workers."
    )

    sample_fps: float = Field(1.0, gt=0, le=30, description="Frames scored per second of video.")
    batch_size: int = Field(8, ge=1, le=32, description="Frames per Triton request.")
    threshold: float = Field(0.8, ge=0, le=1, description="Default score at or above which a frame is flagged.")

    max_upload_bytes: int = Field(100 * 1024 * 1024, description="Largest accepted upload.")
    max_duration_s: float = Field(600, description="Longest accepted video.")

    webhook_secret: str = Field("change-me", description="HMAC-SHA256 key for webhook signatures.")
    webhook_max_attempts: int = Field(5, ge=1)
    webhook_backoff_s: float = Field(1.0, gt=0, description="First retry delay; doubles each attempt.")
    webhook_timeout_s: float = 5.0
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) a webhook may call although they are not public, "
        'e.g. ["10.0.0.0/8"] for receivers inside your own network. '
        "Public addresses are always allowed.",
    )

    visibility_timeout_s: int = Field(
        300,
        description="A job not acknowledged this long after delivery "
        "(its worker died) is delivered again. Longer than any job.",
    )
    triton_retry_s: int = Field(5, description="A job whose Triton call failed is retried after this long.")
    sweep_interval_s: float = Field(
        5, gt=0, description="How often the API looks for accepted jobs whose queue message was never sent."
    )
    sweep_grace_s: float = Field(
        10, gt=0, description="How long an accepted job may wait for its queue message before the sweeper sends it."
    )
    worker_metrics_port: int = Field(9100, description="Each worker process serves its Prometheus metrics here.")
    retry_after_s: int = 2
    log_level: str = "INFO"

    @property
    def queue_url(self) -> str:
        return self.broker_url or self.redis_url
