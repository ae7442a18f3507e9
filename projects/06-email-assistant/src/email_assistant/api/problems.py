"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

import psycopg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from email_assistant.api.problem_details import (
    Problem,
    backend_unavailable,
    install_generic_handlers,
    problem_response,
)
from email_assistant.intake import MessageTooLarge
from email_assistant.mail import UnreadableMail

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(UnreadableMail)
    async def on_unreadable(request: Request, exc: UnreadableMail) -> JSONResponse:
        return problem_response(request, Problem(422, "unreadable-mail", f"not a message this service can read: {exc}"))

    @app.exception_handler(MessageTooLarge)
    async def on_too_large(request: Request, exc: MessageTooLarge) -> JSONResponse:
        return problem_response(request, Problem(413, "payload-too-large", f"the message is too large: {exc}"))

    # --8<-- [start:database-down]
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("PostgreSQL unavailable: %s", exc)
        detail = "the message store (PostgreSQL) is unavailable; nothing was accepted, retry later"
        return problem_response(request, backend_unavailable("postgresql", detail, retry_after_s))

    # --8<-- [end:database-down]

    @app.exception_handler(redis.exceptions.ConnectionError)
    async def on_redis_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unavailable: %s", exc)
        detail = "the queue (Redis) is unavailable; nothing was accepted, retry later"
        return problem_response(request, backend_unavailable("redis", detail, retry_after_s))
