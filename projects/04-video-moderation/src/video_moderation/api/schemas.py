"""Response bodies, with the examples the OpenAPI page shows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from video_moderation.job_store import Job


class Segment(BaseModel):
    start_s: float
    end_s: float
    peak_score: float
    peak_at_s: float


class JobOut(BaseModel):
    id: str
    state: str = Field(description="queued, running, succeeded, failed or cancelled")
    priority: str
    filename: str
    progress: float = Field(description="0..1; 1 only when the job succeeded.")
    frames_done: int
    frames_total: int = Field(description="An estimate (duration × sample rate) until the job ends.")
    eta_s: float | None
    threshold: float
    duration_s: float
    deliveries: int = Field(description="Times a worker picked the job up; above 1 after a worker died.")
    segments: list[Segment]
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        fields = {name: getattr(job, name) for name in cls.model_fields if name not in ("progress", "eta_s")}
        return cls(**fields, progress=round(job.progress, 4), eta_s=job.eta_s)


class FrameScore(BaseModel):
    index: int
    time_s: float
    score: float = Field(description="open_nsfw's probability that the frame is not safe for work.")


class FrameScores(BaseModel):
    job_id: str
    frames: list[FrameScore]


class WebhookAttempt(BaseModel):
    attempt: int
    at: float
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retry_in_s: float | None = Field(None, description="Delay before the next attempt; null when none follows.")


class WebhookAttempts(BaseModel):
    job_id: str
    attempts: list[WebhookAttempt]


class HealthStatus(BaseModel):
    status: str
