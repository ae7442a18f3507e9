"""Project 04's local recipe: Redis, Triton with open_nsfw, Celery workers and the API (stack.py),
and its benchmark (bench.py)."""

TITLE = "Batch video moderation"
TEACHES = "Celery jobs, priorities, progress, signed webhooks, no job lost"
TRY_IT = "curl -F video=@clip.mp4 -F priority=high {url}/v1/jobs"
