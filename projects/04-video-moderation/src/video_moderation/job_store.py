"""Job records in Redis: state, progress, per-frame scores (so a redelivered job resumes), webhook
attempts, idempotency keys, and the set of accepted jobs whose queue message is not sent yet (the
outbox the sweeper reads). Used by the API and by the workers."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import cast

import redis

TERMINAL = {"succeeded", "failed", "cancelled"}
KEEP_S = 7 * 24 * 3600  # job records and idempotency keys expire a week after their last change
UNQUEUED = "jobs:unqueued"  # ids of stored jobs whose queue message was not sent yet


class StoreUnavailable(RuntimeError):
    """Redis cannot be reached."""


@dataclass
class Job:
    id: str
    state: str  # queued, running, succeeded, failed, cancelled
    priority: str  # high or normal
    filename: str
    video_path: str
    threshold: float
    sample_fps: float
    batch_size: int
    duration_s: float
    created_at: float
    webhook_url: str | None = None
    queued_at: float | None = None  # when its queue message was sent (None: not yet; the sweeper will)
    started_at: float | None = None
    finished_at: float | None = None
    frames_total: int = 0  # an estimate (duration x fps) until the job ends
    frames_done: int = 0
    deliveries: int = 0  # times a worker picked it up (>1: redelivered after a crash)
    cancel_requested: bool = False
    error: str | None = None
    segments: list[dict] = field(default_factory=list)

    @property
    def progress(self) -> float:
        if self.state == "succeeded":
            return 1.0
        return min(self.frames_done / self.frames_total, 0.99) if self.frames_total else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.state != "running" or not self.started_at or not self.frames_done:
            return None
        rate = self.frames_done / max(time.time() - self.started_at, 1e-6)
        return round(max(self.frames_total - self.frames_done, 0) / rate, 1)


def _wrap(method):
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    return call


class JobStore:
    def __init__(self, url: str):
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @_wrap
    def ping(self) -> bool:
        return bool(self.redis.ping())

    @_wrap
    def create(self, job: Job, idempotency_key: str | None) -> tuple[Job, bool]:
        """Store a new job; with an idempotency key already used, return that job instead (False)."""
        if idempotency_key and not self.redis.set(f"idem:{idempotency_key}", job.id, nx=True, ex=KEEP_S):
            existing = self.get(self.redis.get(f"idem:{idempotency_key}"))
            if existing is not None:
                return existing, False
            self.redis.set(f"idem:{idempotency_key}", job.id, ex=KEEP_S)
        with self.redis.pipeline() as pipe:  # the record and its place in the outbox, together
            pipe.set(f"job:{job.id}", json.dumps(asdict(job)), ex=KEEP_S)
            pipe.sadd(UNQUEUED, job.id)
            pipe.execute()
        return job, True

    # --8<-- [start:outbox]
    @_wrap
    def mark_queued(self, job_id: str) -> None:
        self.redis.srem(UNQUEUED, job_id)
        self.update(job_id, queued_at=time.time())

    @_wrap
    def claim_unqueued(self, older_than_s: float) -> list[Job]:
        """Stored jobs whose queue message was never sent, accepted more than ``older_than_s`` ago.
        Each is claimed by one caller only (SREM answers 1 once): two sweepers never both send it."""
        claimed = []
        for job_id in self.redis.smembers(UNQUEUED):
            job = self.get(job_id)
            if job is None or job.state in TERMINAL:
                self.redis.srem(UNQUEUED, job_id)
            elif time.time() - job.created_at > older_than_s and self.redis.srem(UNQUEUED, job_id):
                claimed.append(job)
        return claimed

    @_wrap
    def unclaim(self, job_id: str) -> None:
        """Back into the outbox: sending its message failed, the next sweep tries again."""
        self.redis.sadd(UNQUEUED, job_id)

    # --8<-- [end:outbox]

    @_wrap
    def save(self, job: Job) -> None:
        self.redis.set(f"job:{job.id}", json.dumps(asdict(job)), ex=KEEP_S)

    @_wrap
    def get(self, job_id: str | None) -> Job | None:
        raw = self.redis.get(f"job:{job_id}") if job_id else None
        return Job(**json.loads(raw)) if raw else None

    # --8<-- [start:update]
    @_wrap
    def update(self, job_id: str, unless_terminal: bool = False, **changes) -> Job:
        """Read-modify-write under WATCH, so the API's cancel and a worker's progress never overwrite
        each other. ``unless_terminal``: leave a finished or cancelled job as it is."""
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(f"job:{job_id}")
                    job = Job(**json.loads(cast(str, pipe.get(f"job:{job_id}"))))
                    if unless_terminal and job.state in TERMINAL:
                        pipe.unwatch()
                        return job
                    for name, value in changes.items():
                        setattr(job, name, value)
                    pipe.multi()
                    pipe.set(f"job:{job_id}", json.dumps(asdict(job)), ex=KEEP_S)
                    pipe.execute()
                    return job
                except redis.WatchError:
                    continue

    # --8<-- [end:update]

    # Per-frame scores: a hash frame index -> "time,score". Written after every batch, read back
    # when a job is delivered again, so frames already scored are not sent to Triton twice.
    @_wrap
    def add_scores(self, job_id: str, scored: list[tuple[int, float, float]]) -> None:
        if scored:
            key = f"job:{job_id}:scores"
            self.redis.hset(key, mapping={str(i): f"{t},{s}" for i, t, s in scored})
            self.redis.expire(key, KEEP_S)

    @_wrap
    def scores(self, job_id: str) -> dict[int, tuple[float, float]]:
        raw = cast(dict[str, str], self.redis.hgetall(f"job:{job_id}:scores"))
        scores = {}
        for index, value in raw.items():
            time_s, score = value.split(",")
            scores[int(index)] = (float(time_s), float(score))
        return scores

    @_wrap
    def record_webhook_attempt(self, job_id: str, attempt: dict) -> None:
        key = f"job:{job_id}:webhooks"
        self.redis.rpush(key, json.dumps(attempt))
        self.redis.expire(key, KEEP_S)

    @_wrap
    def webhook_attempts(self, job_id: str) -> list[dict]:
        return [json.loads(item) for item in self.redis.lrange(f"job:{job_id}:webhooks", 0, -1)]
