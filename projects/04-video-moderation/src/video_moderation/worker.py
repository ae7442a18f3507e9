"""The worker: the Celery app with its two tasks, built by a factory from the settings. Each task
is a thin wrapper around services/jobs.py; the worker process serves its own metrics.

Run one (celery_worker.py calls the factory):
    celery -A video_moderation.celery_worker worker --pool solo -Q webhooks,high,normal
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init
from prometheus_client import start_http_server

from video_moderation.celery_app import DELIVER_WEBHOOK, MODERATE, WEBHOOK_QUEUE, create_celery
from video_moderation.job_store import JobStore
from video_moderation.logging_config import configure_logging
from video_moderation.metrics import WORKER_REGISTRY
from video_moderation.services.jobs import Jobs
from video_moderation.settings import Settings
from video_moderation.triton_client import TritonUnavailable


def create_worker(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    app = create_celery(settings)
    jobs = Jobs(JobStore(settings.redis_url), app, settings)

    # --8<-- [start:tasks]
    @app.task(bind=True, name=MODERATE, max_retries=None)
    def moderate_video(task, job_id: str) -> None:
        try:
            jobs.moderate(job_id)
        except TritonUnavailable as exc:  # the job waits for Triton; it does not fail
            raise task.retry(countdown=settings.triton_retry_s, exc=exc) from None

    @app.task(name=DELIVER_WEBHOOK)
    def deliver_webhook(job_id: str, attempt: int) -> None:
        jobs.deliver_webhook(
            job_id,
            attempt,
            schedule=lambda next_attempt, delay_s: app.send_task(
                DELIVER_WEBHOOK, (job_id, next_attempt), queue=WEBHOOK_QUEUE, countdown=delay_s
            ),
        )

    # --8<-- [end:tasks]

    @worker_init.connect(weak=False)
    def serve_metrics(**_) -> None:  # one process per worker (--pool solo): one metrics endpoint
        configure_logging(settings.log_level)
        start_http_server(settings.worker_metrics_port, registry=WORKER_REGISTRY)

    return app
