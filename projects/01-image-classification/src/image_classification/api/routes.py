"""HTTP routes: classification (one image, a batch) and health."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile

from image_classification.api.deps import BackendDep, ClassifierDep, SettingsDep
from image_classification.api.problem_details import Problem, not_ready, problem_doc
from image_classification.api.schemas import (
    BatchClassifyResponse,
    ClassifyResponse,
    HealthStatus,
    ImageResult,
    ModelRef,
    Prediction,
    Timings,
)
from image_classification.services.classifier import Classification
from image_classification.settings import Settings

ACCEPTED_CONTENT_TYPES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "application/octet-stream",  # clients that do not label the part; the decoder decides
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(text)
    for status, text in [
        (413, "The upload is too large (bytes or pixels)."),
        (415, "The file is not labelled as a supported image type."),
        (422, "Not an image, a corrupt image, no file, or a parameter out of range."),
        (503, "Triton is unavailable; the answer carries Retry-After."),
    ]
}

router = APIRouter()
TopK = Annotated[int, Query(ge=1, le=100, description="How many classes to return per image.")]


async def read_image(upload: UploadFile, settings: Settings) -> bytes:
    """Check type and size of one uploaded part and read it (the classifier decodes it)."""
    content_type = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            f"{content_type!r} is not a supported image type: send JPEG, PNG, WebP, BMP, GIF or TIFF.",
        )
    if upload.size is not None and upload.size > settings.max_upload_bytes:
        raise Problem(
            413,
            "payload-too-large",
            f"{upload.filename or 'the file'} is larger than the {settings.max_upload_bytes} bytes accepted.",
        )
    return await upload.read()


def predictions(scores) -> list[Prediction]:
    return [Prediction(class_id=s.class_id, label=s.label, score=s.score) for s in scores]


def timings(result: Classification, started: float) -> Timings:
    return Timings(
        decode_ms=result.decode_ms,
        preprocess_ms=result.preprocess_ms,
        inference_ms=result.inference_ms,
        total_ms=(time.perf_counter() - started) * 1000,
    )


# --8<-- [start:classify-route]
@router.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS, tags=["classify"])
async def classify(
    image: Annotated[UploadFile, File(description="A JPEG, PNG, WebP, BMP, GIF or TIFF image.")],
    classifier: ClassifierDep,
    settings: SettingsDep,
    top_k: TopK = 5,
) -> ClassifyResponse:
    """Classify one image into the 1,000 ImageNet classes."""
    started = time.perf_counter()
    upload = await read_image(image, settings)
    result = await classifier.classify([upload], top_k, settings.max_image_pixels)
    return ClassifyResponse(
        model=ModelRef(name=result.model_name, version=result.model_version),
        predictions=predictions(result.predictions[0]),
        timings=timings(result, started),
    )


# --8<-- [end:classify-route]


@router.post("/v1/classify/batch", response_model=BatchClassifyResponse, responses=ERRORS, tags=["classify"])
async def classify_batch(
    images: Annotated[list[UploadFile], File(description="Several images, one form part each.")],
    classifier: ClassifierDep,
    settings: SettingsDep,
    top_k: TopK = 5,
) -> BatchClassifyResponse:
    """Classify several images in one Triton call (they travel as one batch)."""
    if len(images) > settings.max_batch_images:
        raise Problem(
            422,
            "too-many-images",
            f"{len(images)} images sent; at most {settings.max_batch_images} per request.",
        )
    started = time.perf_counter()
    uploads = [await read_image(upload, settings) for upload in images]
    result = await classifier.classify(uploads, top_k, settings.max_image_pixels)
    return BatchClassifyResponse(
        model=ModelRef(name=result.model_name, version=result.model_version),
        results=[
            ImageResult(filename=upload.filename, predictions=predictions(scores))
            for upload, scores in zip(images, result.predictions, strict=True)
        ],
        timings=timings(result, started),
    )


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    """The process is up and answering."""
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: ERRORS[503]})
async def ready(backend: BackendDep, settings: SettingsDep) -> HealthStatus:
    """Ready only when Triton reports the model ready to serve (in-process: once it is loaded)."""
    if not await backend.is_ready():
        raise not_ready([f"model {settings.model_name!r} on Triton"], settings.retry_after_s)
    return HealthStatus(status="ready")
