"""The app factory: ``uvicorn --factory email_assistant.main:create_app``. The API process also runs
the inbound SMTP listener on its event loop; the graph runs in the workers (worker.py)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from email_assistant.api.middleware import install_middleware
from email_assistant.api.problems import install_problem_handlers
from email_assistant.api.routes import router
from email_assistant.intake import Intake
from email_assistant.logging_config import configure_logging
from email_assistant.settings import Settings
from email_assistant.smtp_listener import start_listener
from email_assistant.store import Store, open_pool

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = open_pool(settings.database_url)
        await pool.open(wait=False)  # the service starts while PostgreSQL is down; readiness says so
        app.state.settings = settings
        app.state.store = store = Store(pool)
        app.state.redis = redis = Redis.from_url(settings.redis_url, socket_timeout=5)
        try:
            await store.setup()
        except Exception as exc:  # the worker sets the schema up too; this one may wait
            log.warning("schema not set up yet: %s", exc)
        app.state.intake = intake = Intake(store, redis, settings.max_message_bytes, settings.sender_messages_per_hour)
        smtp = None
        if settings.smtp_listen_port:
            smtp = await start_listener(
                intake,
                settings.smtp_listen_host,
                settings.smtp_listen_port,
                settings.max_message_bytes,
                settings.mail_domain,
            )
        yield
        if smtp is not None:
            smtp.close()
        await redis.aclose()
        await pool.close()

    app = FastAPI(
        title="Email assistant",
        version="1.0.0",
        lifespan=lifespan,
        summary="Triage, look up, draft, and wait for a person: nothing is sent without approval.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_middleware(app, settings.max_request_bytes)
    return app
