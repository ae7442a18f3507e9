"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ab_platform.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from ab_platform.platform_service import (
    DatabaseUnavailable,
    FeedbackExists,
    InvalidChange,
    InvalidWeights,
    UnknownModel,
    UnknownPrediction,
)
from ab_platform.store import ExperimentExists, UnknownExperiment
from ab_platform.triton_client import ModelUnavailable

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(UnknownExperiment)
    async def on_unknown_experiment(request: Request, exc: UnknownExperiment) -> JSONResponse:
        return problem_response(request, Problem(404, "unknown-experiment", f"no experiment {exc}"))

    @app.exception_handler(UnknownPrediction)
    async def on_unknown_prediction(request: Request, exc: UnknownPrediction) -> JSONResponse:
        detail = f"no prediction {exc} was given to a client"
        return problem_response(request, Problem(404, "unknown-prediction", detail))

    @app.exception_handler(ExperimentExists)
    async def on_exists(request: Request, exc: ExperimentExists) -> JSONResponse:
        return problem_response(request, Problem(409, "experiment-exists", f"experiment {exc} exists already"))

    @app.exception_handler(FeedbackExists)
    async def on_feedback_exists(request: Request, exc: FeedbackExists) -> JSONResponse:
        return problem_response(request, Problem(409, "feedback-exists", f"prediction {exc} already has feedback"))

    @app.exception_handler(InvalidChange)
    async def on_invalid_change(request: Request, exc: InvalidChange) -> JSONResponse:
        return problem_response(request, Problem(409, "invalid-change", str(exc)))

    @app.exception_handler(InvalidWeights)
    async def on_invalid_weights(request: Request, exc: InvalidWeights) -> JSONResponse:
        return problem_response(request, Problem(422, "invalid-weights", str(exc)))

    @app.exception_handler(UnknownModel)
    async def on_unknown_model(request: Request, exc: UnknownModel) -> JSONResponse:
        return problem_response(request, Problem(422, "unknown-model", str(exc)))

    @app.exception_handler(ModelUnavailable)
    async def on_model_unavailable(request: Request, exc: ModelUnavailable) -> JSONResponse:
        log.warning("model unavailable: %s", exc)
        detail = "Triton cannot serve the model this request needs; nothing was recorded, retry later."
        return problem_response(request, backend_unavailable("triton", detail, retry_after_s))

    @app.exception_handler(DatabaseUnavailable)
    async def on_database_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        detail = "PostgreSQL is needed for this request and cannot be reached; nothing was changed, retry later."
        return problem_response(request, backend_unavailable("postgresql", detail, retry_after_s))
