"""Typed settings: the only thing that differs between local mode and compose mode."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables prefixed ``IMGCLS_`` (e.g. ``IMGCLS_TRITON_URL``)."""

    model_config = SettingsConfigDict(env_prefix="IMGCLS_")

    triton_url: str = Field("localhost:8001", description="Triton gRPC endpoint, host:port.")
    model_name: str = "efficientnet_lite0"
    model_version: str = Field("", description="Empty: the version Triton considers latest.")
    triton_timeout_s: float = Field(10.0, gt=0, description="Deadline for one inference call.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")

    max_upload_bytes: int = Field(8 * 1024 * 1024, description="Largest accepted image file.")
    max_request_bytes: int = Field(32 * 1024 * 1024, description="Largest accepted request body.")
    max_image_pixels: int = Field(40_000_000, description="Larger decoded images are refused.")
    max_batch_images: int = Field(16, ge=1, description="Most images in one batch request.")
    log_level: str = "INFO"
