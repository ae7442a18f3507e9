"""The app factory: ``uvicorn --factory secure_platform.main:create_app``."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from secure_platform.api.audit_trail import install_audit_trail
from secure_platform.api.middleware import install_middleware
from secure_platform.api.problems import install_problem_handlers
from secure_platform.api.routes import router
from secure_platform.database import Database, apply_schema
from secure_platform.inference import Inference
from secure_platform.limits import TenantLimits
from secure_platform.logging_config import configure_logging
from secure_platform.settings import Settings
from secure_platform.tokens import TokenVerifier
from secure_platform.triton_client import TritonModels


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.migration_database_url:
            await asyncio.to_thread(apply_schema, settings.migration_database_url, settings.app_role_password)
        http = httpx.AsyncClient(timeout=5.0)
        redis = Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        database = Database(settings.database_url, settings.database_timeout_s, settings.tenant_filter)
        await database.open()
        models = TritonModels(settings.triton_url, settings.model_timeout_s)
        limits = TenantLimits(redis, lease_ms=int(settings.model_timeout_s * 1000) + 5000)
        verifier = TokenVerifier(settings, http)
        await verifier.ready()  # the provider may come up later: readiness waits for it
        state = app.state
        state.settings, state.http, state.redis, state.database = settings, http, redis, database
        state.models, state.limits, state.verifier = models, limits, verifier
        state.inference = Inference(settings, models, database, limits)
        state.ready_model = next(spec.triton_name for spec in settings.models.values() if spec.owner is None)
        yield
        await models.close()
        await database.close()
        await redis.aclose()
        await http.aclose()

    app = FastAPI(
        title="Secure multi-tenant inference",
        version="1.0.0",
        lifespan=lifespan,
        summary="Models for many tenants behind OpenID Connect tokens, per-tenant limits, row-level "
        "security and a hash-chained audit log.",
    )
    app.include_router(router)
    install_problem_handlers(app, settings.retry_after_s)
    install_audit_trail(app)  # inside the request-id middleware: every record carries the id
    install_middleware(app, settings.max_request_bytes)
    return app
