"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from secure_platform.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from secure_platform.database import DatabaseUnavailable
from secure_platform.limits import Refused
from secure_platform.tokens import ProviderUnavailable
from secure_platform.triton_client import ModelUnavailable

log = logging.getLogger(__name__)


# --8<-- [start:limits]
def limit_problem(exc: Refused) -> Problem:
    headers = {"Retry-After": str(exc.retry_after_s), "RateLimit-Limit": str(exc.limit), "RateLimit-Remaining": "0"}
    if exc.kind == "rate":
        return Problem(429, "rate-limited", "this tenant's request rate is over its plan", headers, limit=exc.limit)
    if exc.kind == "concurrency":
        detail = "this tenant already runs as many inferences at once as its plan allows"
        return Problem(429, "tenant-busy", detail, headers, limit=exc.limit)
    return Problem(429, "quota-exhausted", "this tenant's requests for the month are used up", headers, limit=exc.limit)


# --8<-- [end:limits]


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    def unavailable(request: Request, backend: str, detail: str) -> JSONResponse:
        request.state.reason = f"{backend} unavailable"
        return problem_response(request, backend_unavailable(backend, detail, retry_after_s))

    @app.exception_handler(Refused)
    async def on_refused(request: Request, exc: Refused) -> JSONResponse:
        problem = limit_problem(exc)
        request.state.reason = problem.slug
        return problem_response(request, problem)

    @app.exception_handler(ModelUnavailable)
    async def on_model_unavailable(request: Request, exc: ModelUnavailable) -> JSONResponse:
        log.warning("model unavailable: %s", exc)
        return unavailable(request, "triton", "Triton cannot serve this model right now; nothing was recorded")

    @app.exception_handler(DatabaseUnavailable)
    async def on_database_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return unavailable(request, "postgresql", "PostgreSQL cannot be reached; nothing was answered or recorded")

    @app.exception_handler(RedisError)
    async def on_redis_unavailable(request: Request, exc: RedisError) -> JSONResponse:
        log.warning("redis unavailable: %s", exc)
        return unavailable(request, "redis", "the limits cannot be checked (Redis is down), so nothing runs")

    @app.exception_handler(ProviderUnavailable)
    async def on_provider_unavailable(request: Request, exc: ProviderUnavailable) -> JSONResponse:
        log.warning("identity provider unavailable: %s", exc)
        detail = "the identity provider's keys cannot be fetched to check this token; retry later"
        return unavailable(request, "identity-provider", detail)
