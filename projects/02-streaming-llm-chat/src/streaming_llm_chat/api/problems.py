"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from streaming_llm_chat import metrics
from streaming_llm_chat.api.problem_details import (
    Problem,
    backend_unavailable,
    install_generic_handlers,
    problem_response,
)
from streaming_llm_chat.conversation_store import ConversationBusy, ConversationFull, StoreUnavailable
from streaming_llm_chat.llm_client import LLMUnavailable
from streaming_llm_chat.services.admission import Overloaded
from streaming_llm_chat.services.tenants import TenantBusy, Unauthenticated
from streaming_llm_chat.tenant_quota import QuotaExhausted

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)
    retry = {"Retry-After": str(retry_after_s)}

    @app.exception_handler(Overloaded)
    async def on_overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        metrics.REJECTED.labels("overloaded").inc()
        return problem_response(request, Problem(429, "overloaded", str(exc), retry))

    @app.exception_handler(Unauthenticated)
    async def on_unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return problem_response(request, Problem(401, "unauthenticated", str(exc), {"WWW-Authenticate": "Bearer"}))

    @app.exception_handler(TenantBusy)
    async def on_tenant_busy(request: Request, exc: TenantBusy) -> JSONResponse:
        metrics.TENANT_REJECTED.labels(exc.tenant.name, "tenant-busy").inc()
        return problem_response(request, Problem(429, "tenant-busy", str(exc), retry))

    @app.exception_handler(QuotaExhausted)
    async def on_quota(request: Request, exc: QuotaExhausted) -> JSONResponse:
        metrics.TENANT_REJECTED.labels(exc.tenant.name, "quota-exhausted").inc()
        headers = {"Retry-After": str(exc.retry_after_s)}
        return problem_response(request, Problem(429, "quota-exhausted", str(exc), headers))

    @app.exception_handler(ConversationBusy)
    async def on_busy(request: Request, exc: ConversationBusy) -> JSONResponse:
        metrics.REJECTED.labels("conversation-busy").inc()
        detail = "another message of this conversation is still being answered; send this one when it is done"
        return problem_response(request, Problem(409, "conversation-busy", detail, retry))

    @app.exception_handler(ConversationFull)
    async def on_full(request: Request, exc: ConversationFull) -> JSONResponse:
        metrics.REJECTED.labels("conversation-full").inc()
        detail = "this conversation holds as many messages as are kept; start a new one, or DELETE this one"
        return problem_response(request, Problem(422, "conversation-full", detail))

    @app.exception_handler(LLMUnavailable)
    async def on_llm_down(request: Request, exc: LLMUnavailable) -> JSONResponse:
        metrics.REJECTED.labels("llm-unavailable").inc()
        log.warning("LLM server unavailable: %s", exc)
        detail = "the LLM server cannot answer right now; retry later"
        return problem_response(request, backend_unavailable("llm", detail, retry_after_s))

    @app.exception_handler(StoreUnavailable)
    async def on_store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        metrics.REJECTED.labels("store-unavailable").inc()
        log.warning("Redis unavailable: %s", exc)
        detail = "conversation history is unavailable, so the service does not answer without it; retry later"
        return problem_response(request, backend_unavailable("redis", detail, retry_after_s))
