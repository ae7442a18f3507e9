"""Project 04 fixtures: Redis, Triton (open_nsfw), two Celery workers and the API, once per session,
plus a webhook receiver that fails on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from study.local.video_moderation.stack import running_stack

from p04_video_moderation.videos import make_video
from stack_fixtures import stack_fixtures

WEBHOOK_SECRET = "test-secret"
TEST_SETTINGS = {
    "VIDEO_MODERATION_SAMPLE_FPS": "2",
    "VIDEO_MODERATION_BATCH_SIZE": "8",
    "VIDEO_MODERATION_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "VIDEO_MODERATION_WEBHOOK_BACKOFF_S": "0.5",
    "VIDEO_MODERATION_VISIBILITY_TIMEOUT_S": "20",
    "VIDEO_MODERATION_TRITON_RETRY_S": "1",
    "VIDEO_MODERATION_MAX_DURATION_S": "120",
    "VIDEO_MODERATION_MAX_UPLOAD_BYTES": str(5 * 1024 * 1024),
}
# Webhooks may call loopback (the test receiver) because local mode allows it: see the local stack.


local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, service_env=TEST_SETTINGS, workers=1),
    client_timeout_s=60,
)


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        # 2 fps sampling: coffee frames 0-5, astronaut 6-11, chelsea 12-15
        "scenes": make_video(folder / "scenes.mp4", [("coffee", 3), ("astronaut", 3), ("chelsea", 2)]),
        "short": make_video(folder / "short.mp4", [("rocket", 2)]),
        "long": make_video(folder / "long.mp4", [("coffee", 20), ("chelsea", 20)]),
    }
