"""Response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ClassifyResponse(BaseModel):
    result_id: str
    device_id: str
    label: str
    class_index: int
    score: float
    model_version: str
    cached: bool


class ModelRow(BaseModel):
    version: str
    sha256: str
    status: str
    reason: str
    installed_at: str


class Status(BaseModel):
    gateway_id: str
    model_version: str | None
    outbox_entries: int | None
    storage_writable: bool
    models: list[ModelRow]


class Health(BaseModel):
    status: Literal["ok"]
    model_version: str
