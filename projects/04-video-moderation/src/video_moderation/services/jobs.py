"""The life of a job, in one place: accepted (stored, then its queue message sent), recovered when
that message was lost, run by a worker batch by batch, finished (its webhook sent), or cancelled.

The API uses the first half (submit, sweep, cancel), a worker the second (moderate, deliver_webhook);
both build a ``Jobs`` from the same settings."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import httpx
import numpy as np
from celery import Celery
from kombu.exceptions import OperationalError

from video_moderation import metrics
from video_moderation.celery_app import DELIVER_WEBHOOK, MODERATE, WEBHOOK_QUEUE
from video_moderation.job_store import TERMINAL, Job, JobStore, StoreUnavailable
from video_moderation.services.frames import Frame, UnreadableVideo, preprocess, sample_frames
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


class Jobs:
    def __init__(self, store: JobStore, celery: Celery, settings: Settings):
        self.store, self.celery, self.settings = store, celery, settings

    # --8<-- [start:accept]
    def submit(self, job: Job, idempotency_key: str | None) -> tuple[Job, bool]:
        """Store the job, then send its queue message. Once stored it is accepted: if the message
        cannot be sent (the broker is down, or this process dies first), the sweeper sends it."""
        job, created = self.store.create(job, idempotency_key)
        if created:
            self.send(job)
        return job, created

    def send(self, job: Job) -> bool:
        try:
            self.celery.send_task(MODERATE, (job.id,), queue=job.priority, retry=False)
        except OperationalError as exc:
            metrics.QUEUE_SEND_FAILURES.inc()
            log.warning("queue message for job %s not sent (the sweeper will): %s", job.id, exc)
            return False
        try:
            self.store.mark_queued(job.id)
        except StoreUnavailable:
            # Sent but not marked: the sweeper may send it once more; a second delivery of a job
            # that is running or done is harmless (scores are per frame, finished jobs are skipped).
            log.warning("job %s queued but not marked so", job.id)
        return True

    def sweep(self) -> int:
        """Send the queue message of every accepted job that has waited longer than the grace
        period without one; returns how many were sent."""
        sent = 0
        for job in self.store.claim_unqueued(self.settings.sweep_grace_s):
            if self.send(job):
                sent += 1
                metrics.JOBS_RECOVERED.inc()
                log.info("job %s: queue message sent by the sweeper", job.id)
            else:
                self.store.unclaim(job.id)
        return sent

    # --8<-- [end:accept]

    def cancel(self, job: Job) -> Job:
        """A queued job is cancelled at once; a running one at its next batch of frames."""
        changes: dict = {"cancel_requested": True}
        if job.state == "queued":
            changes.update(state="cancelled", finished_at=time.time())
        job = self.store.update(job.id, unless_terminal=True, **changes)
        if job.state == "cancelled":
            Path(job.video_path).unlink(missing_ok=True)
        return job

    # ---- the worker's half ------------------------------------------------------------------

    @cached_property
    def model(self) -> ModerationModelClient:
        """Created on first use, in the worker process that uses it."""
        return ModerationModelClient(self.settings.triton_url, self.settings.model_name)

    # --8<-- [start:moderate]
    def moderate(self, job_id: str) -> None:
        """Score the job's frames and find its flagged segments. Raises TritonUnavailable (the task
        retries later); frames scored by an earlier delivery of the job are not scored again."""
        job = self.store.get(job_id)
        if job is None or job.state in TERMINAL:
            return  # cancelled while queued, or already finished by an earlier delivery
        job = self.store.update(
            job_id,
            unless_terminal=True,
            state="running",
            started_at=job.started_at or time.time(),
            deliveries=job.deliveries + 1,
        )
        if job.state != "running":
            return  # cancelled between the two reads
        done = self.store.scores(job_id)
        estimate = int(job.duration_s * job.sample_fps) + 1
        self.store.update(job_id, frames_total=max(estimate, len(done)), frames_done=len(done))
        batch: list[Frame] = []
        try:
            for frame in sample_frames(Path(job.video_path), job.sample_fps):
                if frame.index in done:
                    continue
                batch.append(frame)
                if len(batch) == job.batch_size:
                    if not self.score_batch(job_id, batch, done):
                        return  # cancelled
                    batch = []
            if batch and not self.score_batch(job_id, batch, done):
                return
        except UnreadableVideo as exc:
            # A poison video fails its own job, once, with the reason; retrying cannot help.
            self.finish(job_id, "failed", error=str(exc))
            return
        timeline = [done[i] for i in sorted(done)]
        segments = flagged_segments(timeline, job.threshold, 1.0 / job.sample_fps)
        self.finish(
            job_id,
            "succeeded",
            segments=[s.__dict__ for s in segments],
            frames_total=len(timeline),
            frames_done=len(timeline),
        )

    def score_batch(self, job_id: str, frames: list[Frame], done: dict) -> bool:
        """Score frames on Triton and record them; False when the job was cancelled meanwhile."""
        batch = np.stack([preprocess(frame.image) for frame in frames])
        started = time.perf_counter()
        try:
            scores = self.model.nsfw_scores(batch)
        except TritonUnavailable:
            metrics.TRITON_FAILURES.inc()
            raise
        metrics.TRITON_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(frames))
        metrics.FRAMES_SCORED.inc(len(frames))
        scored = [(frame.index, frame.time_s, float(score)) for frame, score in zip(frames, scores, strict=True)]
        self.store.add_scores(job_id, scored)
        done.update({i: (t, s) for i, t, s in scored})
        total = max(self.store.get(job_id).frames_total, len(done))
        job = self.store.update(job_id, frames_done=len(done), frames_total=total)
        if job.cancel_requested:
            self.finish(job_id, "cancelled")
            return False
        return True

    # --8<-- [end:moderate]

    def finish(self, job_id: str, state: str, **fields) -> None:
        job = self.store.update(job_id, state=state, finished_at=time.time(), **fields)
        metrics.JOBS_FINISHED.labels(state).inc()
        Path(job.video_path).unlink(missing_ok=True)  # the scores and segments are kept; the video is not
        if job.webhook_url:
            self.celery.send_task(DELIVER_WEBHOOK, (job_id, 1), queue=WEBHOOK_QUEUE)

    # --8<-- [start:webhook]
    def deliver_webhook(self, job_id: str, attempt: int, schedule: Callable[[int, float], None]) -> None:
        """POST the job's outcome, signed; on failure ``schedule`` the next attempt after a doubled
        delay. Every attempt is recorded, and visible at GET /v1/jobs/{id}/webhooks."""
        settings = self.settings
        job = self.store.get(job_id)
        body = json.dumps(
            {
                "job_id": job.id,
                "state": job.state,
                "segments": job.segments,
                "error": job.error,
                "frames": job.frames_done,
            }
        ).encode()
        record: dict = {"attempt": attempt, "at": time.time()}
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
        self.store.record_webhook_attempt(job_id, record)
        outcome = "delivered" if record["delivered"] else "refused" if refused else "failed"
        metrics.WEBHOOK_ATTEMPTS.labels(outcome).inc()
        if retry:
            schedule(attempt + 1, record["retry_in_s"])

    # --8<-- [end:webhook]
