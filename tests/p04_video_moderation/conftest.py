"""Project 04 fixtures: Redis, Triton (open_nsfw), two Celery workers and the API, once per session,
plus a webhook receiver that fails on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from p04_video_moderation.videos import make_video
from study.stacks.video_moderation import ModerationStack, running_stack

WEBHOOK_SECRET = "test-secret"
TEST_SETTINGS = {"MOD_SAMPLE_FPS": "2", "MOD_BATCH_SIZE": "8", "MOD_WEBHOOK_SECRET": WEBHOOK_SECRET,
                 "MOD_WEBHOOK_BACKOFF_S": "0.5", "MOD_VISIBILITY_TIMEOUT_S": "20", "MOD_TRITON_RETRY_S": "1",
                 "MOD_MAX_DURATION_S": "120", "MOD_MAX_UPLOAD_BYTES": str(5 * 1024 * 1024)}
# Webhooks may call loopback (the test receiver) because local mode allows it: see the local stack.


@pytest.fixture(scope="session")
def local_moderation(tmp_path_factory, base_url_option) -> Iterator[ModerationStack | None]:
    if base_url_option:
        yield None
        return
    with running_stack(tmp_path_factory.mktemp("moderation"), report=lambda _: None,
                       service_env=TEST_SETTINGS, workers=1) as stack:
        yield stack


@pytest.fixture(scope="session")
def stack(local_moderation) -> ModerationStack:
    if local_moderation is None:
        pytest.skip("needs the local stack, not --base-url")
    return local_moderation


@pytest.fixture(scope="session")
def api_url(local_moderation, base_url_option) -> str:
    return base_url_option or local_moderation.url


@pytest.fixture
def client(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        # 2 fps sampling: coffee frames 0-5, astronaut 6-11, chelsea 12-15
        "scenes": make_video(folder / "scenes.mp4", [("coffee", 3), ("astronaut", 3), ("chelsea", 2)]),
        "short": make_video(folder / "short.mp4", [("rocket", 2)]),
        "long": make_video(folder / "long.mp4", [("coffee", 20), ("chelsea", 20)]),
    }
