"""Prometheus metrics. The API's are in the default registry (its /metrics); the workers' are in
their own registry, served by each worker process on VIDEO_MODERATION_WORKER_METRICS_PORT."""

from prometheus_client import CollectorRegistry, Counter, Histogram

JOBS_SUBMITTED = Counter("video_moderation_jobs_submitted_total", "Jobs accepted, by priority.", ["priority"])
JOBS_DEDUPLICATED = Counter(
    "video_moderation_jobs_deduplicated_total", "Submissions answered with an existing job (same Idempotency-Key)."
)
REJECTED = Counter("video_moderation_rejected_total", "Submissions refused, by reason.", ["reason"])
QUEUE_SEND_FAILURES = Counter(
    "video_moderation_queue_send_failures_total",
    "Queue messages that could not be sent (the sweeper sends them later).",
)
JOBS_RECOVERED = Counter(
    "video_moderation_jobs_recovered_total", "Accepted jobs whose queue message the sweeper sent after it was lost."
)

# --8<-- [start:worker-metrics]
WORKER_REGISTRY = CollectorRegistry()
FRAMES_SCORED = Counter(
    "video_moderation_worker_frames_scored_total",
    "Frames scored on Triton (rate(): frames/s).",
    registry=WORKER_REGISTRY,
)
BATCH_SIZE = Histogram(
    "video_moderation_worker_batch_frames",
    "Frames per Triton request.",
    buckets=(1, 2, 4, 8, 16, 32),
    registry=WORKER_REGISTRY,
)
TRITON_SECONDS = Histogram(
    "video_moderation_worker_triton_seconds",
    "Time of one Triton request, as the worker waits for it.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=WORKER_REGISTRY,
)
TRITON_FAILURES = Counter(
    "video_moderation_worker_triton_failures_total",
    "Triton requests that failed (the job is retried).",
    registry=WORKER_REGISTRY,
)
JOBS_FINISHED = Counter(
    "video_moderation_worker_jobs_finished_total", "Jobs ended, by final state.", ["state"], registry=WORKER_REGISTRY
)
WEBHOOK_ATTEMPTS = Counter(
    "video_moderation_worker_webhook_attempts_total",
    "Webhook deliveries tried, by outcome.",
    ["outcome"],
    registry=WORKER_REGISTRY,
)
# --8<-- [end:worker-metrics]
