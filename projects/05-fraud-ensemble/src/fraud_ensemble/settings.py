"""Typed settings, from environment variables FRAUD_ENSEMBLE_*."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_ENSEMBLE_")

    triton_url: str = Field("localhost:8001", description="Triton's gRPC address.")
    ensemble_file: Path = Field(
        Path("/models/fraud_vote/1/ensemble.json"),
        description="Weights and threshold fitted at build time (model_build/train.py).",
    )
    mode: Literal["fanout", "ensemble"] = Field(
        "fanout",
        description="fanout: three concurrent calls with deadlines, a model that fails is left out; "
        "ensemble: one call to Triton's fraud_ensemble, which fails whole.",
    )
    models: dict[str, str] = Field(
        {"gbm": "fraud_gbm", "logreg": "fraud_logreg", "mlp": "fraud_mlp"},
        description="The voters and each one's Triton model (fanout mode): a test points one at a slowed "
        "copy, the benchmark keeps one alone.",
    )
    model_deadline_ms: float = Field(50, gt=0, description="fanout: how long one model may take.")
    quorum: int = Field(2, ge=1, description="fanout: fewer models voting than this is a 503.")
    max_batch: int = Field(256, ge=1, le=1024, description="Most transactions in one batch request.")
    max_request_bytes: int = Field(1024 * 1024, description="Largest accepted request body.")
    retry_after_s: int = 2
    log_level: str = "INFO"
