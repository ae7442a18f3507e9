"""Malformed, oversized and hostile submissions: a clear 4xx problem+json, nothing stored, and the
service keeps serving."""

from __future__ import annotations

import httpx
import pytest

from p04_video_moderation.jobs import submit, wait_for
from p04_video_moderation.videos import make_video
from problem_details import assert_problem


@pytest.mark.parametrize(
    "form",
    [
        {"priority": "urgent"},
        {"priority": "HIGH"},
        {"threshold": "2"},
        {"threshold": "-0.1"},
        {"threshold": "high"},
        {"webhook_url": "not a url"},
        {"webhook_url": "ftp://example.org/hook"},
        {"webhook_url": "file:///etc/passwd"},
    ],
)
def test_invalid_form_fields(client: httpx.Client, videos, form):
    assert_problem(submit(client, videos["short"], **form), 422, "validation-error")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.5:6379/",
        "http://[fd00::1]/hook",
        "http://no-such-host.invalid/hook",
    ],
)
def test_webhook_urls_the_service_must_not_call_are_refused_and_nothing_is_stored(
    client: httpx.Client, videos, url, stack
):
    """Server-side request forgery: the tests allow only loopback (their receiver), so the cloud's
    metadata address, private hosts and unresolvable names are refused before anything is kept."""
    stored_before = set(stack.storage_dir.iterdir())
    response = submit(client, videos["short"], webhook_url=url)
    assert_problem(response, 422, "webhook-url-not-allowed")
    assert set(stack.storage_dir.iterdir()) == stored_before


@pytest.mark.parametrize("key", ["has space", "x" * 129, "semi;colon"])
def test_invalid_idempotency_keys(client: httpx.Client, videos, key):
    assert_problem(submit(client, videos["short"], headers={"Idempotency-Key": key}), 422, "validation-error")


@pytest.mark.parametrize(
    "name,content,slug",
    [
        ("empty.mp4", b"", "empty-video"),
        ("notes.mp4", b"this is text, not a video" * 10, "unsupported-video"),
        ("image.mp4", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "unsupported-video"),
    ],
)
def test_not_a_video(client: httpx.Client, name, content, slug):
    response = client.post("/v1/jobs", files={"video": (name, content, "video/mp4")})
    assert_problem(response, 422, slug)


def test_a_still_image_is_not_a_video(client: httpx.Client, tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "still.jpg"
    Image.fromarray(data.coffee()).save(path)
    response = client.post("/v1/jobs", files={"video": ("still.jpg", path.read_bytes(), "image/jpeg")})
    assert_problem(response, 422, "unsupported-video")


def test_too_long_and_too_large(client: httpx.Client, tmp_path):
    long_video = make_video(tmp_path / "long.mp4", [("coffee", 130)], fps=1, size=(64, 48))
    assert_problem(submit(client, long_video), 422, "video-too-long")  # the tests' limit: 120 s
    big = client.post("/v1/jobs", files={"video": ("big.mp4", b"\x00" * (5 * 1024 * 1024 + 1), "video/mp4")})
    assert_problem(big, 413, "payload-too-large")  # the tests' limit: 5 MiB
    huge = client.post("/v1/jobs", files={"video": ("huge.mp4", b"\x00" * (8 * 1024 * 1024), "video/mp4")})
    assert_problem(huge, 413)


def test_nothing_is_stored_for_a_refused_upload(client: httpx.Client, stack):
    before = set(stack.storage_dir.iterdir())
    client.post("/v1/jobs", files={"video": ("notes.mp4", b"not a video" * 100, "video/mp4")})
    assert set(stack.storage_dir.iterdir()) == before


def test_missing_video_and_wrong_body(client: httpx.Client):
    assert_problem(client.post("/v1/jobs", data={"priority": "high"}), 422, "validation-error")
    assert_problem(client.post("/v1/jobs", json={"video": "clip.mp4"}), 422, "validation-error")


@pytest.mark.parametrize("job_id,status", [("not-an-id", 422), ("0" * 31, 422), ("../../etc", 404), ("0" * 32, 404)])
def test_unknown_or_invalid_job_ids(client: httpx.Client, job_id, status):
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/frames", f"/v1/jobs/{job_id}/webhooks"):
        assert_problem(client.get(path), status)
    assert_problem(client.delete(f"/v1/jobs/{job_id}"), status)


def test_still_serving_after_all_that(client: httpx.Client, videos):
    assert wait_for(client, submit(client, videos["short"]).json()["id"])["state"] == "succeeded"
