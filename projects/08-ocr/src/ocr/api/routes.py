"""HTTP routes: read one file, read several, and health."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile

from ocr.api.problem_details import Problem, not_ready, problem_doc, problem_response
from ocr.api.problems import problem_for
from ocr.api.schemas import BatchResult, FileResult, HealthStatus, OcrLine, OcrResult
from ocr.images import ImageTooLarge, InvalidImage
from ocr.pipeline import OcrPipeline, Reading
from ocr.settings import Settings

ACCEPTED_CONTENT_TYPES = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "application/pdf",
    "application/octet-stream",  # clients that do not label the part; the decoder decides
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(text)
    for status, text in [
        (413, "The upload is too large (bytes or pixels)."),
        (415, "The file is not labelled as an image or a PDF."),
        (422, "Not an image or PDF, a corrupt file, a page the PDF does not have, or a bad parameter."),
        (503, "Triton is unavailable; the answer carries Retry-After."),
    ]
}
PageNumber = Annotated[int, Query(ge=1, le=10_000, description="For a PDF: which page to read (1 is the first).")]

router = APIRouter()


def pipeline_of(request: Request) -> OcrPipeline:
    return request.app.state.pipeline


async def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    """Check one uploaded part's type and size; its bytes."""
    content_type = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            f"{content_type!r} is not accepted: send JPEG, PNG, WebP, BMP, GIF, TIFF or PDF.",
        )
    if upload.size is not None and upload.size > settings.max_upload_bytes:
        raise Problem(
            413,
            "payload-too-large",
            f"{upload.filename or 'the file'} is larger than {settings.max_upload_bytes} bytes.",
        )
    return await upload.read()


def as_result(reading: Reading) -> OcrResult:
    return OcrResult(
        text="\n".join(line.text for line in reading.lines),
        lines=[OcrLine(**vars(line)) for line in reading.lines],
        width=reading.width,
        height=reading.height,
        model_versions=reading.model_versions,
        timings_ms=reading.timings_ms,
    )


# --8<-- [start:ocr-route]
@router.post("/v1/ocr", response_model=OcrResult, responses=ERRORS, tags=["ocr"])
async def ocr(
    request: Request,
    file: Annotated[UploadFile, File(description="An image (JPEG, PNG, WebP, BMP, GIF, TIFF) or a PDF.")],
    page: PageNumber = 1,
) -> OcrResult:
    """Read the text of one image, or of one page of a PDF: lines in reading order with boxes."""
    settings: Settings = request.app.state.settings
    data = await read_upload(file, settings)
    return as_result(await pipeline_of(request).read(data, page))


# --8<-- [end:ocr-route]


@router.post("/v1/ocr/batch", response_model=BatchResult, responses=ERRORS, tags=["ocr"])
async def ocr_batch(
    request: Request,
    files: Annotated[list[UploadFile], File(description="Several images or PDFs (first page each).")],
) -> BatchResult:
    """Read several files. A file that cannot be read gets its own problem in the answer and the
    others are still read; Triton being down fails the whole request (503)."""
    settings: Settings = request.app.state.settings
    if len(files) > settings.max_batch_files:
        raise Problem(422, "too-many-images", f"{len(files)} files sent; at most {settings.max_batch_files}.")
    results = []
    for upload in files:
        data = await read_upload(upload, settings)
        try:
            reading = await pipeline_of(request).read(data)
        except (InvalidImage, ImageTooLarge) as exc:
            error = json.loads(bytes(problem_response(request, problem_for(exc)).body))
            results.append(FileResult(filename=upload.filename, error=error))
            continue
        results.append(FileResult(filename=upload.filename, result=as_result(reading)))
    return BatchResult(results=results)


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    """The process is up and answering."""
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: ERRORS[503]})
async def ready(request: Request) -> HealthStatus:
    """Ready only when Triton serves all three models."""
    missing = await pipeline_of(request).models.not_ready()
    if missing:
        raise not_ready([f"model {name!r} on Triton" for name in missing], request.app.state.settings.retry_after_s)
    return HealthStatus(status="ready")
