"""Every error is RFC 9457 problem+json with a stable ``type``; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from video_moderation.job_store import StoreUnavailable

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

    @app.exception_handler(StoreUnavailable)
    async def on_store_down(request: Request, exc: StoreUnavailable):
        log.warning("Redis unavailable: %s", exc)
        return problem(
            503,
            "queue-unavailable",
            "the job queue (Redis) cannot be reached; nothing was accepted; retry later",
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
