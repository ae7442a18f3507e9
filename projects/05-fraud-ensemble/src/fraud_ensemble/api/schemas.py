"""Request and response bodies. A transaction is the dataset's row without its label: Time,
V1..V28 (the bank's PCA components) and Amount; every number finite, nothing missing or extra."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The published components lie within about +-120; a bound keeps every value representable in the
# models' float32 (1e228 is a finite JSON number, and infinity once cast).
Finite = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
COMPONENTS = [f"V{i}" for i in range(1, 29)]

EXAMPLE: dict[str, Any] = {"Time": 406.0, **dict.fromkeys(COMPONENTS, 0.0), "Amount": 149.62}


# --8<-- [start:transaction]
class Transaction(BaseModel):
    """One card payment as the bank records it; V1..V28 are its PCA components (the only form in
    which the data was published). Every field required, no other field accepted."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    Time: float = Field(ge=0, le=1e12, allow_inf_nan=False, description="Seconds since the first transaction.")
    V1: Finite
    V2: Finite
    V3: Finite
    V4: Finite
    V5: Finite
    V6: Finite
    V7: Finite
    V8: Finite
    V9: Finite
    V10: Finite
    V11: Finite
    V12: Finite
    V13: Finite
    V14: Finite
    V15: Finite
    V16: Finite
    V17: Finite
    V18: Finite
    V19: Finite
    V20: Finite
    V21: Finite
    V22: Finite
    V23: Finite
    V24: Finite
    V25: Finite
    V26: Finite
    V27: Finite
    V28: Finite
    Amount: float = Field(ge=0, le=1e9, allow_inf_nan=False, description="In euros.")


# --8<-- [end:transaction]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transactions: list[Transaction] = Field(min_length=1)


class Vote(BaseModel):
    model: str = Field(description="The voter: gbm, logreg or mlp.")
    score: float = Field(description="Its fraud probability.")
    weight: float = Field(description="Its weight in this vote (renormalised when another is missing).")


class Score(BaseModel):
    fraud_probability: float
    decision: Literal["fraud", "legit"]
    votes: list[Vote]


class Answer(BaseModel):
    threshold: float = Field(description="fraud_probability at or above it: decision fraud.")
    voted: list[str] = Field(description="The models whose scores made the vote.")
    missing: dict[str, Literal["timeout", "error"]] = Field(description="Models left out, and why.")
    degraded: bool = Field(description="True when not every model voted.")
    mode: Literal["fanout", "ensemble"]
    models: dict[str, str] = Field(description="Voter -> the Triton model that answered for it.")
    timings_ms: dict[str, float]


class ScoreResponse(Answer, Score):
    pass


class BatchResponse(Answer):
    results: list[Score]


class HealthStatus(BaseModel):
    status: str
