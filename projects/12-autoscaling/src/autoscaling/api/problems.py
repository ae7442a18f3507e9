"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from autoscaling import metrics
from autoscaling.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from autoscaling.llm_client import LLMUnavailable, QueueFull

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(QueueFull)
    async def on_queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        metrics.REJECTED.labels("queue-full").inc()
        detail = "every replica is busy and the queue is full; retry later"
        return problem_response(request, Problem(429, "overloaded", detail, {"Retry-After": str(exc.retry_after_s)}))

    @app.exception_handler(LLMUnavailable)
    async def on_unavailable(request: Request, exc: LLMUnavailable) -> JSONResponse:
        log.warning("LLM unavailable: %s", exc)
        metrics.REJECTED.labels("unavailable").inc()
        detail = "no model replica can answer right now; nothing was generated"
        return problem_response(request, backend_unavailable("llm", detail, retry_after_s))
