"""Typed settings: the only thing that differs between local mode and compose mode.

Two groups: the router's (the FastAPI service readers call) and the LLM deployment's on Ray Serve
(its autoscaling policy and how a replica starts its model server)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


# --8<-- [start:policy]
class ScalingPolicy(BaseModel):
    """Ray Serve's request-based autoscaling for the LLM deployment."""

    min_replicas: int = Field(0, ge=0, description="0: scale to zero when idle.")
    max_replicas: int = Field(2, ge=1)
    target_ongoing_requests: float = Field(
        2, gt=0, description="Requests in flight per replica the autoscaler aims for (queued ones count)."
    )
    max_ongoing_requests: int = Field(4, ge=1, description="Requests one replica runs at once.")
    max_queued_requests: int = Field(16, ge=1, description="Requests waiting beyond that; more get 429.")
    upscale_delay_s: float = Field(2.0, ge=0, description="How long demand must be high before adding replicas.")
    downscale_delay_s: float = Field(30.0, ge=0, description="How long demand must be low before removing one.")
    downscale_to_zero_delay_s: float = Field(60.0, ge=0, description="Idle time before the last replica goes.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After on a 429 from the full queue.")


# --8<-- [end:policy]


class ReplicaSettings(BaseModel):
    """How one LLM replica runs its model server: a command that serves the OpenAI API on {port}."""

    command: list[str] = Field(description="The model server, with {port} where its port goes.")
    model: str = Field("smollm2", description="The model name the server answers to.")
    startup_timeout_s: float = Field(300, gt=0, description="How long a replica may take to load its model.")
    num_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves for one replica.")
    num_gpus: float = Field(0.0, ge=0, description="GPUs (or a fraction) Ray reserves for one replica.")
    max_start_attempts: int = Field(
        5, ge=1, description="Failed starts in a row before the deployment is marked failed (with backoff)."
    )


class Settings(BaseSettings):
    """The router: read from environment variables prefixed ``AUTOSCALING_``."""

    model_config = SettingsConfigDict(env_prefix="AUTOSCALING_")

    llm_url: str = Field("http://localhost:8100", description="Ray Serve's HTTP proxy (the LLM deployment's route).")
    request_timeout_s: float = Field(
        300, gt=0, description="How long a request may wait, a cold start included, before it is dropped."
    )
    hold_s: float = Field(
        0,
        ge=0,
        description="How long to hold a request whose backend refuses connections (no replica yet), retrying: "
        "the activator for a backend scaled to zero that cannot queue by itself (vLLM on Kubernetes). "
        "0: Ray Serve queues it instead.",
    )
    max_messages: int = Field(64, ge=1, description="Most messages in one request.")
    max_chars: int = Field(8000, ge=1, description="Most characters in all messages together.")
    max_tokens_limit: int = Field(512, ge=1, description="The highest max_tokens a request may ask for.")
    max_request_bytes: int = Field(64 * 1024, description="Largest accepted request body.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")
    log_level: str = "INFO"
