"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from edge_gateway import metrics
from edge_gateway.api.problem_details import Problem, install_generic_handlers, problem_response
from edge_gateway.bundles import BundleRefused
from edge_gateway.classifier import NoModel
from edge_gateway.devices import BadSignature, UnknownDevice
from edge_gateway.gateway import BadCaptureTime, ImageTooBig
from edge_gateway.images import ImageTooLarge, InvalidImage
from edge_gateway.store import StorageUnavailable


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    def counted(request: Request, outcome: str, problem: Problem) -> JSONResponse:
        if request.url.path == "/v1/classify":
            metrics.IMAGES.labels("http", outcome).inc()
        return problem_response(request, problem)

    @app.exception_handler(UnknownDevice)
    async def on_unknown_device(request: Request, exc: UnknownDevice) -> JSONResponse:
        return counted(request, "UnknownDevice", Problem(403, "unknown-device", str(exc)))

    @app.exception_handler(BadSignature)
    async def on_bad_signature(request: Request, exc: BadSignature) -> JSONResponse:
        return counted(request, "BadSignature", Problem(401, "bad-signature", str(exc)))

    @app.exception_handler(InvalidImage)
    async def on_invalid_image(request: Request, exc: InvalidImage) -> JSONResponse:
        return counted(request, "InvalidImage", Problem(422, "invalid-image", str(exc)))

    @app.exception_handler(ImageTooLarge)
    async def on_image_too_large(request: Request, exc: ImageTooLarge) -> JSONResponse:
        return counted(request, "ImageTooLarge", Problem(413, "image-too-large", str(exc)))

    @app.exception_handler(ImageTooBig)
    async def on_image_too_big(request: Request, exc: ImageTooBig) -> JSONResponse:
        return counted(request, "ImageTooBig", Problem(413, "payload-too-large", str(exc)))

    @app.exception_handler(BadCaptureTime)
    async def on_bad_time(request: Request, exc: BadCaptureTime) -> JSONResponse:
        return counted(request, "BadCaptureTime", Problem(422, "invalid-capture-time", str(exc)))

    @app.exception_handler(NoModel)
    async def on_no_model(request: Request, exc: NoModel) -> JSONResponse:
        headers = {"Retry-After": str(retry_after_s)}
        return counted(request, "NoModel", Problem(503, "no-model", "no model is installed yet; retry later", headers))

    @app.exception_handler(StorageUnavailable)
    async def on_storage(request: Request, exc: StorageUnavailable) -> JSONResponse:
        metrics.STORAGE_OK.set(0)
        headers = {"Retry-After": str(retry_after_s)}
        detail = "the gateway cannot store results now (disk full or read-only); nothing was accepted"
        return counted(request, "StorageUnavailable", Problem(503, "storage-unavailable", detail, headers))

    @app.exception_handler(BundleRefused)
    async def on_refused(request: Request, exc: BundleRefused) -> JSONResponse:
        return problem_response(request, Problem(409, "bundle-refused", str(exc)))
