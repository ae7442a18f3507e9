"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from image_classification import metrics
from image_classification.api.problem_details import (
    Problem,
    backend_unavailable,
    install_generic_handlers,
    problem_response,
)
from image_classification.services.preprocessing import ImageTooLarge, InvalidImage
from image_classification.triton_client import TritonUnavailable

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(InvalidImage)
    async def on_invalid_image(request: Request, exc: InvalidImage) -> JSONResponse:
        return problem_response(request, Problem(422, "invalid-image", str(exc)))

    @app.exception_handler(ImageTooLarge)
    async def on_image_too_large(request: Request, exc: ImageTooLarge) -> JSONResponse:
        return problem_response(request, Problem(413, "image-too-large", str(exc)))

    # --8<-- [start:unavailable]
    @app.exception_handler(TritonUnavailable)
    async def on_triton_unavailable(request: Request, exc: TritonUnavailable) -> JSONResponse:
        metrics.BACKEND_UNAVAILABLE.inc()
        log.warning("triton unavailable: %s", exc)
        detail = "Triton cannot serve the model right now; retry later."
        return problem_response(request, backend_unavailable("triton", detail, retry_after_s))

    # --8<-- [end:unavailable]
