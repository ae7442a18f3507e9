"""The Celery app and its two tasks: moderate a video, deliver its webhook.

Run a worker:  celery -A video_moderation.worker worker -Q webhooks,high,normal --concurrency 1
"""

from __future__ import annotations

import json
import logging
import time
from functools import cache
from pathlib import Path

import httpx
import numpy as np
from celery import Celery

from video_moderation.job_store import TERMINAL, JobStore
from video_moderation.services.frames import UnreadableVideo, preprocess, sample_frames
from video_moderation.services.segments import flagged_segments
from video_moderation.settings import Settings
from video_moderation.triton_client import ModerationModelClient, TritonUnavailable
from video_moderation.webhooks import (
    SIGNATURE_HEADER,
    WebhookTargetRefused,
    backoff_s,
    post_to_addresses,
    resolve_webhook_target,
    sign,
)

log = logging.getLogger(__name__)
settings = Settings()
QUEUES = {"high": "high", "normal": "normal"}

# --8<-- [start:celery]
celery_app = Celery("video_moderation", broker=settings.redis_url)
celery_app.conf.update(
    # A job is acknowledged when it is done, not when it is received: a worker killed mid-job
    # leaves it unacknowledged, and the broker delivers it again after the visibility timeout.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # Take one job at a time: a busy worker must not hold queued jobs that another could run,
    # or that a high-priority job should overtake.
    worker_prefetch_multiplier=1,
    broker_transport_options={
        "visibility_timeout": settings.visibility_timeout_s,
        # Poll the queues in the order the worker lists them (-Q webhooks,high,normal), every
        # time: a waiting high-priority job always goes first. The default rotates them.
        "queue_order_strategy": "priority",
    },
    task_default_queue="normal",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
# --8<-- [end:celery]


@cache
def store() -> JobStore:
    return JobStore(settings.redis_url)


@cache
def model() -> ModerationModelClient:
    return ModerationModelClient(settings.triton_url, settings.model_name)


# --8<-- [start:moderate]
@celery_app.task(bind=True, name="moderate_video", max_retries=None)
def moderate_video(self, job_id: str) -> None:
    job = store().get(job_id)
    if job is None or job.state in TERMINAL:
        return  # cancelled while queued, or already finished by an earlier delivery
    job = store().update(
        job_id,
        unless_terminal=True,
        state="running",
        started_at=job.started_at or time.time(),
        deliveries=job.deliveries + 1,
    )
    if job.state != "running":
        return  # cancelled between the two reads
    done = store().scores(job_id)  # frames scored by an earlier delivery of this job are kept
    estimate = int(job.duration_s * job.sample_fps) + 1
    store().update(job_id, frames_total=max(estimate, len(done)), frames_done=len(done))
    batch: list = []
    try:
        for frame in sample_frames(Path(job.video_path), job.sample_fps):
            if frame.index in done:
                continue
            batch.append(frame)
            if len(batch) == job.batch_size:
                if not score_batch(job_id, batch, done):
                    return  # cancelled
                batch = []
        if batch and not score_batch(job_id, batch, done):
            return
    except UnreadableVideo as exc:
        # A poison video fails its own job, once, with the reason; retrying cannot help.
        finish(job_id, "failed", error=str(exc))
        return
    except TritonUnavailable as exc:
        log.warning("Triton unavailable for job %s, retrying: %s", job_id, exc)
        raise self.retry(countdown=settings.triton_retry_s) from None
    timeline = [done[i] for i in sorted(done)]
    segments = flagged_segments(timeline, job.threshold, 1.0 / job.sample_fps)
    finish(
        job_id,
        "succeeded",
        segments=[s.__dict__ for s in segments],
        frames_total=len(timeline),
        frames_done=len(timeline),
    )


def score_batch(job_id: str, frames: list, done: dict) -> bool:
    """Score frames on Triton and record them; False when the job was cancelled meanwhile."""
    scores = model().nsfw_scores(np.stack([preprocess(frame.image) for frame in frames]))
    scored = [(frame.index, frame.time_s, float(score)) for frame, score in zip(frames, scores, strict=False)]
    store().add_scores(job_id, scored)
    done.update({i: (t, s) for i, t, s in scored})
    job = store().update(job_id, frames_done=len(done), frames_total=max(store().get(job_id).frames_total, len(done)))
    if job.cancel_requested:
        finish(job_id, "cancelled")
        return False
    return True


# --8<-- [end:moderate]


def finish(job_id: str, state: str, **fields) -> None:
    job = store().update(job_id, state=state, finished_at=time.time(), **fields)
    Path(job.video_path).unlink(missing_ok=True)  # the scores and segments are kept; the video is not
    if job.webhook_url:
        deliver_webhook.apply_async((job_id, 1), queue="webhooks")


# --8<-- [start:webhook]
@celery_app.task(name="deliver_webhook")
def deliver_webhook(job_id: str, attempt: int) -> None:
    """POST the job's outcome, signed; on failure schedule the next attempt with a doubled delay.
    Every attempt is recorded, and visible at GET /v1/jobs/{id}/webhooks."""
    job = store().get(job_id)
    body = json.dumps(
        {"job_id": job.id, "state": job.state, "segments": job.segments, "error": job.error, "frames": job.frames_done}
    ).encode()
    record = {"attempt": attempt, "at": time.time()}
    refused = False
    try:
        # Checked again at every attempt: the name may resolve elsewhere now than at submission.
        addresses = resolve_webhook_target(job.webhook_url, settings.webhook_allowed_networks)
        response = post_to_addresses(
            job.webhook_url,
            addresses,
            body,
            timeout_s=settings.webhook_timeout_s,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(settings.webhook_secret, body)},
        )
        record.update(status_code=response.status_code, delivered=response.is_success)
    except WebhookTargetRefused as exc:
        refused = True  # never retried: the target is not one this service calls
        record.update(error=f"refused: {exc}", delivered=False)
    except httpx.HTTPError as exc:
        record.update(error=f"{type(exc).__name__}: {exc}", delivered=False)
    retry = not record["delivered"] and not refused and attempt < settings.webhook_max_attempts
    record["retry_in_s"] = backoff_s(settings.webhook_backoff_s, attempt) if retry else None
    store().record_webhook_attempt(job_id, record)
    if retry:
        deliver_webhook.apply_async((job_id, attempt + 1), queue="webhooks", countdown=record["retry_in_s"])


# --8<-- [end:webhook]
