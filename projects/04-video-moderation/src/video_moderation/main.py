"""The app factory: ``uvicorn --factory video_moderation.main:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from video_moderation.api.middleware import install_middleware
from video_moderation.api.problems import install_problem_handlers
from video_moderation.api.routes import router
from video_moderation.celery_app import create_celery
from video_moderation.job_store import JobStore, StoreUnavailable
from video_moderation.logging_config import configure_logging
from video_moderation.services.jobs import Jobs
from video_moderation.settings import Settings

log = logging.getLogger(__name__)


# --8<-- [start:sweeper]
async def sweep_forever(jobs: Jobs, interval_s: float) -> None:
    """Accepted jobs whose queue message was lost get it here, whichever API instance runs this."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(jobs.sweep)
        except StoreUnavailable as exc:
            log.warning("sweep skipped, Redis unavailable: %s", exc)


# --8<-- [end:sweeper]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        Path(settings.storage_dir).mkdir(parents=True, exist_ok=True)
        app.state.settings = settings
        jobs = app.state.jobs = Jobs(JobStore(settings.redis_url), create_celery(settings), settings)
        sweeper = asyncio.create_task(sweep_forever(jobs, settings.sweep_interval_s))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        jobs.store.redis.close()

    app = FastAPI(
        title="Batch video moderation",
        version="1.0.0",
        lifespan=lifespan,
        summary="Videos in, flagged segments out: Celery jobs with priorities, progress and signed webhooks.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_upload_bytes + 1024 * 1024)
    return app
