"""Typed settings: the only thing that differs between local mode and compose mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables prefixed ``IMAGE_CLASSIFICATION_`` (e.g. ``IMAGE_CLASSIFICATION_TRITON_URL``)."""

    model_config = SettingsConfigDict(env_prefix="IMAGE_CLASSIFICATION_")

    backend: Literal["triton", "onnxruntime"] = Field(
        "triton",
        description=(
            "triton: the model on a Triton server (the default, every deployment but the edge); "
            "onnxruntime: the model file loaded into this process (a small box with no model server)."
        ),
    )
    triton_url: str = Field("localhost:8001", description="Triton gRPC endpoint, host:port.")
    model_name: str = "efficientnet_lite0"
    model_version: str = Field("", description="Empty: the version Triton considers latest.")
    triton_timeout_s: float = Field(10.0, gt=0, description="Deadline for one inference call.")
    triton_shm_slots: int = Field(
        0,
        ge=0,
        description=(
            "Shared-memory slots for input tensors, one image each (0: off, tensors go inside the gRPC "
            "request). Only where Triton can open this process's /dev/shm: the same host or IPC namespace."
        ),
    )
    triton_retry_model_errors: bool = Field(
        True,
        description=(
            "Send a request once more when the model raised on its batch: Triton fails the whole batch "
            "when one input makes the model raise."
        ),
    )
    onnx_model_path: Path | None = Field(None, description="backend=onnxruntime: the model file.")
    onnx_model_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description=("backend=onnxruntime: refuse to start unless the file has this SHA-256."),
    )
    onnx_threads: int = Field(1, ge=1, description="backend=onnxruntime: threads for one inference.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")

    max_upload_bytes: int = Field(8 * 1024 * 1024, description="Largest accepted image file.")
    max_request_bytes: int = Field(32 * 1024 * 1024, description="Largest accepted request body.")
    max_image_pixels: int = Field(40_000_000, description="Larger decoded images are refused.")
    max_batch_images: int = Field(16, ge=1, description="Most images in one batch request.")
    log_level: str = "INFO"
