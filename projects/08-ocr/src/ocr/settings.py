"""Typed settings: the only thing that differs between local mode and compose mode."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables prefixed ``OCR_`` (e.g. ``OCR_TRITON_URL``)."""

    model_config = SettingsConfigDict(env_prefix="OCR_")

    triton_url: str = Field("localhost:8001", description="Triton gRPC endpoint, host:port.")
    triton_timeout_s: float = Field(30.0, gt=0, description="Deadline for one call to Triton.")
    detection_model: str = "text_detection"
    direction_model: str = "text_direction"
    recognition_model: str = Field("recognize_text", description="The ensemble: recognition + CTC decoding.")

    # --8<-- [start:knobs]
    # Detection runs on the page resized so that its shorter side is this many pixels (rounded to a
    # multiple of 32). Larger finds smaller print and costs time with the square of the side: the
    # fault drill's "slow model" is this knob turned up, as a careless configuration change would.
    detection_side: int = Field(736, ge=32, le=4096)
    # ...but never by more than this factor: a one-line label 96 pixels high would otherwise be
    # blown up 7.7 times, and the detector then cuts its words apart (measured: see the docs page).
    max_upscale: float = Field(4.0, gt=0, description="Largest enlargement before detection (1000: none, as rapidocr).")
    max_side: int = Field(2000, ge=64, description="Pages larger than this are scaled down first.")
    min_side: int = Field(30, ge=8, description="Pages smaller than this are scaled up first.")
    pixel_threshold: float = Field(0.3, gt=0, lt=1, description="A pixel is text above this probability.")
    box_threshold: float = Field(0.5, gt=0, lt=1, description="A box is kept if its mean probability is above.")
    unclip_ratio: float = Field(1.6, gt=0, description="How far a detected box is grown around its text.")
    flip_threshold: float = Field(0.9, gt=0, lt=1, description="A line is turned 180° above this confidence.")
    page_direction_vote: bool = Field(
        True, description="Lines vote on the page's direction (false: each alone, as rapidocr)."
    )
    min_line_confidence: float = Field(0.5, ge=0, le=1, description="Lines read with less are dropped.")
    # --8<-- [end:knobs]

    max_upload_bytes: int = Field(20 * 1024 * 1024, description="Largest accepted file.")
    max_request_bytes: int = Field(64 * 1024 * 1024, description="Largest accepted request body.")
    max_image_pixels: int = Field(40_000_000, description="Largest accepted decoded image (pixels).")
    max_batch_files: int = Field(16, ge=1, description="Files in one /v1/ocr/batch request.")
    pdf_dpi: int = Field(150, ge=36, le=600, description="Resolution a PDF page is rendered at.")
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 answers.")

    traces_exporter: Literal["otlp", "none"] = Field(
        "otlp", description="otlp: spans to OTEL_EXPORTER_OTLP_ENDPOINT (a collector); none: tracing off."
    )
    service_name: str = Field("ocr", description="service.name on every span.")
    request_metrics: bool = Field(
        True, description="Per-route request metrics and /metrics (off only to measure their cost)."
    )
    log_level: str = "INFO"
