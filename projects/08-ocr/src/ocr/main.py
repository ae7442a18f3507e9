"""The app factory: ``uvicorn --factory ocr.main:create_app``."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from ocr.api.middleware import install_middleware
from ocr.api.problems import install_problem_handlers
from ocr.api.routes import router
from ocr.logging_config import configure_logging
from ocr.pipeline import OcrPipeline
from ocr.settings import Settings
from ocr.tracing import Tracing
from ocr.triton_client import TritonModels

# Seconds: the SLO's latency threshold (2.5 s) must be a bucket boundary of the request histogram.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    tracing = Tracing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        models = TritonModels(settings)
        app.state.pipeline = OcrPipeline(models, settings, tracing.tracer)
        yield
        await models.close()
        tracing.shutdown()

    app = FastAPI(
        title="OCR",
        version="1.0.0",
        lifespan=lifespan,
        summary="Text from scans and photos: PP-OCR detection, direction and recognition on Triton, watched by SLOs.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes, LATENCY_BUCKETS, settings.request_metrics)
    tracing.instrument(app)
    return app
