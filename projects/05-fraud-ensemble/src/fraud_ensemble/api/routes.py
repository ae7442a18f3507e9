"""HTTP routes: score one transaction, score a batch, health."""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request

from fraud_ensemble import metrics
from fraud_ensemble.api.problem_details import Problem, not_ready, problem_doc
from fraud_ensemble.api.schemas import Batch, BatchResponse, HealthStatus, Score, ScoreResponse, Transaction, Vote
from fraud_ensemble.services.scoring import Scored, Scorer
from fraud_ensemble.settings import Settings

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    413: problem_doc("The body is larger than the service accepts."),
    422: problem_doc("A field missing, extra, not a finite number, or out of range; too many transactions."),
    503: problem_doc("Fewer models answered than the quorum (or Triton is down); see Retry-After."),
}


async def get_scorer(request: Request) -> Scorer:
    return request.app.state.scorer


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ScorerDep = Annotated[Scorer, Depends(get_scorer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def feature_rows(transactions: list[Transaction], columns: list[str]) -> np.ndarray:
    """The columns the models read, in their order, as float32 rows."""
    return np.array([[getattr(t, c) for c in columns] for t in transactions], dtype=np.float32)


def results(scored: Scored, threshold: float) -> list[Score]:
    out = []
    for i, probability in enumerate(scored.probabilities):
        decision = "fraud" if probability >= threshold else "legit"
        metrics.DECISIONS.labels(decision).inc()
        votes = [Vote(model=m, score=float(s[i]), weight=round(scored.weights[m], 6)) for m, s in scored.scores.items()]
        out.append(Score(fraud_probability=float(probability), decision=decision, votes=votes))
    return out


def answer_fields(scorer: Scorer, scored: Scored, started: float) -> dict[str, Any]:
    settings = scorer.settings
    models = {"ensemble": "fraud_ensemble"} if settings.mode == "ensemble" else dict(settings.models)
    return {
        "threshold": scorer.spec.threshold,
        "voted": list(scored.scores),
        "missing": scored.missing,
        "degraded": scored.degraded,
        "mode": settings.mode,
        "models": models,
        "timings_ms": {**scored.model_ms, "total": round((time.perf_counter() - started) * 1000, 2)},
    }


# --8<-- [start:score]
@router.post("/v1/score", response_model=ScoreResponse, tags=["scoring"], responses=ERRORS)
async def score(transaction: Transaction, scorer: ScorerDep) -> ScoreResponse:
    """Score one transaction: the fraud probability, the decision, and each model's vote."""
    started = time.perf_counter()
    scored = await scorer.score(feature_rows([transaction], scorer.spec.features))
    (result,) = results(scored, scorer.spec.threshold)
    return ScoreResponse(**result.model_dump(), **answer_fields(scorer, scored, started))


# --8<-- [end:score]


@router.post("/v1/score/batch", response_model=BatchResponse, tags=["scoring"], responses=ERRORS)
async def score_batch(batch: Batch, scorer: ScorerDep, settings: SettingsDep) -> BatchResponse:
    """Score up to FRAUD_ENSEMBLE_MAX_BATCH transactions in one call per model."""
    if len(batch.transactions) > settings.max_batch:
        raise Problem(422, "too-many-transactions", f"{len(batch.transactions)} sent; at most {settings.max_batch}")
    started = time.perf_counter()
    scored = await scorer.score(feature_rows(batch.transactions, scorer.spec.features))
    return BatchResponse(results=results(scored, scorer.spec.threshold), **answer_fields(scorer, scored, started))


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: ERRORS[503]})
async def ready(scorer: ScorerDep, settings: SettingsDep) -> HealthStatus:
    """Ready when the quorum can be met (fanout) or the ensemble is loaded (ensemble)."""
    missing = await scorer.ready()
    # fanout: enough voters for the quorum; ensemble: the one ensemble model (it fails whole)
    if missing and (settings.mode == "ensemble" or len(settings.models) - len(missing) < settings.quorum):
        raise not_ready([f"models {', '.join(missing)} on Triton"], settings.retry_after_s)
    return HealthStatus(status="ready" if not missing else "degraded")
