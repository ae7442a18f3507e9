"""The app factory: ``uvicorn --factory autoscaling.main:create_app`` (the router; the LLM replicas
run on Ray Serve, see llm_deployment.py)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from autoscaling.api.middleware import install_middleware
from autoscaling.api.problems import install_problem_handlers
from autoscaling.api.routes import router
from autoscaling.llm_client import LLMClient
from autoscaling.logging_config import configure_logging
from autoscaling.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.llm = LLMClient(settings.llm_url, settings.request_timeout_s, settings.hold_s)
        yield
        await app.state.llm.close()

    app = FastAPI(
        title="Autoscaling LLM service",
        version="1.0.0",
        lifespan=lifespan,
        summary="OpenAI-compatible chat completions from LLM replicas that Ray Serve scales on their queue.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
