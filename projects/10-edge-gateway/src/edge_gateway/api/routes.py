"""HTTP routes: classify an image from a device, read a result, the gateway's status, rollback, health."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Path, Request, UploadFile

from edge_gateway import metrics
from edge_gateway.api.problem_details import Problem, not_ready, problem_doc
from edge_gateway.api.schemas import ClassifyResponse, Health, ModelRow, Status
from edge_gateway.gateway import Incoming
from edge_gateway.store import StorageUnavailable

router = APIRouter()
DeviceId = Annotated[str, Header(alias="X-Device-Id", pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
CapturedAt = Annotated[str, Header(alias="X-Captured-At", max_length=64, examples=["2026-12-01T10:00:00+00:00"])]
Signature = Annotated[str, Header(alias="X-Signature", pattern=r"^[0-9a-f]{64}$")]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(text)
    for status, text in [
        (401, "The signature does not match the device's key."),
        (403, "The device is not on the allow-list."),
        (413, "The image is too large (bytes or pixels)."),
        (422, "Not an image, or a bad capture time."),
        (503, "No model yet, or the database cannot be written; Retry-After is set."),
    ]
}


# --8<-- [start:classify]
@router.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS)
async def classify(
    request: Request,
    image: Annotated[UploadFile, File()],
    device: DeviceId,
    captured_at: CapturedAt,
    signature: Signature,
) -> ClassifyResponse:
    """An image from a device; the answer once the result is stored and queued for the cloud."""
    limit = request.app.state.settings.max_image_bytes
    if image.size is not None and image.size > limit:
        raise Problem(413, "payload-too-large", f"the image is larger than {limit} bytes")
    data = await image.read()
    result = await request.app.state.gateway.handle(Incoming(device, captured_at, data, signature, "http"))
    metrics.IMAGES.labels("http", "accepted").inc()
    return ClassifyResponse(
        result_id=result.id,
        device_id=result.device_id,
        label=result.label,
        class_index=result.class_index,
        score=result.score,
        model_version=result.model_version,
        cached=result.cached,
    )


# --8<-- [end:classify]


@router.get("/v1/results/{result_id}", responses={404: problem_doc("No such result.")})
async def get_result(result_id: Annotated[str, Path(max_length=64)], request: Request) -> dict[str, Any]:
    row = await asyncio.to_thread(request.app.state.store.result, result_id)
    if row is None:
        raise Problem(404, "not-found", f"no result {result_id}")
    return row


@router.get("/v1/status", response_model=Status)
async def status(request: Request) -> Status:
    """What a technician on site asks first: which model, how much is waiting, can it write."""
    store = request.app.state.store
    writable = await asyncio.to_thread(store.writable)
    metrics.STORAGE_OK.set(1 if writable else 0)
    try:
        waiting: int | None = await asyncio.to_thread(store.outbox_size)
        models = [ModelRow(**m) for m in await asyncio.to_thread(store.models)]
    except StorageUnavailable:  # a broken file: say what is known
        waiting, models = None, []
    model = request.app.state.classifier.model
    return Status(
        gateway_id=request.app.state.settings.gateway_id,
        model_version=model.version if model else None,
        outbox_entries=waiting,
        storage_writable=writable,
        models=models,
    )


@router.post("/v1/model/rollback", response_model=Status, responses={409: problem_doc("No previous model.")})
async def rollback(request: Request) -> Status:
    """Serve the previous model again (a technician's button; updates arrive by themselves)."""
    await asyncio.to_thread(request.app.state.updater.rollback)
    return await status(request)


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", response_model=Health, responses={503: problem_doc("No model, or storage not writable.")})
async def ready(request: Request) -> Health:
    model = request.app.state.classifier.model
    writable = await asyncio.to_thread(request.app.state.store.writable)
    metrics.STORAGE_OK.set(1 if writable else 0)
    missing = ([] if model else ["model"]) + ([] if writable else ["writable storage"])
    if missing:
        raise not_ready(missing, request.app.state.settings.retry_after_s)
    return Health(status="ok", model_version=model.version)
