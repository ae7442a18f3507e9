"""A worker killed mid-job loses nothing: the job is delivered again and finishes, without
re-scoring the frames already done. Triton down: jobs wait and finish when it is back. Redis down:
submissions get 503 + Retry-After and nothing half-accepted remains."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from p04_video_moderation.jobs import submit, wait_for
from polling import eventually
from problem_details import assert_backend_unavailable


@pytest.fixture
def local(stack, base_url_option):
    if base_url_option:
        pytest.skip("kills local processes")
    return stack


def triton_inferences(stack) -> int:
    text = httpx.get(stack.triton.metrics_url).text
    return int(float(re.search(r'nv_inference_count\{model="open_nsfw",version="1"\} (\S+)', text).group(1)))


# --8<-- [start:sigkill]
def test_worker_killed_mid_job_is_redelivered_and_resumes(client, local, videos):
    before = triton_inferences(local)
    job = submit(client, videos["long"]).json()  # 40 s at 2 fps: 80 frames
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job['id']}").json()["frames_done"] < 24:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker = local.workers.pop()
    worker.kill()  # SIGKILL: no chance to hand the job back
    assert client.get(f"/v1/jobs/{job['id']}").json()["state"] == "running"
    local.start_worker()  # the broker delivers the unacknowledged job again after the visibility timeout
    done = wait_for(client, job["id"], timeout_s=120)
    assert done["state"] == "succeeded" and done["frames_done"] == 80
    assert done["deliveries"] == 2
    scored = triton_inferences(local) - before
    assert scored <= 80 + 8, f"{scored} frames sent to Triton: at most one batch is scored twice"
    frames = client.get(f"/v1/jobs/{job['id']}/frames").json()["frames"]
    assert [f["index"] for f in frames] == list(range(80))


# --8<-- [end:sigkill]


def test_triton_down_jobs_wait_then_finish(client, local, videos):
    local.triton.kill()
    try:
        job = submit(client, videos["short"]).json()

        def job_now() -> dict:
            return client.get(f"/v1/jobs/{job['id']}").json()

        # A worker took the job, found Triton gone, and took it again: it waits, it does not fail.
        assert eventually(lambda: job_now()["deliveries"] >= 2, 60), job_now()
        waiting = job_now()
        assert waiting["state"] == "running" and waiting["frames_done"] == 0
    finally:
        local.triton.start()
    assert wait_for(client, job["id"], timeout_s=120)["state"] == "succeeded"


def test_redis_down_is_503_and_nothing_is_half_accepted(client, local, videos):
    accepted = wait_for(client, submit(client, videos["short"]).json()["id"])
    stored_before = set(local.storage_dir.iterdir())
    local.redis.kill()
    try:
        response = submit(client, videos["short"])
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "2"
        assert_backend_unavailable(response, "redis")
        assert client.get("/health/ready").status_code == 503
        assert set(local.storage_dir.iterdir()) == stored_before, "the upload was not kept"
    finally:
        local.redis.start()
    deadline = time.monotonic() + 30
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert client.get(f"/v1/jobs/{accepted['id']}").json() == accepted, "Redis kept it (append-only file)"
    job = submit(client, videos["short"])
    assert job.status_code == 202
    assert wait_for(client, job.json()["id"], timeout_s=120)["state"] == "succeeded"
