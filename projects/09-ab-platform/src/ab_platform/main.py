"""The app factory: ``uvicorn --factory ab_platform.main:create_app``."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ab_platform.api.middleware import install_middleware
from ab_platform.api.problems import install_problem_handlers
from ab_platform.api.routes import router
from ab_platform.logging_config import configure_logging
from ab_platform.migrations import migrate
from ab_platform.platform_service import Platform
from ab_platform.settings import Settings
from ab_platform.spool import Spool
from ab_platform.store import Store
from ab_platform.triton_client import SentimentModels


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The schema first (Alembic, one instance at a time): the service needs its tables.
        await asyncio.to_thread(migrate, settings.database_url)
        store = Store(settings.database_url, settings.database_timeout_s)
        await store.open()
        models = SentimentModels(settings)
        spool = Spool(settings.spool_path)
        platform = Platform(settings, store, models, spool)
        await platform.refresh()
        platform.start_background()
        app.state.settings, app.state.platform = settings, platform
        yield
        await platform.stop_background()
        await platform.flush_spool_quietly()
        await models.close()
        await store.close()
        spool.close()

    app = FastAPI(
        title="A/B platform",
        version="1.0.0",
        lifespan=lifespan,
        summary="Sentiment models rolled out by shadow, canary and A/B tests, decided by sequential statistics.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
