"""Prometheus metrics of the API (the workers' own progress is in each job's record)."""

from prometheus_client import Counter

JOBS_SUBMITTED = Counter("video_moderation_jobs_submitted_total", "Jobs accepted, by priority.", ["priority"])
JOBS_DEDUPLICATED = Counter(
    "video_moderation_jobs_deduplicated_total", "Submissions answered with an existing job (same Idempotency-Key)."
)
REJECTED = Counter("video_moderation_rejected_total", "Submissions refused, by reason.", ["reason"])
