"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from video_moderation.api.problem_details import backend_unavailable, install_generic_handlers, problem_response
from video_moderation.job_store import StoreUnavailable

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(StoreUnavailable)
    async def on_store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("Redis unavailable: %s", exc)
        detail = "the job queue (Redis) cannot be reached; nothing was accepted; retry later"
        return problem_response(request, backend_unavailable("redis", detail, retry_after_s))
