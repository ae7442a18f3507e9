"""A worker killed mid-job loses nothing: the job is delivered again and finishes, without
re-scoring the frames already done. Triton down: jobs wait and finish when it is back. Redis down:
submissions get 503 + Retry-After and nothing half-accepted remains. The queue's Redis down between
storing a job and queueing it: the job is kept and the sweeper queues it later."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from study.local.video_moderation.stack import Stack

from p04_video_moderation.jobs import submit, wait_for
from polling import eventually
from problem_details import assert_backend_unavailable
from study.metrics_page import metric_total
from study.redis_local import LocalRedis


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


@pytest.fixture(scope="module")
def queue_apart(stack, tmp_path_factory):
    """The service and a worker with their queue on a Redis of its own (the job records stay on
    the stack's), so that the test can take the queue away between the two writes of a submission."""
    run_dir = tmp_path_factory.mktemp("queue-apart")
    broker = LocalRedis(run_dir / "broker")
    broker.start()
    env = {
        **stack.env,
        "VIDEO_MODERATION_BROKER_URL": broker.url,
        "VIDEO_MODERATION_STORAGE_DIR": str(run_dir / "videos"),
        "VIDEO_MODERATION_SWEEP_INTERVAL_S": "0.5",
        "VIDEO_MODERATION_SWEEP_GRACE_S": "1",
    }
    apart = Stack(stack.redis, stack.triton, run_dir, env)
    try:
        apart.start_worker()
        apart.start_service()
        yield apart, broker
    finally:
        apart.stop()
        broker.stop()


# --8<-- [start:lost-message]
def test_a_job_whose_queue_message_was_lost_is_queued_by_the_sweeper(queue_apart, videos):
    apart, broker = queue_apart
    metrics = f"{apart.url}/metrics"
    with httpx.Client(base_url=apart.url, timeout=60) as client:
        broker.kill()  # the queue is gone; the job records are not
        try:
            response = submit(client, videos["short"])
            assert response.status_code == 202, response.text  # stored, so accepted
            job = response.json()
            # The sweeper tried too (grace 1 s, every 0.5 s), and could not send it either.
            assert eventually(lambda: metric_total(metrics, "video_moderation_queue_send_failures_total") >= 2, 30)
            assert client.get(f"/v1/jobs/{job['id']}").json()["state"] == "queued"
            assert len(list(apart.storage_dir.iterdir())) == 1, "the upload is kept for the job"
        finally:
            broker.start()  # an empty queue: the message was never sent
        done = wait_for(client, job["id"], timeout_s=120)
        assert done["state"] == "succeeded" and done["frames_done"] > 0
        assert metric_total(metrics, "video_moderation_jobs_recovered_total") == 1


# --8<-- [end:lost-message]
