"""Request and response bodies (the OpenAPI document is generated from them)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _finite(rows: list[list[float]]) -> list[list[float]]:
    if not all(math.isfinite(value) for row in rows for value in row):
        raise ValueError("every value must be a finite number")
    return rows


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a "tenant" or "roles" field is refused, never read

    inputs: Annotated[
        list[Annotated[list[float], Field(min_length=1, max_length=1024)]],
        Field(min_length=1, description="Feature rows, each as wide as the model's input."),
        AfterValidator(_finite),
    ]


class PredictResponse(BaseModel):
    id: uuid.UUID = Field(description="The stored prediction (GET /v1/predictions/{id}).")
    model: str
    labels: list[str]
    probabilities: list[list[float]]


class ModelInfo(BaseModel):
    name: str
    features: int
    labels: list[str]
    owned: bool = Field(description="The model belongs to the caller's tenant alone.")
    enabled: bool = Field(description="False: the tenant's admin switched it off.")


class EntitlementChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class PredictionRecord(BaseModel):
    id: uuid.UUID
    model: str
    client_id: str
    subject: str
    row_count: int
    input_sha256: str
    labels: list[str]
    created_at: datetime


class AuditEntry(BaseModel):
    seq: int
    hash: str
    at: str
    action: str
    decision: str
    status: int
    request_id: str
    tenant: str | None
    subject: str | None
    client_id: str | None
    resource: str
    model: str | None
    reason: str
    input_sha256: str | None
    input_bytes: int | None


class Caller(BaseModel):
    subject: str
    tenant: str
    client_id: str
    roles: list[str]
    scopes: list[str]
    expires_at: int


class HealthStatus(BaseModel):
    status: str
    identity_provider: bool
    triton: bool
    database: bool
    redis: bool
