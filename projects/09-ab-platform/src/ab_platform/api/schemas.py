"""Request and response bodies, with the limits that keep bad input out."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ab_platform.experiments import ExperimentSpec, Stage

Label = Literal["negative", "neutral", "positive"]
UnitId = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$", examples=["user-42"])
Reason = Field(min_length=1, max_length=1000, description="Why: kept with the change, for the audit trail.")


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, examples=["The flight was delayed again and nobody told us anything."])
    unit_id: str = UnitId
    experiment: str | None = Field(None, max_length=63, description="Omitted: the default model answers.")


class PredictResponse(BaseModel):
    prediction_id: uuid.UUID
    label: Label
    scores: dict[str, float]
    model: str = Field(description="The model that answered.")
    arm: str | None = Field(description="The arm the unit is assigned to (None without an experiment).")
    experiment: str | None
    stage: str | None
    fallback: bool = Field(description="The arm's model failed; control answered instead.")
    assignment_cached: bool = Field(description="Assigned from cached experiment state: PostgreSQL was unreachable.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prediction_id: uuid.UUID
    label: Label | None = Field(None, description="The true label, if known.")
    correct: bool | None = Field(None, description="Or only whether the answer was right.")

    @model_validator(mode="after")
    def _one(self) -> FeedbackRequest:
        if (self.label is None) == (self.correct is None):
            raise ValueError("give exactly one of label and correct")
        return self


class FeedbackResponse(BaseModel):
    prediction_id: uuid.UUID
    stored: Literal["database", "spool"] = Field(description="spool: buffered durably until PostgreSQL is back.")


class CreateExperiment(ExperimentSpec):
    model_config = ConfigDict(extra="forbid")
    reason: str = Reason


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage
    reason: str = Reason
    winner: str | None = Field(None, description="With stage=promoted: the candidate that wins.")


class WeightsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[str, float] = Field(examples=[{"sentiment_lexicon": 0.8, "sentiment_minilm": 0.2}])
    reason: str = Reason


class ExperimentView(BaseModel):
    id: str
    stage: str
    step: int | None
    weights: dict[str, float]
    rolled_back: dict[str, str]
    winner: str | None
    spec: ExperimentSpec
    last_event: int


class EventView(BaseModel):
    seq: int
    at: str
    actor: str
    kind: str
    reason: str
    data: dict[str, Any]


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded"]
    triton: bool
    database: bool
    spool_entries: int
