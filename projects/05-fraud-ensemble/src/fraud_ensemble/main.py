"""The app factory: ``uvicorn --factory fraud_ensemble.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from fraud_ensemble.api.middleware import install_middleware
from fraud_ensemble.api.problems import install_problem_handlers
from fraud_ensemble.api.routes import router
from fraud_ensemble.logging_config import configure_logging
from fraud_ensemble.services.scoring import Scorer
from fraud_ensemble.services.voting import EnsembleSpec
from fraud_ensemble.settings import Settings
from fraud_ensemble.triton_client import TritonScorer


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        triton = TritonScorer(settings.triton_url)
        app.state.scorer = Scorer(triton, EnsembleSpec.load(settings.ensemble_file), settings)
        yield
        await triton.close()

    app = FastAPI(
        title="Card-fraud scoring",
        version="1.0.0",
        lifespan=lifespan,
        summary="Three models on Triton, a weighted vote, and an answer that says when a model was missing.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
