"""Request and response bodies (the OpenAPI document is generated from these)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

EngineName = Literal["apertium", "neural"]
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    if CONTROL.search(text):
        raise ValueError("control characters (NUL, ESC, ...) are not text to translate")
    return text


class TranslateRequest(BaseModel):
    text: str | None = Field(None, description="Prose: split into sentences, translated, joined again.")
    segments: list[str] | None = Field(None, description="Strings translated one by one (UI strings, a table's cells).")
    source: str = Field("en", examples=["en"], max_length=16)
    target: str = Field("es", examples=["es"], max_length=16)
    engine: EngineName | None = Field(None, description="None: the service's routing policy chooses per segment.")

    @field_validator("text")
    @classmethod
    def text_is_text(cls, value: str | None) -> str | None:
        return None if value is None else printable(value)

    @field_validator("segments")
    @classmethod
    def segments_are_text(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [printable(s) for s in value]

    @model_validator(mode="after")
    def one_of_text_or_segments(self) -> TranslateRequest:
        if (self.text is None) == (self.segments is None):
            raise ValueError("send either text or segments")
        if not "".join(self.segments or [self.text or ""]).strip():
            raise ValueError("nothing to translate: the text is empty")
        return self


class SegmentResult(BaseModel):
    source: str
    translation: str
    engine: str = Field(description="apertium, neural, or none (a segment kept untranslated)")
    cached: bool = Field(description="Answered from the translation memory.")
    fallback: bool = Field(description="The chosen engine failed on it; the rule-based engine translated it.")


class TranslateResponse(BaseModel):
    translation: str | None = Field(None, description="With text: the whole translation.")
    segments: list[SegmentResult]
    model_versions: dict[str, str]
    cache_hits: int
    memory: Literal["used", "unavailable"] = Field(description="unavailable: Redis is down, nothing was cached.")
    engine_ms: dict[str, float]
    total_ms: float


class Job(BaseModel):
    id: str
    filename: str
    pair: str
    engine: str | None
    status: Literal["queued", "running", "done", "failed"]
    segments_total: int | None
    segments_done: int
    fallbacks: int = 0
    error: str | None = None
    download_url: str | None = Field(None, description="When done: a presigned S3 URL for the translation.")
    result: str | None = Field(None, description="When done: the translated file's name.")


class HealthStatus(BaseModel):
    status: str
