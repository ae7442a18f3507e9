"""The app factory: ``uvicorn --factory translation.main:create_app``. Document jobs run in the
workers (worker.py); short texts are translated here."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from translation.api.middleware import install_middleware
from translation.api.problems import install_problem_handlers
from translation.api.routes import router
from translation.jobs import Jobs
from translation.logging_config import configure_logging
from translation.settings import Settings
from translation.storage import Storage, StorageUnavailable
from translation.translator import build_translator

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.redis = redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        app.state.storage = storage = Storage(settings)
        app.state.jobs = Jobs(storage, redis)
        app.state.translator = translator = build_translator(settings, redis)
        try:
            await storage.ensure_bucket()
        except StorageUnavailable as exc:  # the workers create it too; documents wait for S3
            log.warning("S3 bucket not checked yet: %s", exc)
        yield
        await translator.engines["neural"].aclose()  # type: ignore[attr-defined]
        await redis.aclose()

    app = FastAPI(
        title="Translation",
        version="1.0.0",
        lifespan=lifespan,
        summary="English-Spanish translation that pays for each segment once: two engines, a memory, jobs in S3.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
