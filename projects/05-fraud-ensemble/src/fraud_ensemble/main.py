"""The app factory: ``uvicorn --factory fraud_ensemble.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator, metrics

from fraud_ensemble.api.body_limit import BodySizeLimitMiddleware
from fraud_ensemble.api.problems import install_problem_handlers
from fraud_ensemble.api.routes import router
from fraud_ensemble.logging_config import AccessLogMiddleware, configure_logging
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
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    instrumentator = Instrumentator(should_group_status_codes=False, excluded_handlers=["/metrics"])
    instrumentator.add(metrics.latency(should_include_status=True))
    instrumentator.add(metrics.requests())
    instrumentator.instrument(app).expose(app, include_in_schema=False)
    return app
