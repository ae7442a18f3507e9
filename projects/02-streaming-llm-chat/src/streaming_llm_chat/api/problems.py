"""Every error is RFC 9457 problem+json with a stable ``type``; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streaming_llm_chat import metrics
from streaming_llm_chat.conversation_store import ConversationBusy, ConversationFull, StoreUnavailable
from streaming_llm_chat.llm_client import LLMUnavailable
from streaming_llm_chat.services.admission import Overloaded
from streaming_llm_chat.services.tenants import TenantBusy, Unauthenticated
from streaming_llm_chat.tenant_quota import QuotaExhausted

log = logging.getLogger(__name__)


class Problem(Exception):
    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers = status, slug, detail, headers or {}


def problem(status: int, slug: str, detail: str, instance: str, headers: dict | None = None, **extra):
    body = {
        "type": f"/problems/{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    retry = {"Retry-After": str(retry_after_s)}

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return problem(exc.status, exc.slug, exc.detail, request.url.path, exc.headers)

    @app.exception_handler(Overloaded)
    async def on_overloaded(request: Request, exc: Overloaded):
        metrics.REJECTED.labels("overloaded").inc()
        return problem(429, "overloaded", str(exc), request.url.path, retry)

    @app.exception_handler(Unauthenticated)
    async def on_unauthenticated(request: Request, exc: Unauthenticated):
        return problem(401, "unauthenticated", str(exc), request.url.path, {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(TenantBusy)
    async def on_tenant_busy(request: Request, exc: TenantBusy):
        metrics.TENANT_REJECTED.labels(exc.tenant.name, "tenant-busy").inc()
        return problem(429, "tenant-busy", str(exc), request.url.path, retry)

    @app.exception_handler(QuotaExhausted)
    async def on_quota(request: Request, exc: QuotaExhausted):
        metrics.TENANT_REJECTED.labels(exc.tenant.name, "quota-exhausted").inc()
        return problem(429, "quota-exhausted", str(exc), request.url.path, {"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(ConversationBusy)
    async def on_busy(request: Request, exc: ConversationBusy):
        metrics.REJECTED.labels("conversation-busy").inc()
        return problem(
            409,
            "conversation-busy",
            "another message of this conversation is still being answered; send this one when it is done",
            request.url.path,
            retry,
        )

    @app.exception_handler(ConversationFull)
    async def on_full(request: Request, exc: ConversationFull):
        metrics.REJECTED.labels("conversation-full").inc()
        return problem(
            422,
            "conversation-full",
            "this conversation holds as many messages as are kept; start a new one, or DELETE this one",
            request.url.path,
        )

    @app.exception_handler(LLMUnavailable)
    async def on_llm_down(request: Request, exc: LLMUnavailable):
        metrics.REJECTED.labels("llm-unavailable").inc()
        log.warning("LLM server unavailable: %s", exc)
        return problem(
            503, "llm-unavailable", "the LLM server cannot answer right now; retry later", request.url.path, retry
        )

    @app.exception_handler(StoreUnavailable)
    async def on_store_down(request: Request, exc: StoreUnavailable):
        metrics.REJECTED.labels("store-unavailable").inc()
        log.warning("Redis unavailable: %s", exc)
        return problem(
            503,
            "history-unavailable",
            "conversation history is unavailable, so the service does not answer without it; retry later",
            request.url.path,
            retry,
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, "validation-error", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        return problem(exc.status_code, slug, str(exc.detail), request.url.path, exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception):
        log.exception("unhandled error")
        return problem(
            500, "internal-error", "the service failed on this request; it has been logged", request.url.path
        )
