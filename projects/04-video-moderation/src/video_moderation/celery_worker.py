"""What ``celery -A video_moderation.celery_worker worker`` loads: the worker app, built from the
environment when the worker process starts (only the Celery command imports this module)."""

from video_moderation.worker import create_worker

app = create_worker()
