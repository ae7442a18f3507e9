"""Typed settings: the only thing that differs between local mode and compose mode."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables prefixed ``AB_PLATFORM_`` (e.g. ``AB_PLATFORM_TRITON_URL``)."""

    model_config = SettingsConfigDict(env_prefix="AB_PLATFORM_")

    triton_url: str = Field("localhost:8001", description="Triton gRPC endpoint, host:port.")
    model_timeout_s: float = Field(5.0, gt=0, description="Deadline for one model call.")
    models: list[str] = Field(
        ["sentiment_lexicon", "sentiment_minilm", "sentiment_minilm_narrow"],
        description="The Triton models an experiment may name (text in; SCORES and LABEL out).",
    )
    default_model: str = Field("sentiment_lexicon", description="Serves requests that name no experiment.")
    labels: list[str] = ["negative", "neutral", "positive"]

    database_url: str = Field("postgresql://app@localhost:5432/app", description="PostgreSQL (libpq URL).")
    database_timeout_s: float = Field(2.0, gt=0, description="How long a write waits before it goes to the spool.")
    database_retry_s: float = Field(
        2.0, gt=0, description="After a failed write, how long writes go straight to the spool."
    )
    spool_path: str = Field(
        "/var/lib/ab-platform/spool.sqlite3",
        description="Durable buffer (SQLite) for predictions and feedback while PostgreSQL is down.",
    )
    state_refresh_s: float = Field(1.0, gt=0, description="How often experiment states are re-read.")
    stale_after_s: float = Field(5.0, gt=0, description="A state older than this is flagged as cached.")
    flush_interval_s: float = Field(1.0, gt=0, description="How often the spool is moved to PostgreSQL.")
    controller_interval_s: float = Field(
        10.0, ge=0, description="How often running experiments are evaluated (0: only on request)."
    )

    max_text_chars: int = Field(5000, ge=1, description="Longest text accepted.")
    max_request_bytes: int = Field(256 * 1024, description="Largest accepted request body.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")
    log_level: str = "INFO"
