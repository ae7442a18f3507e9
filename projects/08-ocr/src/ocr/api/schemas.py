"""What the API answers, as Pydantic models (they are the OpenAPI schema too)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OcrLine(BaseModel):
    text: str
    confidence: float = Field(description="The recogniser's mean character probability, 0 to 1.")
    box: list[list[float]] = Field(description="Four corners [x, y], clockwise from the top-left, in pixels.")
    upside_down: bool = Field(description="The line was printed upside down and turned before reading.")


class OcrResult(BaseModel):
    text: str = Field(description="The lines in reading order, one per line.")
    lines: list[OcrLine]
    width: int
    height: int
    model_versions: dict[str, str] = Field(description="The version of each model that answered.")
    timings_ms: dict[str, float] = Field(
        description="Time per stage: decode, detect, crop, classify, recognize, order."
    )


class FileResult(BaseModel):
    filename: str | None
    result: OcrResult | None = None
    error: dict | None = Field(None, description="The problem (RFC 9457) that kept this file from being read.")


class BatchResult(BaseModel):
    results: list[FileResult]


class HealthStatus(BaseModel):
    status: str
