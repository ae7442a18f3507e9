"""HTTP routes: submit a job, follow it (JSON or Server-Sent Events), cancel it, see its webhooks."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import HttpUrl

from video_moderation import metrics
from video_moderation.api.problem_details import PROBLEM, Problem, not_ready
from video_moderation.api.schemas import FrameScores, HealthStatus, JobOut, WebhookAttempts
from video_moderation.job_store import TERMINAL, Job, JobStore, StoreUnavailable
from video_moderation.services.frames import UnreadableVideo, probe
from video_moderation.services.jobs import Jobs
from video_moderation.settings import Settings
from video_moderation.webhooks import WebhookTargetRefused, resolve_webhook_target

router = APIRouter()
JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="As returned by POST /v1/jobs.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description="Same key again: the same job, not a new one.",
    ),
]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> JobStore:
    return request.app.state.jobs.store


async def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]


def find(store: JobStore, job_id: str) -> Job:
    job = store.get(job_id)
    if job is None:
        raise Problem(404, "not-found", f"no job {job_id}")
    return job


async def save_upload(upload: UploadFile, target: Path, limit: int) -> None:
    """Stream the upload to disk, refusing it as soon as it passes the limit."""
    written = 0
    with target.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise Problem(413, "payload-too-large", f"at most {limit} bytes")
            out.write(chunk)
    if written == 0:
        raise Problem(422, "empty-video", "the uploaded file is empty")


# --8<-- [start:submit]
@router.post(
    "/v1/jobs",
    status_code=202,
    response_model=JobOut,
    tags=["jobs"],
    responses={
        200: {"description": "A job with this Idempotency-Key exists: that job.", "model": JobOut},
        413: PROBLEM,
        422: PROBLEM,
        503: PROBLEM,
    },
)
async def submit_job(
    video: Annotated[UploadFile, File(description="The video (any container/codec FFmpeg reads).")],
    settings: SettingsDep,
    jobs: JobsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    priority: Annotated[Literal["high", "normal"], Form()] = "normal",
    webhook_url: Annotated[HttpUrl | None, Form(description="POSTed, signed, when the job ends.")] = None,
    threshold: Annotated[float | None, Form(ge=0, le=1, description="Flag frames scoring at least this.")] = None,
) -> JobOut:
    """Accept a video for moderation and return at once; a worker picks it up by priority."""
    if webhook_url is not None:
        try:
            await run_in_threadpool(resolve_webhook_target, str(webhook_url), settings.webhook_allowed_networks)
        except WebhookTargetRefused as exc:
            raise Problem(422, "webhook-url-not-allowed", str(exc)) from None
    job_id = JobStore.new_id()
    storage = Path(settings.storage_dir)
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / f"{job_id}.video"
    try:
        await save_upload(video, path, settings.max_upload_bytes)
        info = await run_in_threadpool(probe, path)  # header only: limits are checked before accepting
        if info.duration_s > settings.max_duration_s:
            raise Problem(422, "video-too-long", f"{info.duration_s:.0f} s; at most {settings.max_duration_s:.0f} s")
        job = Job(
            id=job_id,
            state="queued",
            priority=priority,
            filename=(video.filename or "video")[:200],
            video_path=str(path),
            threshold=settings.threshold if threshold is None else threshold,
            sample_fps=settings.sample_fps,
            batch_size=settings.batch_size,
            duration_s=info.duration_s,
            created_at=time.time(),
            webhook_url=str(webhook_url) if webhook_url else None,
        )
        # Stored, then queued: from here on the job is accepted and kept (services/jobs.py).
        job, created = await run_in_threadpool(jobs.submit, job, idempotency_key)
        if not created:
            path.unlink(missing_ok=True)
            metrics.JOBS_DEDUPLICATED.inc()
            response.status_code = 200
            return JobOut.of(job)
    except UnreadableVideo as exc:
        path.unlink(missing_ok=True)
        metrics.REJECTED.labels("unreadable").inc()
        raise Problem(422, "unsupported-video", str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    metrics.JOBS_SUBMITTED.labels(priority).inc()
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)


# --8<-- [end:submit]


@router.get("/v1/jobs/{job_id}", response_model=JobOut, tags=["jobs"], responses={404: PROBLEM, 503: PROBLEM})
def get_job(job_id: JobId, store: StoreDep) -> JobOut:
    return JobOut.of(find(store, job_id))


@router.get(
    "/v1/jobs/{job_id}/events",
    tags=["jobs"],
    responses={
        200: {
            "description": "`text/event-stream`: a `progress` event whenever it changes, then one `end`.",
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {"event": {"enum": ["progress", "end"]}, "data": {"type": "string"}},
                    }
                }
            },
        },
        404: PROBLEM,
    },
)
async def job_events(job_id: JobId, store: StoreDep) -> EventSourceResponse:
    """Follow a job live: progress as it moves, then the final record."""
    await run_in_threadpool(find, store, job_id)

    async def events() -> AsyncIterator[bytes]:
        last = None
        while True:
            job = await run_in_threadpool(store.get, job_id)
            body = JobOut.of(job).model_dump(exclude={"eta_s"})
            if body != last:
                kind = "end" if job.state in TERMINAL else "progress"
                yield format_sse_event(event=kind, data_str=json.dumps(JobOut.of(job).model_dump()))
                if kind == "end":
                    return
                last = body
            await asyncio.sleep(0.25)

    return EventSourceResponse(events(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.delete(
    "/v1/jobs/{job_id}", status_code=202, response_model=JobOut, tags=["jobs"], responses={404: PROBLEM, 409: PROBLEM}
)
def cancel_job(job_id: JobId, jobs: JobsDep) -> JobOut:
    """Cancel a queued job at once, or a running one at its next batch of frames."""
    job = find(jobs.store, job_id)
    if job.state in TERMINAL:
        raise Problem(409, "job-finished", f"the job is already {job.state}")
    return JobOut.of(jobs.cancel(job))


@router.get("/v1/jobs/{job_id}/frames", response_model=FrameScores, tags=["jobs"], responses={404: PROBLEM})
def frame_scores(job_id: JobId, store: StoreDep) -> FrameScores:
    """The score of every sampled frame so far, in time order: what the segments were made from."""
    find(store, job_id)
    scores = store.scores(job_id)
    return FrameScores(
        job_id=job_id, frames=[{"index": i, "time_s": scores[i][0], "score": scores[i][1]} for i in sorted(scores)]
    )


@router.get("/v1/jobs/{job_id}/webhooks", response_model=WebhookAttempts, tags=["jobs"], responses={404: PROBLEM})
def webhook_attempts(job_id: JobId, store: StoreDep) -> WebhookAttempts:
    """Every delivery attempt of the job's webhook, with the receiver's status code or the error."""
    find(store, job_id)
    return WebhookAttempts(job_id=job_id, attempts=store.webhook_attempts(job_id))


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: PROBLEM})
def ready(store: StoreDep, settings: SettingsDep) -> HealthStatus:
    """Ready when Redis (the queue and the job records) answers and the storage folder is writable."""
    try:
        store.ping()
    except StoreUnavailable:
        raise not_ready(["Redis"], settings.retry_after_s) from None
    if shutil.disk_usage(settings.storage_dir).free < settings.max_upload_bytes:
        raise not_ready(["disk space for one more upload"], settings.retry_after_s)
    return HealthStatus(status="ready")
