"""Every error leaves the service as RFC 9457 problem+json with a stable ``type``; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from image_classification import metrics
from image_classification.services.preprocessing import ImageTooLarge, InvalidImage
from image_classification.triton_client import TritonUnavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client can act on, raised anywhere in the service and rendered here."""

    def __init__(self, status: int, slug: str, title: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}


def problem_response(
    request: Request, status: int, slug: str, title: str, detail: str, headers: dict | None = None, **extra
) -> JSONResponse:
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def backend_unavailable(retry_after_s: int, detail: str) -> Problem:
    return Problem(
        503, "backend-unavailable", "Inference backend unavailable", detail, headers={"Retry-After": str(retry_after_s)}
    )


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return problem_response(request, exc.status, exc.slug, exc.title, exc.detail, exc.headers)

    @app.exception_handler(InvalidImage)
    async def on_invalid_image(request: Request, exc: InvalidImage):
        return problem_response(request, 422, "invalid-image", "Invalid image", str(exc))

    @app.exception_handler(ImageTooLarge)
    async def on_image_too_large(request: Request, exc: ImageTooLarge):
        return problem_response(request, 413, "image-too-large", "Image too large", str(exc))

    # --8<-- [start:unavailable]
    @app.exception_handler(TritonUnavailable)
    async def on_triton_unavailable(request: Request, exc: TritonUnavailable):
        metrics.BACKEND_UNAVAILABLE.inc()
        log.warning("triton unavailable: %s", exc)
        problem = backend_unavailable(retry_after_s, "Triton cannot serve the model right now; retry later.")
        return await on_problem(request, problem)

    # --8<-- [end:unavailable]

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem_response(
            request,
            422,
            "validation-error",
            "Request validation failed",
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        title = HTTPStatus(exc.status_code).phrase
        return problem_response(request, exc.status_code, slug, title, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception):
        log.exception("unhandled error")
        return problem_response(
            request, 500, "internal-error", "Internal error", "The service failed on this request; it has been logged."
        )
