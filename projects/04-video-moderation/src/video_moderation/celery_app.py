"""The Celery application, built from the settings: the API sends jobs through it, the workers
run them (worker.py registers the tasks). Nothing is created at import."""

from __future__ import annotations

from celery import Celery

from video_moderation.settings import Settings

MODERATE, DELIVER_WEBHOOK = "moderate_video", "deliver_webhook"  # the tasks, by name
PRIORITY_QUEUES = ("high", "normal")
WEBHOOK_QUEUE = "webhooks"


# --8<-- [start:celery]
def create_celery(settings: Settings) -> Celery:
    app = Celery("video_moderation", broker=settings.queue_url)
    app.conf.update(
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
    return app


# --8<-- [end:celery]
