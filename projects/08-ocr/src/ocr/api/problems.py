"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ocr import metrics
from ocr.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from ocr.images import ImageTooLarge, InvalidImage
from ocr.triton_client import TritonUnavailable

log = logging.getLogger(__name__)


def problem_for(exc: InvalidImage | ImageTooLarge) -> Problem:
    if isinstance(exc, ImageTooLarge):
        return Problem(413, "image-too-large", str(exc))
    return Problem(422, "invalid-image", str(exc))


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(InvalidImage)
    @app.exception_handler(ImageTooLarge)
    async def on_bad_image(request: Request, exc: InvalidImage | ImageTooLarge) -> JSONResponse:
        return problem_response(request, problem_for(exc))

    @app.exception_handler(TritonUnavailable)
    async def on_triton_unavailable(request: Request, exc: TritonUnavailable) -> JSONResponse:
        metrics.BACKEND_UNAVAILABLE.inc()
        log.warning("triton unavailable: %s", exc)
        detail = "Triton cannot serve the OCR models right now; nothing was read, retry later."
        return problem_response(request, backend_unavailable("triton", detail, retry_after_s))
